package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/driftless-dev/driftless/internal/render/helm"
	"github.com/driftless-dev/driftless/internal/render/kustomize"
)

// Render renders directory opts.Path of the checkout at opts.Root and returns
// its objects sorted in apply order (see Sort). Objects are validated
// (apiVersion, kind and metadata.name set, no object twice), and namespaced
// objects that name no namespace get the target namespace. A render that
// produces no object is an error: an empty render must never read as
// "delete everything". Errors are *Error values. With opts.Cache set, the
// same inputs are rendered once; the objects returned are always the
// caller's own.
func Render(ctx context.Context, opts Options) ([]*unstructured.Unstructured, error) {
	opts.Limits = opts.Limits.withDefaults()
	dir := cleanPath(opts.Path)
	key, ok := cacheKey(opts, dir)
	if opts.Cache == nil || !ok {
		return render(ctx, opts, dir, nil)
	}
	unlock := opts.Cache.lock(key)
	defer unlock()
	e := opts.Cache.lookup(ctx, key, opts.Root, opts.Limits, opts.IsNamespaced)
	opts.Cache.count(e != nil)
	if e != nil {
		if e.err != nil {
			return nil, e.err
		}
		return copyObjects(e.objs), nil
	}
	e = &entry{key: key}
	objs, err := render(ctx, opts, dir, e)
	// A cancelled render says nothing about its inputs, nor does a failed
	// download; a panic may not recur.
	var download *downloadError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errPanicked) || errors.As(err, &download) {
		return nil, err
	}
	e.err = err
	if err == nil {
		e.objs = copyObjects(objs)
	}
	opts.Cache.store(e)
	return objs, err
}

// errPanicked is a render stopped by a panic.
var errPanicked = errors.New("renderer panicked")

