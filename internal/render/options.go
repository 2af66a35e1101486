package render

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftless-dev/driftless/internal/render/helm"
	"github.com/driftless-dev/driftless/internal/render/kustomize"
)

// Engine names the renderer that turns a directory into objects.
type Engine string

const (
	// Auto detects the engine from the directory's contents (see [Detect]).
	Auto Engine = ""
	// Kustomize builds the directory's kustomization, as `kustomize build` does.
	Kustomize Engine = "kustomize"
	// Helm renders the chart in the directory, as `helm template` does.
	Helm Engine = "helm"
	// Plain reads every YAML and JSON manifest under the directory.
	Plain Engine = "plain"
)

// Options says what to render and how. Only Root and Path are required.
type Options struct {
	// Root is the checkout: nothing outside it is ever read. It must be an
	// existing directory; symbolic links inside it are followed only as long as
	// they stay inside it.
	Root string
	// Path is the directory to render, slash-separated and relative to Root;
	// "" or "." is Root itself.
	Path string
	// Engine picks the renderer; Auto (the zero value) detects it.
	Engine Engine
	// Helm holds the chart's release and values; used only by the Helm engine.
	Helm HelmOptions
	// TargetNamespace is given to every namespaced object that names no
	// namespace. With Helm it defaults to Helm.Namespace.
	TargetNamespace string
	// PostBuild patches the engine's objects and overrides their images,
	// whatever the engine.
	PostBuild PostBuild
	// Substitute, when not nil, replaces ${var} and its bash-like forms in
	// the objects (after PostBuild) with these variables, with Flux's
	// syntax; an object annotated deploy.driftless.dev/substitute (or
	// kustomize.toolkit.fluxcd.io/substitute): disabled is left alone, and
	// a variable with no value and no default is an error.
	Substitute map[string]string
	// Capabilities describes the target cluster, for Helm's .Capabilities.
	// The zero value means offline: Helm's defaults.
	Capabilities Capabilities
	// IsNamespaced tells whether objects of a kind are namespaced, usually from
	// discovery. When nil, or when it returns an error, the render's own
	// CustomResourceDefinitions and then a built-in table of the well-known
	// cluster-scoped kinds decide; any other kind is namespaced.
	IsNamespaced func(schema.GroupKind) (bool, error)
	// Limits bounds the render; zero fields take DefaultLimits' values.
	Limits Limits
	// Cache, when set, remembers renders by their inputs; nil renders every time.
	Cache *Cache
	// Sandbox, when set, runs the engines in a child process with bounded
	// time and memory and no network; nil renders in this process.
	Sandbox *Sandbox
	// Decryption, when set, decrypts the SOPS files the render reads,
	// wherever they are in the checkout; nil leaves every file as it is.
	Decryption *Decryption
	// ChartDependencies, when set, downloads the dependencies that a
	// chart's Chart.lock pins and its charts/ lacks, as `helm dependency
	// build` would; the render then runs again with their archives in
	// Helm.Dependencies. Nil downloads nothing: such a chart is an error
	// naming them. Its error fails the render as it is, and is not cached.
	ChartDependencies func(ctx context.Context, deps []ChartDependency) ([]ChartArchive, error)

	// plaintext is the decrypted contents of the files read so far, by real
	// path: what Decryption gave, served in place of the files on disk.
	plaintext map[string][]byte
}

// Decryption decrypts the SOPS files a render reads, and only those. The
// render runs, then each file it read that names SOPS is given to File; if
// any was encrypted, the render runs again with the plaintext served in
// place of the files, until it reads no encrypted file it has no plaintext
// for. The plaintext never touches the disk (a Sandbox gets it through its
// stdin), and a Cache compares the files as Git holds them.
type Decryption struct {
	// ID names the keys (a digest, never the keys themselves), so a Cache
	// never serves one AppSource a render decrypted with another's keys.
	ID string
	// File returns the plaintext of data, the content of the file name
	// (slash-separated, relative to the checkout), and whether it was
	// encrypted at all. An error fails the render as it is.
	File func(ctx context.Context, name string, data []byte) (plain []byte, encrypted bool, err error)
}

