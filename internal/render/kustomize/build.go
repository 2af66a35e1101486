package kustomize

import (
	"errors"
	"path"
	"regexp"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provenance"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// schemaLock serializes builds against kustomize's process-wide OpenAPI
// schema: shared by builds that use the default schema, held alone by a
// build whose kustomizations set one of their own.
var schemaLock sync.RWMutex

// errRetryExclusive stops a shared build that met a custom schema.
var errRetryExclusive = errors.New("kustomization sets a custom OpenAPI schema: build again alone")

// Build builds the kustomization in directory dir of fsys and returns the
// YAML stream `kustomize build --load-restrictor LoadRestrictionsNone dir`
// prints for the same files. A refused reference is returned as a
// *RefError; any other error comes from kustomize, its paths made relative
// to the checkout root.
func Build(fsys FS, dir string) ([]byte, error) {
	out, err := build(fsys, dir, false)
	if errors.Is(err, errRetryExclusive) {
		return build(fsys, dir, true)
	}
	return out, err
}

func build(fsys FS, dir string, exclusive bool) ([]byte, error) {
	if exclusive {
		schemaLock.Lock()
		// The next build must not inherit this one's schema.
		defer func() { openapi.ResetOpenAPI(); schemaLock.Unlock() }()
	} else {
		schemaLock.RLock()
		defer schemaLock.RUnlock()
	}
	g := &guard{fsys: fsys, exclusive: exclusive}
	k := krusty.MakeKustomizer(options())
	m, err := k.Run(&fileSystem{fsys: fsys, guard: g}, abs(path.Clean(dir)))
	if g.wantsExclusive() {
		return nil, errRetryExclusive
	}
	if refused := g.err(); refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, relativeError(err)
	}
	if err := stampManagedBy(m); err != nil {
		return nil, relativeError(err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, relativeError(err)
	}
	return out, nil
}

// cliVersion is the kustomize release built from the sigs.k8s.io/kustomize/api
// version in go.mod (TestCLIVersionMatchesGoMod keeps them in step).
const cliVersion = "v5.8.2"

// stampManagedBy gives the app.kubernetes.io/managed-by label a
// kustomization asks for (buildMetadata: [managedByLabel]) the version
// `kustomize build` writes: the library finds no version of its own in a
// program that is not the kustomize CLI, and writes "kustomize-(devel)".
func stampManagedBy(m resmap.ResMap) error {
	devel := "kustomize-" + provenance.GetProvenance().Semver()
	want := "kustomize-" + cliVersion
	if devel == want {
		return nil
	}
	for _, r := range m.Resources() {
		if r.GetLabels()[konfig.ManagedbyLabelKey] == devel {
			if err := r.PipeE(kyaml.SetLabel(konfig.ManagedbyLabelKey, want)); err != nil {
				return err
			}
		}
	}
	return nil
}

// options are those of `kustomize build` with two differences: any file
// inside the checkout may be loaded (the confined FS is the boundary, not the
// kustomization's directory), and only builtin plugins exist, without Helm.
func options() *krusty.Options {
	o := krusty.MakeDefaultOptions()
	// Unspecified is the CLI's default: the kustomization's sortOptions, else
	// the legacy order.
	o.Reorder = krusty.ReorderOptionUnspecified
	o.LoadRestrictions = types.LoadRestrictionsNone
	o.PluginConfig = types.DisabledPluginConfig()
	return o
}

// pathError is a kustomize error whose message names paths relative to the
// checkout root; it unwraps to the original.
type pathError struct {
	msg string
	err error
}

// Error returns the rewritten message.
func (e *pathError) Error() string { return e.msg }

// Unwrap returns kustomize's error.
func (e *pathError) Unwrap() error { return e.err }

// virtualPath matches vroot where a path starts: at the start of the message
// or after a blank, a quote or a bracket, never inside a name of the user's
// (such as "apps/checkout/base").
var virtualPath = regexp.MustCompile(`(^|[\s'"(\[=])` + regexp.QuoteMeta(vroot) + `(/|\b)`)

// relativeError rewrites the virtual paths in err's message relative to the
// checkout root.
func relativeError(err error) error {
	msg := virtualPath.ReplaceAllStringFunc(err.Error(), func(m string) string {
		lead := m[:len(m)-len(strings.TrimLeft(m, " \t\n'\"([="))]
		if strings.HasSuffix(m, "/") {
			return lead
		}
		return lead + "."
	})
	return &pathError{msg: msg, err: err}
}
