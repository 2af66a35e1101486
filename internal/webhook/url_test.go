package webhook

import "testing"

func TestNormalizeURL(t *testing.T) {
	same := []string{
		"https://github.com/Org/Repo.git",
		"https://github.com/org/repo",
		"https://github.com/org/repo/",
		"http://github.com/org/repo.git",
		"ssh://git@github.com/org/repo.git",
		"ssh://git@github.com:22/org/repo",
		"git@github.com:org/repo.git",
		"github.com:org/repo",
		"git://github.com/org/repo.git",
		"  https://user@GitHub.com:443/org/repo.git  ",
	}
	for _, u := range same {
		if got := NormalizeURL(u); got != "github.com/org/repo" {
			t.Errorf("NormalizeURL(%q) = %q", u, got)
		}
	}
	different := []string{
		"https://github.com/org/repo2.git",
		"https://gitlab.com/org/repo.git",
		"https://github.com/other/repo.git",
		"https://github.com/org/group/repo.git",
	}
	for _, u := range different {
		if NormalizeURL(u) == "github.com/org/repo" {
			t.Errorf("%q matches github.com/org/repo", u)
		}
	}
	p := Push{URLs: []string{"https://git.example.com/ops/app.git", "ssh://git@git.example.com:2222/ops/app.git"}}
	if !p.Matches("ssh://git@git.example.com:2222/ops/app") || p.Matches("https://git.example.com/ops/app2") {
		t.Error("Push.Matches is wrong")
	}
}

func TestPushRefNames(t *testing.T) {
	if b := (Push{Ref: "refs/heads/release/1.x"}).Branch(); b != "release/1.x" {
		t.Errorf("branch = %q", b)
	}
	if tag := (Push{Ref: "refs/tags/v1.2.0"}).Tag(); tag != "v1.2.0" {
		t.Errorf("tag = %q", tag)
	}
	if (Push{Ref: "refs/tags/v1"}).Branch() != "" || (Push{Ref: "refs/heads/main"}).Tag() != "" {
		t.Error("ref kind confused")
	}
}
