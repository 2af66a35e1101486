package helm

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
)

// DefaultKubeVersion is the Kubernetes version .Capabilities reports offline:
// the one `helm template` v4.3.2 assumes, from the client-go it is built with.
const DefaultKubeVersion = "v1.37.0"

// FS is the confined, read-only view of the checkout a render reads through.
// Names are slash-separated and relative to the checkout root; a name that
// resolves outside the root, through ".." or a symbolic link, is refused.
type FS interface {
	// ReadFile returns the contents of a regular file.
	ReadFile(name string) ([]byte, error)
	// Stat returns a file's information, following symbolic links.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir returns a directory's entries, sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Resolve returns name with its symbolic links resolved, "." for the root.
	Resolve(name string) (string, error)
}

// Options are the release, values and cluster of a render.
type Options struct {
	// ReleaseName is .Release.Name.
	ReleaseName string
	// Namespace is .Release.Namespace; "" is "default", as with `helm template`.
	Namespace string
	// ValuesFiles are values files relative to the chart directory.
	ValuesFiles []string
	// ValuesFrom are values documents read by the caller, in order.
	ValuesFrom []Values
	// Values are the inline values, merged last.
	Values map[string]any
	// KubeVersion is .Capabilities.KubeVersion; "" is DefaultKubeVersion.
	KubeVersion string
	// APIVersions is .Capabilities.APIVersions; nil is Helm's default set.
	APIVersions []string
	// DisableHooks drops every hook from the output.
	DisableHooks bool
	// MaxChartBytes bounds the chart's files, archives decompressed; 0 is no bound.
	MaxChartBytes int64
	// Chart, when set, is the chart as an archive (.tgz), taken from a
	// chart repository by the caller: it is rendered instead of a chart in
	// dir, and dir holds only the values files.
	Chart []byte
	// Dependencies are the archives of the chart's locked dependencies
	// (see NeedsDependencies), rendered as if its charts/ held them.
	Dependencies []Archive
}

// Values is one YAML document of values.
type Values struct {
	// Name says where the values came from, for errors; the data is never quoted.
	Name string
	// Data is the YAML document.
	Data []byte
}

// Template renders the chart in directory dir of fsys (or opts.Chart) and
// returns what `helm template NAME dir --namespace NS --include-crds
// --skip-tests` prints, with the same values, Kubernetes version and API
// versions.
func Template(ctx context.Context, fsys FS, dir string, opts Options) ([]byte, error) {
	var chrt *chart.Chart
	var err error
	if opts.Chart != nil {
		chrt, err = loadArchive(opts.Chart, opts.MaxChartBytes)
	} else {
		chrt, err = loadChart(fsys, dir, opts.MaxChartBytes, opts.Dependencies)
	}
	if err != nil {
		return nil, err
	}
	needed, err := lockedDependencies(chrt)
	if err != nil {
		return nil, err
	}
	if len(needed) > 0 {
		return nil, &NeedsDependencies{Dependencies: needed}
	}
	if err := checkChart(chrt); err != nil {
		return nil, err
	}
	vals, err := mergeValues(fsys, dir, opts)
	if err != nil {
		return nil, err
	}
	caps, err := capabilities(opts)
	if err != nil {
		return nil, err
	}
	return release(ctx, chrt, vals, opts, caps)
}

// checkChart refuses what `helm template` refuses before rendering: library
// charts and missing dependencies (which are never downloaded); and schemas
// that would load another document.
func checkChart(chrt *chart.Chart) error {
	switch chrt.Metadata.Type {
	case "", "application":
	default:
		return fmt.Errorf("%s charts are not installable", chrt.Metadata.Type)
	}
	var missing []string
	for _, dep := range chrt.Metadata.Dependencies {
		if !slices.ContainsFunc(chrt.Dependencies(), func(c *chart.Chart) bool { return c.Name() == dep.Name }) {
			missing = append(missing, dep.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("found in Chart.yaml, but missing in charts/ directory: %s (dependencies are never downloaded)", strings.Join(missing, ", "))
	}
	return checkSchemas(chrt)
}

// release renders the chart as a client-side `helm install --dry-run` does
// and prints it as `helm template` does: CRDs, then the manifests in Helm's
// install order, then the hooks (but tests) unless disabled.
func release(ctx context.Context, chrt *chart.Chart, vals map[string]any, opts Options, caps *common.Capabilities) ([]byte, error) {
	if err := chartutil.ValidateReleaseName(opts.ReleaseName); err != nil {
		return nil, fmt.Errorf("release name %q: %w", opts.ReleaseName, err)
	}
	if err := chartutil.ProcessDependencies(chrt, vals); err != nil {
		return nil, err
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	rel := common.ReleaseOptions{Name: opts.ReleaseName, Namespace: ns, Revision: 1, IsInstall: true}
	values, err := commonutil.ToRenderValuesWithSchemaValidation(chrt, vals, rel, caps, false)
	if err != nil {
		return nil, err
	}
	if kv := chrt.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", kv, caps.KubeVersion.String())
	}
	// The zero Engine has no cluster client: lookup returns nothing, and
	// without EnableDNS getHostByName resolves nothing.
	files, err := (&engine.Engine{}).RenderWithContext(ctx, chrt, values)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := sortManifests(files, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, crd := range chrt.CRDObjects() {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	out := bytes.NewBufferString(strings.TrimSpace(b.String()) + "\n")
	for _, h := range hooks {
		if !opts.DisableHooks && !isTestHook(h) {
			fmt.Fprintf(out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
		}
	}
	return out.Bytes(), nil
}

func isTestHook(h *helmrelease.Hook) bool {
	return slices.Contains(h.Events, helmrelease.HookTest)
}

// capabilities returns .Capabilities: the given cluster, or what `helm
// template` v4.3.2 assumes offline.
func capabilities(opts Options) (*common.Capabilities, error) {
	version := opts.KubeVersion
	if version == "" {
		version = DefaultKubeVersion
	}
	kv, err := common.ParseKubeVersion(version)
	if err != nil {
		return nil, fmt.Errorf("kube version %q: %w", version, err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	if opts.APIVersions != nil {
		caps.APIVersions = common.VersionSet(append([]string(nil), opts.APIVersions...))
	}
	// What a release build of the helm CLI reports, built with the same Go
	// and client-go; Helm's own defaults differ in a test binary.
	caps.HelmVersion.Version = helmVersion
	caps.HelmVersion.GitTreeState = "clean"
	caps.HelmVersion.GoVersion = runtime.Version()
	caps.HelmVersion.KubeClientVersion = DefaultKubeVersion[:strings.LastIndexByte(DefaultKubeVersion, '.')]
	return caps, nil
}

// helmVersion is .Capabilities.HelmVersion.Version: the version of the Helm
// module built in, as a release build of helm stamps it (a library build
// reports only "v4.3"). TestHelmVersionMatchesGoMod keeps it in step with
// go.mod.
const helmVersion = "v4.3.2"