// render runs one render; rec, when set, records its questions and answers.
// A panic anywhere in it, in an engine or a callback, fails this render only.
func render(ctx context.Context, opts Options, dir string, rec *entry) (objs []*unstructured.Unstructured, err error) {
	defer func() {
		if r := recover(); r != nil {
			objs, err = nil, failf(BuildFailed, dir, 0, "%w: %v", errPanicked, r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, &Error{Reason: BuildFailed, Err: err}
	}
	var p produced
	for rounds := 0; ; rounds++ {
		if opts.Sandbox != nil {
			p, err = opts.Sandbox.produce(ctx, opts, dir, rec != nil)
		} else {
			p, err = produce(ctx, opts, dir, rec != nil)
		}
		more, derr := decryptSuspects(ctx, &opts, p.engine, dir, p.suspects)
		if derr != nil {
			return nil, derr
		}
		if !more {
			if more, derr = downloadDependencies(ctx, &opts, p.needs); derr != nil {
				return nil, derr
			}
		}
		if !more {
			break
		}
		if rounds == maxDecryptRounds {
			return nil, failf(BuildFailed, dir, 0, "decrypting a SOPS file led the render to another one %d times", maxDecryptRounds)
		}
	}
	if rec != nil {
		rec.deps = p.deps
	}
	if err != nil {
		return nil, err
	}
	return finish(p.objs, dir, p.engine, opts, rec)
}

// downloadDependencies asks opts.ChartDependencies for the chart
// dependencies a render needs, once, and keeps their archives in opts. It
// reports whether the render must run again.
func downloadDependencies(ctx context.Context, opts *Options, needs []ChartDependency) (bool, error) {
	if len(needs) == 0 || opts.ChartDependencies == nil || opts.Helm.Dependencies != nil {
		return false, nil
	}
	archives, err := opts.ChartDependencies(ctx, needs)
	if err != nil {
		return false, &downloadError{err}
	}
	opts.Helm.Dependencies = archives
	return true, nil
}

// downloadError is a failed download of chart dependencies: it says nothing
// of the render's inputs (a repository may be down for a while), so it is
// not cached.
type downloadError struct{ err error }

func (e *downloadError) Error() string { return e.err.Error() }
func (e *downloadError) Unwrap() error { return e.err }

// maxDecryptRounds bounds the renders run again because a decrypted file led
// the render to another encrypted one: a kustomization is decrypted first,
// then what it names.
const maxDecryptRounds = 8

// decryptSuspects asks opts.Decryption about each suspect the render read
// from disk, and keeps the plaintext of the encrypted ones in opts (in a map
// of its own). It reports whether any was encrypted, that is whether the
// render must run again. A file the render can do without (see optional)
// that cannot be decrypted is left as it is.
func decryptSuspects(ctx context.Context, opts *Options, engine Engine, dir string, suspects []string) (bool, error) {
	if opts.Decryption == nil || len(suspects) == 0 {
		return false, nil
	}
	c, err := openCheckout(ctx, opts.Root, opts.Limits)
	if err != nil {
		return false, err
	}
	defer c.Close()
	plaintext := maps.Clone(opts.plaintext)
	if plaintext == nil {
		plaintext = map[string][]byte{}
	}
	more := false
	for _, name := range suspects {
		if _, ok := plaintext[name]; ok {
			continue
		}
		_, data, err := c.readFile(name)
		if err != nil {
			return false, err
		}
		plain, encrypted, err := opts.Decryption.File(ctx, name, data)
		if err != nil && optional(opts.Helm, engine, dir, name) {
			continue
		}
		if err != nil {
			return false, err
		}
		if encrypted {
			plaintext[name], more = plain, true
		}
	}
	opts.plaintext = plaintext
	return more, nil
}

// optional reports whether a render can do without the plaintext of file
// name. Helm loads every file of a chart, but a file that is not a values
// file, a template or a CRD reaches an object only through a template that
// reads it (.Files.Get): without its plaintext, such an object carries
// ciphertext, which the caller refuses. Every file any other engine reads
// is part of its output.
func optional(helm HelmOptions, engine Engine, dir, name string) bool {
	if engine != Helm || path.Base(name) == "values.yaml" {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "templates" || part == "crds" {
			return false
		}
	}
	for _, f := range helm.ValuesFiles {
		if path.Join(dir, f) == name {
			return false
		}
	}
	return true
}

// produced is what an engine made of the checkout, before finish.
type produced struct {
	engine   Engine
	objs     []object
	deps     map[dep]string    // the checkout's answers, when recording
	suspects []string          // files read from disk that may be SOPS files
	needs    []ChartDependency // a chart's dependencies to download, when it failed for them
}

// produce runs the engine over the checkout: the part of a render that
// reads tenant input, and so the part a Sandbox runs in a child process.
func produce(ctx context.Context, opts Options, dir string, record bool) (produced, error) {
	c, err := openCheckout(ctx, opts.Root, opts.Limits)
	if err != nil {
		return produced{}, err
	}
	defer c.Close()
	if record {
		c.deps = map[dep]string{}
	}
	c.plaintext = opts.plaintext
	p := produced{deps: c.deps}
	err = runChecked(c, dir, opts, &p)
	p.suspects = c.Suspects()
	var needs *helm.NeedsDependencies
	if errors.As(err, &needs) {
		p.needs = needs.Dependencies
	}
	return p, err
}

// runChecked picks the engine and runs it over c, into p.
func runChecked(c *checkout, dir string, opts Options, p *produced) (err error) {
	if p.engine, err = engineFor(c, dir, opts.Engine); err != nil {
		return err
	}
	if p.objs, err = runEngine(c, p.engine, dir, opts); err != nil {
		return classify(c, dir, err)
	}
	// An engine may swallow a refused read: the render still fails.
	if v := c.Violation(); v != nil {
		return v
	}
	return nil
}

// engineFor checks that dir is a directory inside the checkout and returns
// the engine to render it with.
func engineFor(c *checkout, dir string, engine Engine) (Engine, error) {
	fi, err := c.Stat(dir)
	if err != nil {
		if v := c.Violation(); v != nil {
			return Auto, v
		}
		return Auto, failf(PathInvalid, dir, 0, "path does not exist in the checkout")
	}
	if !fi.IsDir() {
		return Auto, failf(PathInvalid, dir, 0, "path is not a directory")
	}
	switch engine {
	case Auto:
		return detect(c, dir)
	case Kustomize:
		// Plain YAML, which PostBuild may patch, when dir holds no
		// kustomization (and no chart).
		if detected, err := detect(c, dir); err != nil || detected == Plain {
			return detected, err
		}
		return Kustomize, nil
	case Helm, Plain:
		return engine, nil
	default:
		return Auto, failf(BuildFailed, "", 0, "unknown engine %q", engine)
	}
}

// runEngine runs one engine, then opts.PostBuild over its YAML, and parses
// the result, substituting opts.Substitute in each document's text (after
// the patches, as Flux does).
func runEngine(c *checkout, engine Engine, dir string, opts Options) ([]object, error) {
	if engine == Plain && opts.PostBuild.Empty() {
		return renderPlain(c, dir, opts.Limits, opts.Substitute) // objects located by file and line
	}
	out, err := engineStream(c, engine, dir, opts)
	if err != nil {
		return nil, err
	}
	if engine == Helm && (opts.Helm.SkipCRDs || len(opts.Helm.CRDAnnotations) > 0) {
		// A chart's crds/ are known by Helm's "# Source: " comments, which
		// patches do not keep: marked first.
		objs, err := parseGenerated(out, dir, opts.Limits, nil)
		if err != nil || opts.PostBuild.Empty() {
			return chartCRDs(objs, opts.Helm), err
		}
		if out, err = marshalStream(chartCRDs(objs, opts.Helm)); err != nil {
			return nil, failf(BuildFailed, dir, 0, "%w", err)
		}
	}
	if !opts.PostBuild.Empty() {
		if out, err = opts.PostBuild.Apply(out); err != nil {
			return nil, failf(BuildFailed, dir, 0, "%w", err)
		}
		if int64(len(out)) > opts.Limits.MaxBytes {
			return nil, failf(LimitExceeded, dir, 0, "patched render produces more than %d bytes of YAML", opts.Limits.MaxBytes)
		}
	}
	return parseGenerated(out, dir, opts.Limits, opts.Substitute)
}

// engineStream runs one engine and returns its YAML stream; plain YAML is
// its files', in order.
func engineStream(c *checkout, engine Engine, dir string, opts Options) ([]byte, error) {
	var out []byte
	var err error
	switch engine {
	case Plain:
		// Kustomize parses this stream for PostBuild: its files are
		// checked for alias bombs when read, as kustomize's own are.
		c.checkYAML = true
		out, err = plainStream(c, dir, opts.Limits)
	case Kustomize:
		c.checkYAML = true
		out, err = kustomize.Build(c, dir)
	case Helm:
		c.checkYAML = true
		out, err = helm.Template(c.ctx, c, dir, helmOptions(opts))
	}
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > opts.Limits.MaxBytes {
		return nil, failf(LimitExceeded, dir, 0, "render produces more than %d bytes of YAML", opts.Limits.MaxBytes)
	}
	return out, nil
}

// marshalStream writes objects as a YAML stream.
func marshalStream(objs []object) ([]byte, error) {
	var b bytes.Buffer
	for _, o := range objs {
		doc, err := yaml.Marshal(o.u.Object)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(doc)
	}
	return b.Bytes(), nil
}

// chartCRDs drops the objects of a chart's crds/ directories, or adds the
// caller's annotations to them.
func chartCRDs(objs []object, opts HelmOptions) []object {
	if !opts.SkipCRDs && len(opts.CRDAnnotations) == 0 {
		return objs
	}
	out := objs[:0]
	for _, o := range objs {
		switch {
		case !fromCRDsDir(o.template):
		case opts.SkipCRDs:
			continue
		default:
			annotations := o.u.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			maps.Copy(annotations, opts.CRDAnnotations)
			o.u.SetAnnotations(annotations)
		}
		out = append(out, o)
	}
	return out
}

// fromCRDsDir reports whether a Helm source path ("web/crds/a.yaml",
// "web/charts/db/crds/b.yaml") is in the crds/ directory of a chart or
// subchart, which Helm prints as it is, untemplated.
func fromCRDsDir(template string) bool {
	parts := strings.Split(template, "/")
	for i, p := range parts[:max(len(parts)-1, 0)] {
		if p == "crds" && (i == 1 || i >= 3 && parts[i-2] == "charts") {
			return true
		}
	}
	return false
}

// parseGenerated parses an engine's YAML stream. Its lines are not lines of
// a file of the checkout, so objects are located by the directory only.
func parseGenerated(out []byte, dir string, limits Limits, vars map[string]string) ([]object, error) {
	objs, err := parseSubstituting(out, dir, limits, vars)
	for i := range objs {
		objs[i].line = 0
	}
	var e *Error
	if errors.As(err, &e) {
		e.Line = 0
	}
	return objs, err
}

// helmOptions maps Options to the Helm engine's.
func helmOptions(opts Options) helm.Options {
	h := helm.Options{
		ReleaseName:   opts.Helm.ReleaseName,
		Namespace:     opts.Helm.Namespace,
		ValuesFiles:   opts.Helm.ValuesFiles,
		Values:        opts.Helm.Values,
		KubeVersion:   opts.Capabilities.KubeVersion,
		APIVersions:   opts.Capabilities.APIVersions,
		DisableHooks:  opts.Helm.DisableHooks,
		MaxChartBytes: opts.Limits.MaxChartBytes,
		Chart:         opts.Helm.Chart,
		Dependencies:  opts.Helm.Dependencies,
	}
	if h.Namespace == "" {
		h.Namespace = opts.TargetNamespace
	}
	for _, v := range opts.Helm.ValuesFrom {
		h.ValuesFrom = append(h.ValuesFrom, helm.Values{Name: v.Name, Data: v.Data})
	}
	return h
}

// finish bounds, namespaces, validates and sorts an engine's objects.
func finish(objs []object, dir string, engine Engine, opts Options, rec *entry) ([]*unstructured.Unstructured, error) {
	if len(objs) > opts.Limits.MaxObjects {
		return nil, failf(LimitExceeded, dir, 0, "render has %d objects, more than %d", len(objs), opts.Limits.MaxObjects)
	}
	if len(objs) == 0 {
		return nil, failf(BuildFailed, dir, 0, "render produced no objects")
	}
	ns := opts.TargetNamespace
	if ns == "" && engine == Helm {
		ns = opts.Helm.Namespace
	}
	s := newScopes(objs, opts.IsNamespaced)
	setNamespace(objs, ns, s)
	if rec != nil {
		rec.scopes = s.asked
	}
	if err := validate(objs); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.u
	}
	Sort(out)
	return out, nil
}

// classify turns an engine's error into an *Error: the checkout's typed
// error when the engine kept it, else the violation the checkout recorded
// (engines may stringify errors), else BuildFailed.
func classify(c *checkout, dir string, err error) error {
	var e *Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return &Error{Reason: BuildFailed, File: dir, Err: fmt.Errorf("render cancelled: %w", err)}
	case errors.As(err, &e) && e == err: //nolint:errorlint // the engine returned our own error unwrapped
		return e
	case errors.As(err, &e):
		// An engine's message (with its file and line) around the checkout's reason.
		return &Error{Reason: e.Reason, File: fileOf(err, dir), Err: err}
	}
	if v := c.Violation(); v != nil {
		return v
	}
	for sentinel, reason := range engineReasons {
		if errors.Is(err, sentinel) {
			return &Error{Reason: reason, File: fileOf(err, dir), Err: err}
		}
	}
	return &Error{Reason: BuildFailed, File: fileOf(err, dir), Err: err}
}

