package controllers

import (
	"testing"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/webhook"
)

func TestFollows(t *testing.T) {
	appSource := func(ref v1alpha1.GitRef, suspend bool) *v1alpha1.AppSource {
		a := &v1alpha1.AppSource{}
		a.Spec.Source.Git = v1alpha1.GitSource{URL: "https://git.example.com/org/app.git", Ref: ref}
		a.Spec.Suspend = suspend
		return a
	}
	push := func(url, ref string) webhook.Push { return webhook.Push{URLs: []string{url}, Ref: ref} }
	const url = "https://git.example.com/org/app"
	tests := []struct {
		name string
		obj  *v1alpha1.AppSource
		push webhook.Push
		want bool
	}{
		{"same branch", appSource(v1alpha1.GitRef{Branch: "main"}, false), push(url, "refs/heads/main"), true},
		{"other branch", appSource(v1alpha1.GitRef{Branch: "main"}, false), push(url, "refs/heads/dev"), false},
		{"other repository", appSource(v1alpha1.GitRef{Branch: "main"}, false), push("https://git.example.com/org/other", "refs/heads/main"), false},
		{"suspended", appSource(v1alpha1.GitRef{Branch: "main"}, true), push(url, "refs/heads/main"), false},
		{"same tag", appSource(v1alpha1.GitRef{Tag: "v1"}, false), push(url, "refs/tags/v1"), true},
		{"semver and any tag", appSource(v1alpha1.GitRef{SemVer: ">=1"}, false), push(url, "refs/tags/v1.2.0"), true},
		{"semver and a branch", appSource(v1alpha1.GitRef{SemVer: ">=1"}, false), push(url, "refs/heads/main"), false},
	}
	for _, tt := range tests {
		if got := follows(tt.obj, tt.push); got != tt.want {
			t.Errorf("%s: follows = %v, want %v", tt.name, got, tt.want)
		}
	}
}
