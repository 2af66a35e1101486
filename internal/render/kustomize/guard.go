package kustomize

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// kustomizationFiles are the file names kustomize loads a kustomization from.
var kustomizationFiles = map[string]bool{"kustomization.yaml": true, "kustomization.yml": true, "Kustomization": true}

// The field names below are lower case: kustomize decodes a kustomization
// case-insensitively (Resources, RESOURCES and resources are one field), so
// the guard compares lower-cased keys.

// refFields are the kustomization fields that hold a list of references, and
// how a reference is named in errors.
var refFields = map[string]string{
	"resources":      "resource",
	"bases":          "base",
	"components":     "component",
	"crds":           "crd",
	"configurations": "configuration",
}

// pluginFields are the kustomization fields whose entries are either a file
// of plugin configurations or an inline configuration.
var pluginFields = map[string]string{
	"generators":   "generator",
	"transformers": "transformer",
	"validators":   "validator",
}

// entryFields are the kustomization fields holding a list of mappings with a
// "path" reference.
var entryFields = map[string]string{
	"patches":         "patch",
	"patchesjson6902": "patch",
	"replacements":    "replacement",
}

// helmFields inflate Helm charts, which runs helm and may download charts.
var helmFields = map[string]bool{"helmcharts": true, "helmchartinflationgenerator": true, "helmglobals": true}

// guard inspects each kustomization and plugin configuration file as it is
// read, before kustomize acts on it, and remembers the first refusal: the
// library may wrap or swallow the error it returns.
type guard struct {
	fsys FS
	// exclusive is set when the build holds the schema lock alone and may
	// use a custom OpenAPI schema.
	exclusive bool

	mu             sync.Mutex
	first          error
	needsExclusive bool
}

// err returns the first refusal.
func (g *guard) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.first
}

// wantsExclusive reports whether a kustomization set a custom OpenAPI schema
// while the build was shared.
func (g *guard) wantsExclusive() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.needsExclusive
}

func (g *guard) refuse(err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.first == nil {
		g.first = err
	}
	return err
}

// inspect checks the file name just read.
func (g *guard) inspect(name string, data []byte) error {
	if kustomizationFiles[path.Base(name)] {
		return g.kustomization(name, data)
	}
	// Only builtin plugins run; their configurations say so.
	if bytes.Contains(data, []byte("builtin")) {
		return g.pluginFile(name, data)
	}
	return nil
}

// kustomization checks every reference of a kustomization file. A file that
// does not parse is left to kustomize to report.
func (g *guard) kustomization(name string, data []byte) error {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	r := refs{g: g, file: name, dir: path.Dir(name)}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if err := r.field(key, val); err != nil {
			return g.refuse(err)
		}
	}
	return nil
}

// pluginFile checks every builtin plugin configuration in a file.
func (g *guard) pluginFile(name string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	r := refs{g: g, file: name}
	for {
		var doc yaml.Node
		if dec.Decode(&doc) != nil {
			return nil
		}
		if len(doc.Content) == 1 {
			if err := r.plugin(doc.Content[0]); err != nil {
				return g.refuse(err)
			}
		}
	}
}

// refs checks the references of one file; dir is the kustomization's
// directory, "" for a plugin file, whose paths are relative to a
// kustomization it does not know.
type refs struct {
	g    *guard
	file string
	dir  string
}

func (r refs) fail(n *yaml.Node, field, ref string, err error) error {
	return &RefError{File: r.file, Line: n.Line, Field: field, Ref: ref, Err: err}
}

// field checks one field of a kustomization.
func (r refs) field(key, val *yaml.Node) error {
	switch k := strings.ToLower(key.Value); {
	case refFields[k] != "":
		return eachScalar(val, func(n *yaml.Node) error { return r.path(n, refFields[k], n.Value) })
	case pluginFields[k] != "":
		return eachScalar(val, func(n *yaml.Node) error { return r.pluginEntry(n, pluginFields[k]) })
	case k == "patchesstrategicmerge":
		return eachScalar(val, func(n *yaml.Node) error {
			if isInline(n.Value) {
				return nil
			}
			return r.path(n, "patch", n.Value)
		})
	case entryFields[k] != "":
		return eachMapping(val, func(m *yaml.Node) error { return r.mapPath(m, "path", entryFields[k]) })
	case k == "configmapgenerator" || k == "secretgenerator":
		return eachMapping(val, r.generator)
	case k == "openapi":
		if !r.g.exclusive {
			// Stop before kustomize sets the process-wide schema.
			r.g.mu.Lock()
			r.g.needsExclusive = true
			r.g.mu.Unlock()
			return errRetryExclusive
		}
		return r.mapPath(val, "path", "openapi")
	case helmFields[k]:
		return r.fail(key, key.Value, "", ErrHelmCharts)
	}
	return nil
}