// engineReasons are the engines' errors that are not BuildFailed.
var engineReasons = map[error]Reason{
	kustomize.ErrRemote:   PathOutOfBounds,
	kustomize.ErrAbsolute: PathOutOfBounds,
	helm.ErrSchemaRef:     PathOutOfBounds,
	helm.ErrChartTooLarge: LimitExceeded,
}

// fileOf returns dir, or "" when err already names its file and line.
func fileOf(err error, dir string) string {
	var ref *kustomize.RefError
	if errors.As(err, &ref) {
		return ""
	}
	return dir
}

// cacheKey hashes every option that changes a render's output. ok is false
// when the options cannot be hashed (values that are not JSON).
func cacheKey(opts Options, dir string) (key string, ok bool) {
	b, err := json.Marshal(struct {
		Version         int
		Engine          Engine
		Dir             string
		Helm            HelmOptions
		TargetNamespace string
		Capabilities    Capabilities
		Limits          Limits
		HasDiscovery    bool
		PostBuild       PostBuild
		Substitute      map[string]string
		Decryption      *string
	}{1, opts.Engine, dir, opts.Helm, opts.TargetNamespace, opts.Capabilities, opts.Limits, opts.IsNamespaced != nil, opts.PostBuild, opts.Substitute, decryptionID(opts)})
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true
}

// decryptionID names the keys a render decrypts with; nil when it decrypts
// nothing.
func decryptionID(opts Options) *string {
	if opts.Decryption == nil {
		return nil
	}
	return &opts.Decryption.ID
}

// stripPath returns err without the name a *fs.PathError repeats.
func stripPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
