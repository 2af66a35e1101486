package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftless-dev/driftless/internal/source/gittest"
)

func TestCheckoutSymlinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte(canary), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		links [][2]string // target, link
		ok    bool
	}{
		{"inside", [][2]string{{"deploy/app.yaml", "link.yaml"}, {"..", "deploy/up"}, {"nowhere", "dangling"}}, true},
		{"absolute", [][2]string{{"/etc/hostname", "deploy/host.yaml"}}, false},
		{"canary file outside", [][2]string{{outside, "deploy/values.yaml"}}, false},
		{"proc environ", [][2]string{{"/proc/self/environ", "env.yaml"}}, false},
		{"parent", [][2]string{{"../../outside", "deploy/x.yaml"}}, false},
		{"directory", [][2]string{{"../..", "deploy/escape"}}, false},
		{"chain through a link", [][2]string{{"../..", "a/b/root"}, {"root/../x", "a/b/t"}}, false},
		{"loop", [][2]string{{"l2", "l1"}, {"l1", "l2"}}, false},
	}
	srv := gittest.NewHTTPS(t, gittest.HTTPSOptions{})
	repo := srv.NewRepo(t, "links.git")
	repo.WriteFile("deploy/app.yaml", "kind: ConfigMap\n")
	repo.WriteFile("a/b/keep", "")
	base := repo.Commit("base")
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			branch := strings.ReplaceAll(tt.name, " ", "-")
			repo.Checkout(branch)
			repo.Git("reset", "--quiet", "--hard", base)
			for _, l := range tt.links {
				repo.Symlink(l[0], l[1])
			}
			repo.Commit(tt.name)
			dir := t.TempDir()
			_, err := c.Fetch(context.Background(), Request{URL: srv.RepoURL(repo.Name),
				Ref: Ref{Branch: branch}, Credentials: Credentials{CAFile: srv.CAPEM}}, dir)
			noCanary(t, err)
			if tt.ok {
				checkInsideLinks(t, err, dir)
				return
			}
			if !errors.Is(err, ErrSymlinkOutOfBounds) {
				t.Fatalf("error = %v, want ErrSymlinkOutOfBounds", err)
			}
			t.Logf("error: %v", err)
			if des, _ := os.ReadDir(dir); len(des) != 0 {
				t.Errorf("a refused checkout wrote %d entries", len(des))
			}
		})
	}
}

func checkInsideLinks(t *testing.T, err error, dir string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "link.yaml")); err != nil || target != "deploy/app.yaml" {
		t.Errorf("link.yaml -> %q, %v", target, err)
	}
	if readFile(t, dir, "deploy/up/deploy/app.yaml") != "kind: ConfigMap\n" {
		t.Error("directory link inside the checkout does not resolve")
	}
}

func TestSafeName(t *testing.T) {
	for _, name := range []string{"", ".", "..", ".git", ".GIT", "a/b", `a\b`, "a\x00"} {
		if safeName(name) == nil {
			t.Errorf("%q accepted", name)
		}
	}
	for _, name := range []string{"a", ".gitignore", "..a", "git"} {
		if err := safeName(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}

func TestCheckoutSkipsSubmodules(t *testing.T) {
	srv := gittest.NewHTTPS(t, gittest.HTTPSOptions{})
	sub := srv.NewRepo(t, "sub.git")
	subHead := sub.Commit("sub")
	repo := srv.NewRepo(t, "super.git")
	repo.WriteFile("app.yaml", "x")
	repo.Git("update-index", "--add", "--cacheinfo", "160000,"+subHead+",vendor/sub")
	repo.WriteFile(".gitmodules", "[submodule \"sub\"]\n\tpath = vendor/sub\n\turl = "+srv.RepoURL(sub.Name)+"\n")
	repo.Git("add", ".gitmodules", "app.yaml")
	repo.Git("commit", "--quiet", "-m", "with submodule")
	repo.Git("push", "--quiet", "origin", "HEAD:refs/heads/main")
	res, dir := fetchOK(t, newClient(t), Request{URL: srv.RepoURL(repo.Name), Ref: Ref{Branch: "main"},
		Credentials: Credentials{CAFile: srv.CAPEM}})
	if res.Commit == "" || readFile(t, dir, "app.yaml") != "x" {
		t.Fatal("checkout incomplete")
	}
	if _, err := os.Stat(filepath.Join(dir, "vendor", "sub")); !os.IsNotExist(err) {
		t.Errorf("submodule path exists: %v", err)
	}
	if srv.UploadPacks() != 1 {
		t.Errorf("upload-packs = %d, want 1 (no submodule fetch)", srv.UploadPacks())
	}
}
