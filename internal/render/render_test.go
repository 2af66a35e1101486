package render

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftless-dev/driftless/internal/reference"
)

// The corpora of the engines' own fidelity tests.
var (
	kustomizeCorpus = filepath.Join("kustomize", "testdata", "corpus")
	helmCorpus      = filepath.Join("helm", "testdata", "charts")
)

// kinds returns "Kind/name" of objs.
func kinds(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetKind() + "/" + o.GetName()
	}
	return out
}

// TestRenderMatchesCLIs renders through Render and compares each object
// with the reference CLI's output for the same inputs: the same objects,
// field for field, sorted in apply order.
func TestRenderMatchesCLIs(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		bin  func(testing.TB) string
		args []string
	}{
		{"kustomize", Options{Root: kustomizeCorpus, Path: "webapp/overlays/prod"}, reference.Kustomize,
			[]string{"build", "--load-restrictor", "LoadRestrictionsNone", "webapp/overlays/prod"}},
		{"helm", Options{Root: helmCorpus, Path: "shop", Engine: Helm, TargetNamespace: "shop",
			Helm: HelmOptions{ReleaseName: "web", ValuesFiles: []string{"values-prod.yaml", "values-eu.yaml"}}},
			reference.Helm, []string{"template", "web", "shop", "--namespace", "shop", "--include-crds", "--skip-tests",
				"-f", "shop/values-prod.yaml", "-f", "shop/values-eu.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The first use builds the CLI: before the deadline starts.
			bin := tt.bin(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := reference.Run(ctx, bin, tt.opts.Root, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := parseStream(out, "cli", DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			setNamespace(want, tt.opts.TargetNamespace, newScopes(want, nil))
			wantObjs := make([]*unstructured.Unstructured, len(want))
			for i, o := range want {
				wantObjs[i] = o.u
			}
			Sort(wantObjs)
			got, err := Render(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(kinds(got), kinds(wantObjs)) {
				t.Fatalf("objects:\n got %v\nwant %v", kinds(got), kinds(wantObjs))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i].Object, wantObjs[i].Object) {
					t.Errorf("%s differs:\n got %v\nwant %v", kinds(got)[i], got[i].Object, wantObjs[i].Object)
				}
			}
		})
	}
}

// TestRenderApplyOrder checks the tiers and the target namespace on a real
// render: the chart's CRD first, namespaced objects in the release's
// namespace.
func TestRenderApplyOrder(t *testing.T) {
	objs, err := Render(context.Background(), Options{Root: helmCorpus, Path: "shop",
		Helm: HelmOptions{ReleaseName: "web", Namespace: "shop", ValuesFiles: []string{"values-prod.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Hooks are ordinary objects, test hooks are skipped.
	all := strings.Join(kinds(objs), " ")
	if !strings.Contains(all, "Job/web-shop-migrate") || strings.Contains(all, "test-connection") {
		t.Fatalf("objects %s: want the migration hook and no test hook", all)
	}
	if objs[0].GetKind() != "CustomResourceDefinition" || objs[0].GetNamespace() != "" {
		t.Fatalf("first object = %s in %q, want the CRD, cluster-scoped", kinds(objs)[0], objs[0].GetNamespace())
	}
	for i, o := range objs {
		if i > 0 && Tier(objs[i-1]) > Tier(o) {
			t.Errorf("%s before %s", kinds(objs)[i-1], kinds(objs)[i])
		}
		if i > 0 && o.GetNamespace() != "shop" {
			t.Errorf("%s in namespace %q, want shop", kinds(objs)[i], o.GetNamespace())
		}
	}
}

// TestRenderChartCRDs renders the shop chart, whose crds/ holds a CRD and
// whose templates a Widget: the caller's annotations go on the CRD alone,
// and SkipCRDs leaves it out.
func TestRenderChartCRDs(t *testing.T) {
	render := func(h HelmOptions) map[string]*unstructured.Unstructured {
		h.ReleaseName, h.Namespace, h.ValuesFiles = "web", "shop", []string{"values-prod.yaml"}
		objs, err := Render(context.Background(), Options{Root: helmCorpus, Path: "shop", Helm: h})
		if err != nil {
			t.Fatal(err)
		}
		byKind := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			byKind[o.GetKind()] = o
		}
		return byKind
	}
	marks := map[string]string{"example.com/mark": "chart-crd"}
	objs := render(HelmOptions{CRDAnnotations: marks})
	if got := objs["CustomResourceDefinition"].GetAnnotations()["example.com/mark"]; got != "chart-crd" {
		t.Errorf("the CRD of crds/ is annotated %q, want chart-crd", got)
	}
	if got := objs["Widget"].GetAnnotations()["example.com/mark"]; got != "" {
		t.Errorf("the Widget of templates/ is annotated %q, want nothing", got)
	}
	objs = render(HelmOptions{SkipCRDs: true})
	if objs["CustomResourceDefinition"] != nil || objs["Widget"] == nil {
		t.Errorf("with SkipCRDs: %v, want the Widget and no CRD", slices.Sorted(maps.Keys(objs)))
	}
}

// TestRenderPathErrors covers Options.Path and Options.Root (RELIABILITY S1).
func TestRenderPathErrors(t *testing.T) {
	outside := tree{"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: canary-path}\n"}.write(t)
	root := tree{"app/a.yaml": cmA, "file.yaml": cmA, "empty/README.md": "nothing", "out@": outside}.write(t)
	tests := []struct {
		path   string
		reason Reason
	}{
		{"missing", PathInvalid},
		{"file.yaml", PathInvalid},
		{"../../etc", PathOutOfBounds},
		{"/etc", PathOutOfBounds},
		{"app/../../etc", PathOutOfBounds},
		{"out", SymlinkOutOfBounds},
		{"empty", BuildFailed},
	}
	for _, tt := range tests {
		objs, err := Render(context.Background(), Options{Root: root, Path: tt.path})
		if ReasonOf(err) != tt.reason || objs != nil {
			t.Errorf("Render(%s) = %d objects, %v; want %s", tt.path, len(objs), err, tt.reason)
		}
		if err != nil && strings.Contains(err.Error(), "canary-path") {
			t.Errorf("Render(%s): the error quotes a file outside the checkout: %v", tt.path, err)
		}
	}
	if _, err := Render(context.Background(), Options{Root: filepath.Join(root, "gone"), Path: "."}); ReasonOf(err) != PathInvalid {
		t.Errorf("missing root: %v, want PathInvalid", err)
	}
}

// TestRenderRecoversPanics checks a panic fails the render, not the process.
func TestRenderRecoversPanics(t *testing.T) {
	root := tree{"app/a.yaml": cmA}.write(t)
	_, err := Render(context.Background(), Options{Root: root, Path: "app", TargetNamespace: "x",
		IsNamespaced: func(schema.GroupKind) (bool, error) { panic("discovery exploded") }})
	if ReasonOf(err) != BuildFailed || !strings.Contains(err.Error(), "panicked: discovery exploded") {
		t.Fatalf("Render = %v, want a recovered panic", err)
	}
}

// TestRenderCancelled returns the context's error.
func TestRenderCancelled(t *testing.T) {
	root := tree{"app/a.yaml": cmA}.write(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(ctx, Options{Root: root, Path: "app"}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("Render = %v, want cancelled", err)
	}
}

// TestRenderPostBuild patches and re-images a plain YAML path rendered as
// kustomize (which holds no kustomization) and a chart's output.
func TestRenderPostBuild(t *testing.T) {
	root := tree{"plain/app.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n" +
		"  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n" +
		"    spec: {containers: [{name: web, image: example.com/web:1}]}\n"}.write(t)
	post := PostBuild{
		Patches: []Patch{{Patch: `[{"op": "replace", "path": "/spec/replicas", "value": 4}]`, Target: &PatchTarget{Kind: "Deployment"}}},
		Images:  []Image{{Name: "example.com/web", NewTag: "2"}},
	}
	objs, err := Render(context.Background(), Options{Root: root, Path: "plain", Engine: Kustomize, PostBuild: post})
	if err != nil {
		t.Fatal(err)
	}
	replicas, _, _ := unstructured.NestedInt64(objs[0].Object, "spec", "replicas")
	containers, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", "containers")
	if image := containers[0].(map[string]any)["image"]; replicas != 4 || image != "example.com/web:2" {
		t.Errorf("replicas %d, image %v: want 4 and example.com/web:2", replicas, image)
	}

	mark := PostBuild{Patches: []Patch{{Patch: `[{"op": "add", "path": "/metadata/annotations", "value": {"post-rendered": "yes"}}]`,
		Target: &PatchTarget{Kind: "Deployment"}}}}
	objs, err = Render(context.Background(), Options{Root: helmCorpus, Path: "shop", PostBuild: mark,
		Helm: HelmOptions{ReleaseName: "web", Namespace: "shop", ValuesFiles: []string{"values-prod.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if got := o.GetAnnotations()["post-rendered"]; (got == "yes") != (o.GetKind() == "Deployment") {
			t.Errorf("%s/%s post-rendered %q", o.GetKind(), o.GetName(), got)
		}
	}
}