// HelmOptions are the release settings and values of a Helm render. Values
// are merged in Helm's order, each source overriding the ones before it:
// the chart's values.yaml, then ValuesFiles, then ValuesFrom, then Values.
type HelmOptions struct {
	// ReleaseName is .Release.Name; required by Helm (at most 53 characters).
	ReleaseName string
	// Namespace is .Release.Namespace; defaults to Options.TargetNamespace,
	// then "default" as with `helm template`.
	Namespace string
	// ValuesFiles are values files relative to the chart directory (Path),
	// read through the confined checkout (so possibly SOPS-decrypted
	// beforehand).
	ValuesFiles []string
	// Chart, when set, is a chart archive (.tgz) the caller took from a
	// chart repository: it is rendered instead of a chart in Path, which
	// then holds only the values files. It is bounded as the archives of a
	// chart's charts/ are (Limits.MaxChartBytes, decompressed).
	Chart []byte
	// Dependencies are the archives of the chart's locked dependencies,
	// rendered as if its charts/ held them (see Options.ChartDependencies).
	Dependencies []ChartArchive
	// ValuesFrom are values documents the caller read elsewhere (Secret or
	// ConfigMap keys), in order.
	ValuesFrom []ValuesSource
	// Values are the inline values, the highest priority.
	Values map[string]any
	// DisableHooks drops the chart's hooks. By default hooks are rendered as
	// ordinary objects, as `helm template` prints them, except test hooks.
	DisableHooks bool
	// SkipCRDs leaves out the objects of the chart's crds/ directories (and
	// its subcharts'), as `helm template --skip-crds` does.
	SkipCRDs bool
	// CRDAnnotations are added to each object of the chart's crds/
	// directories, over its own: how the caller tells the applier that
	// Helm's rules hold for them.
	CRDAnnotations map[string]string
}

// PostBuild changes rendered objects as a kustomization over them would:
// patches, then image overrides.
type PostBuild = kustomize.PostBuild

// Patch, PatchTarget and Image are the parts of a PostBuild.
type (
	Patch       = kustomize.Patch
	PatchTarget = kustomize.Target
	Image       = kustomize.Image
)

// ChartDependency is a dependency of a chart that a chart repository holds,
// at the version its Chart.lock pins; ChartArchive is its archive.
type (
	ChartDependency = helm.Dependency
	ChartArchive    = helm.Archive
)

// ValuesSource is one YAML document of Helm values read by the caller.
type ValuesSource struct {
	// Name says where the document came from, for error messages only
	// (e.g. "Secret/web-values key values.yaml"). The data is never quoted.
	Name string
	// Data is the YAML document.
	Data []byte
}

// Capabilities describes the target cluster for Helm's .Capabilities.
type Capabilities struct {
	// KubeVersion is the cluster's version, e.g. "v1.37.2"; "" means the
	// version `helm template` assumes offline.
	KubeVersion string
	// APIVersions are the cluster's group versions and group/version/kind
	// names, e.g. "apps/v1" and "apps/v1/Deployment"; nil means Helm's
	// built-in default set.
	APIVersions []string
}

// Limits bounds one render. Exceeding any of them fails the render with
// LimitExceeded.
type Limits struct {
	// MaxObjects is the most objects a render may produce.
	MaxObjects int
	// MaxBytes bounds, each on its own, the bytes read from the checkout, the
	// bytes of rendered YAML, and the size of any one YAML document once its
	// aliases are expanded (a "billion laughs"), whether an engine reads it
	// or renders it.
	MaxBytes int64
	// MaxYAMLDepth is the deepest nesting of any rendered object, and of any
	// YAML with anchors an engine reads. (The engines' parsers stop at 10,000
	// levels on their own.)
	MaxYAMLDepth int
	// MaxChartBytes bounds the files of a Helm chart, its subcharts and the
	// decompressed contents of any chart archive in charts/.
	MaxChartBytes int64
}

// DefaultLimits returns the limits used for every zero field of Limits: sized
// for the largest real applications (10,000 objects, about 20 MB of YAML).
func DefaultLimits() Limits {
	return Limits{
		MaxObjects:    10000,
		MaxBytes:      64 << 20,
		MaxYAMLDepth:  256,
		MaxChartBytes: 32 << 20,
	}
}

// withDefaults returns l with every zero field set from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxYAMLDepth <= 0 {
		l.MaxYAMLDepth = d.MaxYAMLDepth
	}
	if l.MaxChartBytes <= 0 {
		l.MaxChartBytes = d.MaxChartBytes
	}
	return l
}
