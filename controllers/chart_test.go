package controllers

import (
	"testing"

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
