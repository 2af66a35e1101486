package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
	"github.com/driftless-dev/driftless/internal/decrypt"
	"github.com/driftless-dev/driftless/internal/render"
)

type buildOptions struct {
	*globals
	render          string
	values          []string
	releaseName     string
	targetNamespace string
	ageKeyFiles     []string
	path            string
	output          string
}

func newBuild(g *globals) *cobra.Command {
	o := &buildOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "build DIR | build appsource NAME",
		Short: "Render a directory, or an AppSource, exactly as the controller does",
		Long: `Render with the controller's own steps (decrypt SOPS files, then kustomize, Helm
or plain YAML) and print the objects in apply order. Nothing is applied.

build DIR works offline, without a cluster: DIR's working copy (the nearest
directory above it holding .git) is the checkout, so kustomize bases beside DIR
resolve; SOPS files are decrypted with the age keys of --age-key-file
(default $SOPS_AGE_KEY_FILE).

build appsource NAME fetches the AppSource's Git source (or copies --path) and
renders it with its spec, its Git credentials, decryption keys and Helm values.

Secret values are printed as <redacted>.`,
		Example: `  # A kustomize overlay with SOPS-encrypted Secrets
  driftless build deploy/overlays/prod --age-key-file ~/.config/sops/age/keys.txt

  # A Helm chart with production values
  driftless build charts/web --values charts/web/values-prod.yaml --target-namespace prod

  # What the AppSource web renders from Git, as JSON
  driftless build appsource web -n team-a -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, "yaml", "json"); err != nil {
				return err
			}
			if len(args) == 1 && !strings.Contains(args[0], "/") && kinds[strings.ToLower(args[0])] {
				return usagef("name the AppSource to build: build appsource NAME (a directory named %s: build ./%s)", args[0], args[0])
			}
			if len(args) == 1 && !isKindSlash(args[0]) {
				return o.dir(cmd.Context(), args[0])
			}
			name, err := nameArg(args)
			if err != nil {
				return usagef("build DIR or build appsource NAME")
			}
			return o.appSource(cmd.Context(), name)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.render, "render", "", "DIR only: kustomize or helm (default: detect as the controller does)")
	f.StringArrayVar(&o.values, "values", nil, "DIR only: a Helm values file inside DIR's working copy; repeat for more, later ones win")
	f.StringVar(&o.releaseName, "release-name", "", "DIR only: the Helm release name (default: DIR's name)")
	f.StringVar(&o.targetNamespace, "target-namespace", "", "DIR only: namespace of the namespaced objects that name none")
	f.StringArrayVar(&o.ageKeyFiles, "age-key-file", nil, "age identities to decrypt SOPS files with; repeat for more (appsource: instead of its Secret)")
	f.StringVar(&o.path, "path", "", "appsource only: render this local directory in place of spec.source.path, instead of fetching Git")
	f.StringVarP(&o.output, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}

// dir renders a local directory offline: the reconciler has no client, and
// the keys come from files.
func (o *buildOptions) dir(ctx context.Context, dir string) error {
	if o.path != "" {
		return usagef("--path is for build appsource NAME; build DIR renders DIR")
	}
	obj, err := o.offlineAppSource(dir)
	if err != nil {
		return err
	}
	files := o.ageKeyFiles
	if env := os.Getenv("SOPS_AGE_KEY_FILE"); len(files) == 0 && env != "" {
		files = []string{env}
	}
	keys, err := readAgeKeys(files)
	if err != nil {
		return err
	}
	work, cleanup, err := workDir()
	if err != nil {
		return err
	}
	defer cleanup()
	c := controllers.DefaultConfig()
	c.WorkDir = work
	r, err := controllers.NewStandalone(nil, nil, c)
	if err != nil {
		return err
	}
	built, err := r.Build(ctx, obj, controllers.BuildOptions{LocalPath: dir, Keys: &keys})
	if err != nil {
		return buildError(err, "--age-key-file")
	}
	return printObjects(o.stdout, o.output, built.Objects)
}

// offlineAppSource is the AppSource a directory stands for: its render
// flags become the spec the controller would read.
func (o *buildOptions) offlineAppSource(dir string) (*v1alpha1.AppSource, error) {
	root, rel, err := controllers.WorkingCopy(dir)
	if err != nil {
		return nil, err
	}
	name := o.releaseName
	if name == "" {
		name = filepath.Base(filepath.Join(root, rel))
	}
	obj := &v1alpha1.AppSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1alpha1.AppSourceSpec{Source: v1alpha1.Source{Path: rel}, TargetNamespace: o.targetNamespace},
	}
	engine := o.render
	if engine == "" && (len(o.values) > 0 || o.releaseName != "") {
		engine = string(render.Helm)
	}
	if engine == "" {
		// The controller detects the same way; a chart it detects is
		// released under the AppSource's name, here DIR's.
		detected, err := render.Detect(root, rel)
		if err != nil {
			return nil, fmt.Errorf("detect how to render %s: %w", dir, err)
		}
		engine = string(detected)
	}
	switch engine {
	case string(render.Kustomize):
		obj.Spec.Render = &v1alpha1.Render{Kustomize: &v1alpha1.KustomizeRender{}}
	case string(render.Helm):
		files, err := chartRelative(root, filepath.Join(root, rel), o.values)
		if err != nil {
			return nil, err
		}
		obj.Spec.Render = &v1alpha1.Render{Helm: &v1alpha1.HelmRender{ReleaseName: o.releaseName, ValuesFiles: files}}
	case string(render.Plain):
	default:
		return nil, usagef("--render %q: want kustomize or helm", o.render)
	}
	if len(o.values) > 0 && (obj.Spec.Render == nil || obj.Spec.Render.Helm == nil) {
		return nil, usagef("--values is for Helm charts; %s renders with %s", dir, engine)
	}
	return obj, nil
}

// chartRelative turns values files named as the shell sees them into
// paths relative to the chart, as spec.render.helm.valuesFiles holds them.
// The controller reads values files from the checkout only.
func chartRelative(root, chart string, files []string) ([]string, error) {
	out := make([]string, 0, len(files))
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return nil, fmt.Errorf("--values %s: %w", f, err)
		}
		if inside, _ := filepath.Rel(root, abs); inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("--values %s is outside %s: the controller reads values files only from the repository", f, root)
		}
		rel, err := filepath.Rel(chart, abs)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// appSource renders an AppSource of the cluster, from Git or from --path.
func (o *buildOptions) appSource(ctx context.Context, name string) error {
	if o.render != "" || len(o.values) > 0 || o.releaseName != "" || o.targetNamespace != "" {
		return usagef("--render, --values, --release-name and --target-namespace are for build DIR: an AppSource's spec says how it renders")
	}
	k, err := o.connect()
	if err != nil {
		return err
	}
	built, cleanup, err := buildAppSource(ctx, k, k.key(name), o.path, o.ageKeyFiles)
	if err != nil {
		return err
	}
	defer cleanup()
	return printObjects(o.stdout, o.output, built.Objects)
}

// buildAppSource reads the AppSource and builds it as the controller
// would. Its reconciler, returned for diffs, lives until cleanup.
func buildAppSource(ctx context.Context, k *kube, key client.ObjectKey, path string, keyFiles []string) (*built, func(), error) {
	obj, err := k.get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	opts := controllers.BuildOptions{LocalPath: path}
	if len(keyFiles) > 0 {
		keys, err := readAgeKeys(keyFiles)
		if err != nil {
			return nil, nil, err
		}
		opts.Keys = &keys
	}
	work, cleanup, err := workDir()
	if err != nil {
		return nil, nil, err
	}
	r, err := k.reconciler(work)
	if err == nil {
		var b controllers.Built
		if b, err = r.Build(ctx, obj, opts); err == nil {
			return &built{Built: b, obj: obj, reconciler: r}, cleanup, nil
		}
	}
	cleanup()
	return nil, nil, buildError(err, "--age-key-file")
}

// built is a build of an AppSource of the cluster.
type built struct {
	controllers.Built
	obj        *v1alpha1.AppSource
	reconciler *controllers.AppSourceReconciler
}

// isKindSlash tells "appsource/NAME" from a directory.
func isKindSlash(arg string) bool {
	kind, _, found := strings.Cut(arg, "/")
	return found && kinds[strings.ToLower(kind)]
}

// readAgeKeys reads age identity files, as sops reads SOPS_AGE_KEY_FILE.
func readAgeKeys(files []string) (decrypt.Keys, error) {
	var keys decrypt.Keys
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return keys, fmt.Errorf("--age-key-file: %w", err)
		}
		keys.Age = append(keys.Age, data)
	}
	return keys, nil
}

// buildError says how to give keys when a file could not be decrypted
// for want of them.
func buildError(err error, flag string) error {
	if errors.Is(err, decrypt.ErrNoKeys) {
		return fmt.Errorf("%w (give the age key with %s)", err, flag)
	}
	return err
}

// printObjects prints objects as a YAML stream or a JSON List, Secret
// values redacted.
func printObjects(w io.Writer, output string, objs []*unstructured.Unstructured) error {
	items := make([]map[string]any, len(objs))
	for i, o := range objs {
		items[i] = redacted(o).Object
	}
	if output == "json" {
		return printData(w, "json", map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	for _, item := range items {
		out, err := yaml.Marshal(item)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", out); err != nil {
			return err
		}
	}
	return nil
}

// redacted is obj with every Secret value replaced: decrypted secrets are
// never printed.
func redacted(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj.GetKind() != "Secret" || obj.GroupVersionKind().Group != "" {
		return obj
	}
	out := obj.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		values, ok, _ := unstructured.NestedMap(out.Object, field)
		if !ok {
			continue
		}
		for k := range values {
			values[k] = "<redacted>"
		}
		_ = unstructured.SetNestedMap(out.Object, values, field)
	}
	return out
}