// generator checks the files of a ConfigMap or Secret generator.
func (r refs) generator(m *yaml.Node) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := strings.ToLower(m.Content[i].Value), m.Content[i+1]
		var err error
		switch key {
		case "files":
			err = eachScalar(val, func(n *yaml.Node) error {
				// A file source is "path" or "key=path".
				p := n.Value
				if _, after, ok := strings.Cut(p, "="); ok {
					p = after
				}
				return r.path(n, "file", p)
			})
		case "envs":
			err = eachScalar(val, func(n *yaml.Node) error { return r.path(n, "env file", n.Value) })
		case "env":
			err = r.path(val, "env file", val.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pluginEntry checks one entry of generators, transformers or validators:
// an inline configuration or a file of them.
func (r refs) pluginEntry(n *yaml.Node, field string) error {
	if !isInline(n.Value) {
		return r.path(n, field, n.Value)
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(n.Value), &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	err := r.plugin(doc.Content[0])
	// Lines inside the inline text are not lines of the file: name the entry's.
	var ref *RefError
	if errors.As(err, &ref) {
		ref.Line = n.Line
	}
	return err
}

// plugin checks a builtin plugin configuration: Helm inflation is refused,
// and its paths may be neither remote nor absolute.
func (r refs) plugin(m *yaml.Node) error {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		var err error
		switch strings.ToLower(key.Value) {
		case "kind":
			if val.Value == "HelmChartInflationGenerator" {
				err = r.fail(val, "generator", val.Value, ErrHelmCharts)
			}
		case "path", "env":
			err = r.path(val, key.Value, val.Value)
		case "paths", "envs":
			err = eachScalar(val, func(n *yaml.Node) error {
				if isInline(n.Value) {
					return nil
				}
				return r.path(n, key.Value, n.Value)
			})
		case "files":
			err = r.generator(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{key, val}})
		case "replacements":
			err = eachMapping(val, func(m *yaml.Node) error { return r.mapPath(m, "path", "replacement") })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mapPath checks the reference under key of mapping m, if any.
func (r refs) mapPath(m *yaml.Node, key, field string) error {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, key) && m.Content[i+1].Kind == yaml.ScalarNode {
			return r.path(m.Content[i+1], field, m.Content[i+1].Value)
		}
	}
	return nil
}

// path checks one reference: not remote, not absolute, and, in a
// kustomization, existing inside the checkout.
func (r refs) path(n *yaml.Node, field, ref string) error {
	switch {
	case ref == "":
		return nil
	case isRemote(ref):
		return r.fail(n, field, ref, ErrRemote)
	case path.IsAbs(ref) || strings.HasPrefix(ref, `\`):
		return r.fail(n, field, ref, ErrAbsolute)
	case r.dir == "":
		return nil
	}
	if _, err := r.g.fsys.Stat(path.Join(r.dir, ref)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrNotFound
		}
		return r.fail(n, field, ref, err)
	}
	return nil
}

// scpUser is the "user@" that starts an scp-like git URL.
var scpUser = regexp.MustCompile(`^[a-z][a-z0-9-]*@`)

// isRemote reports whether kustomize would fetch ref: an URL of any scheme,
// an scp-like git reference, or a GitHub reference without a scheme. It is
// a superset of what kustomize itself treats as remote.
func isRemote(ref string) bool {
	s := strings.TrimPrefix(strings.ToLower(ref), "git::")
	return strings.Contains(s, "://") || scpUser.MatchString(s) ||
		strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "github.com:")
}

// isInline reports whether an entry is YAML content rather than a path, as
// kustomize decides by trying to parse it.
func isInline(s string) bool {
	s = strings.TrimSpace(s)
	return strings.Contains(s, "\n") || strings.Contains(s, ": ") || strings.HasPrefix(s, "{")
}

// eachScalar calls fn with every scalar of a sequence.
func eachScalar(seq *yaml.Node, fn func(*yaml.Node) error) error {
	if seq.Kind != yaml.SequenceNode {
		return nil
	}
	for _, n := range seq.Content {
		if n.Kind == yaml.ScalarNode {
			if err := fn(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachMapping calls fn with every mapping of a sequence.
func eachMapping(seq *yaml.Node, fn func(*yaml.Node) error) error {
	if seq.Kind != yaml.SequenceNode {
		return nil
	}
	for _, n := range seq.Content {
		if n.Kind == yaml.MappingNode {
			if err := fn(n); err != nil {
				return err
			}
		}
	}
	return nil
}
