package controllers

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/render/helm/chartrepo"
)

// TestChartRevisions checks the revisions of an AppSource whose chart comes
// from a repository: the chart version comes first, a pin (a rollback's or
// a promotion's) keeps its own, and a pin made before the AppSource took
// its chart from a repository gets the version picked.
func TestChartRevisions(t *testing.T) {
	const head = "main@sha1:0123456789abcdef0123456789abcdef01234567"
	withRepoChart := &v1alpha1.AppSource{Spec: v1alpha1.AppSourceSpec{Render: &v1alpha1.Render{Helm: &v1alpha1.HelmRender{
		Chart: &v1alpha1.HelmChart{Repository: "https://charts.example.com", Name: "web", Version: "^1.0"}}}}}
	picked := &chartPick{src: chartrepo.Source{Chart: "web"}, res: chartrepo.Resolved{Version: "1.4.2"}}
	tests := []struct {
		name    string
		obj     *v1alpha1.AppSource
		chart   *chartPick
		pin     string
		fetched string
		want    string
	}{
		{"Git alone", &v1alpha1.AppSource{}, nil, "", head, head},
		{"Git alone, pinned", &v1alpha1.AppSource{}, nil, "main@sha1:abc", "sha1:abc", "main@sha1:abc"},
		{"a chart of a repository", withRepoChart, picked, "", head, "web@1.4.2/" + head},
		{"pinned with its chart", withRepoChart, picked, "web@1.4.2/" + head, "sha1:0123", "web@1.4.2/" + head},
		{"pinned before the chart", withRepoChart, picked, head, "sha1:0123", "web@1.4.2/" + head},
		{"a branch with a slash", withRepoChart, picked, "", "feature/x@sha1:abc", "web@1.4.2/feature/x@sha1:abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &state{obj: tt.obj, chart: tt.chart, pin: tt.pin}
			got := pinned(st, tt.fetched)
			if got != tt.want {
				t.Fatalf("pinned = %q, want %q", got, tt.want)
			}
			if commitOf(got) != commitOf(tt.want) {
				t.Errorf("commitOf(%q) = %q", got, commitOf(got))
			}
		})
	}
}

func TestChartVersionOf(t *testing.T) {
	tests := []struct {
		revision, chart, version string
		ok                       bool
	}{
		{"web@1.4.2/main@sha1:abc", "web", "1.4.2", true},
		{"web@1.4.2+build.7/feature/x@sha1:abc", "web", "1.4.2+build.7", true},
		{"web@1.4.2/main@sha1:abc", "api", "", false},
		{"main@sha1:abc", "web", "", false},
		{"feature/x@sha1:abc", "feature", "", false},
		{"", "web", "", false},
	}
	for _, tt := range tests {
		v, ok := chartVersionOf(tt.revision, tt.chart)
		if v != tt.version || ok != tt.ok {
			t.Errorf("chartVersionOf(%q, %q) = %q, %v; want %q, %v", tt.revision, tt.chart, v, ok, tt.version, tt.ok)
		}
	}
	if !sameChartVersion("web@1.4.2/main@sha1:a", "web@1.4.2/main@sha1:b", "web") || sameChartVersion("web@1.4.2/main@sha1:a", "web@1.5.0/main@sha1:a", "web") {
		t.Error("sameChartVersion compares the chart versions alone")
	}
}

// TestSplitHooks checks which rendered objects are hooks, and how they run.
func TestSplitHooks(t *testing.T) {
	obj := func(name string, annotations map[string]string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("ConfigMap")
		o.SetName(name)
		o.SetAnnotations(annotations)
		return o
	}
	objs := []*unstructured.Unstructured{
		obj("plain", nil),
		obj("migrate", map[string]string{hookAnnotation: "pre-install, pre-upgrade", hookWeightAnnotation: " -5 ", hookDeleteAnnotation: "hook-succeeded,hook-failed"}),
		obj("announce", map[string]string{hookAnnotation: "post-upgrade"}),
		obj("cleanup", map[string]string{hookAnnotation: "pre-delete,post-rollback"}),
		obj("other", map[string]string{"helm.sh/resource-policy": "keep"}),
	}
	rest, hooks := splitHooks(objs)
	var names []string
	for _, o := range rest {
		names = append(names, o.GetName())
	}
	if !slices.Equal(names, []string{"plain", "other"}) {
		t.Errorf("objects %v, want plain and other", names)
	}
	if len(hooks) != 2 {
		t.Fatalf("%d hooks, want migrate and announce (delete and rollback hooks are not run)", len(hooks))
	}
	if h := hooks[0]; h.obj.GetName() != "migrate" || h.weight != -5 || !slices.Equal(h.events, []string{"pre-install", "pre-upgrade"}) || !slices.Equal(h.delete, []string{"hook-succeeded", "hook-failed"}) {
		t.Errorf("migrate: %+v", h)
	}
	if h := hooks[1]; h.weight != 0 || !slices.Equal(h.delete, []string{beforeHookCreation}) {
		t.Errorf("announce: weight %d, delete %v; want 0 and Helm's default", h.weight, h.delete)
	}
	if rest, hooks := splitHooks(objs[:1]); len(hooks) != 0 || &rest[0] != &objs[0] {
		t.Error("a render without hooks is returned as it is")
	}
}
