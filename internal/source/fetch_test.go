package source

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/driftless-dev/driftless/internal/source/gittest"
)

func TestFetchRefKinds(t *testing.T) {
	f := newFixture(t)
	f.repo.Tag("light", "")
	f.repo.Tag("v1.0.0", "release 1.0.0")
	f.repo.WriteFile("deploy/app.yaml", "kind: Secret\n")
	second := f.repo.Commit("second")
	f.repo.Tag("v1.2.0", "release 1.2.0")
	f.repo.Tag("v2.0.0", "")
	f.repo.WriteFile("deploy/app.yaml", "kind: Deployment\n")
	third := f.repo.Commit("third")
	f.repo.Tag("v1.3.0-rc.1", "pre-release")

	tests := []struct {
		name, revision, content string
		ref                     Ref
	}{
		{"branch", "main@sha1:" + third, "kind: Deployment\n", Ref{Branch: "main"}},
		{"lightweight tag", "light@sha1:" + f.first, "kind: ConfigMap\n", Ref{Tag: "light"}},
		{"annotated tag", "v1.0.0@sha1:" + f.first, "kind: ConfigMap\n", Ref{Tag: "v1.0.0"}},
		{"semver", "v1.2.0@sha1:" + second, "kind: Secret\n", Ref{SemVer: ">=1.0 <2"}},
		{"semver with pre-releases", "v1.3.0-rc.1@sha1:" + third, "kind: Deployment\n", Ref{SemVer: ">=1.0.0-0 <2"}},
		{"commit", "sha1:" + second, "kind: Secret\n", Ref{Commit: second}},
	}
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, dir := fetchOK(t, c, f.req(tt.ref))
			if res.Revision != tt.revision {
				t.Errorf("revision = %s, want %s", res.Revision, tt.revision)
			}
			if got := readFile(t, dir, "deploy/app.yaml"); got != tt.content {
				t.Errorf("content = %q, want %q", got, tt.content)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
				t.Errorf("checkout holds .git: %v", err)
			}
			resolved, err := c.Resolve(context.Background(), f.req(tt.ref))
			if err != nil || resolved.Revision != tt.revision {
				t.Errorf("resolve = %s, %v; want %s", resolved.Revision, err, tt.revision)
			}
		})
	}
}

func TestFetchSSH(t *testing.T) {
	srv := gittest.NewSSH(t, gittest.SSHOptions{Passphrase: canary})
	repo := srv.NewRepo(t, "app.git")
	repo.WriteFile("app.yaml", "kind: ConfigMap\n")
	head := repo.Commit("first")
	repo.Tag("v1.0.0", "release")
	creds := Credentials{Identity: srv.Identity, Passphrase: []byte(canary), KnownHosts: srv.KnownHosts}
	c := newClient(t)
	for _, ref := range []Ref{{Branch: "main"}, {Tag: "v1.0.0"}, {SemVer: "1.x"}} {
		res, dir := fetchOK(t, c, Request{URL: srv.RepoURL(repo.Name), Ref: ref, Credentials: creds})
		if res.Commit != head || readFile(t, dir, "app.yaml") != "kind: ConfigMap\n" {
			t.Errorf("%s: got %s", ref, res.Revision)
		}
	}
}

func TestFetchNoChangeDoesNotFetch(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	first, _ := fetchOK(t, c, f.req(Ref{Branch: "main"}))
	if !first.Fetched || f.srv.UploadPacks() != 1 {
		t.Fatalf("first fetch: fetched=%v, upload-packs=%d", first.Fetched, f.srv.UploadPacks())
	}
	again, dir := fetchOK(t, c, f.req(Ref{Branch: "main"}))
	if again.Fetched || again.Revision != first.Revision || f.srv.UploadPacks() != 1 {
		t.Errorf("second fetch: fetched=%v, upload-packs=%d", again.Fetched, f.srv.UploadPacks())
	}
	if readFile(t, dir, "README.md") != "app\n" {
		t.Error("checkout from the cache is incomplete")
	}
	if _, err := c.Resolve(context.Background(), f.req(Ref{Branch: "main"})); err != nil || f.srv.UploadPacks() != 1 {
		t.Errorf("resolve: %v, upload-packs=%d", err, f.srv.UploadPacks())
	}
	next := f.repo.Commit("next")
	res, _ := fetchOK(t, c, f.req(Ref{Branch: "main"}))
	if !res.Fetched || res.Commit != next || f.srv.UploadPacks() != 2 {
		t.Errorf("after a push: fetched=%v commit=%s upload-packs=%d", res.Fetched, res.Commit, f.srv.UploadPacks())
	}
}

func TestFetchForcePushRemovingFetchedCommit(t *testing.T) {
	f := newFixture(t)
	f.repo.WriteFile("deploy/app.yaml", "kind: Doomed\n")
	doomed := f.repo.Commit("doomed")
	c := newClient(t)
	if res, _ := fetchOK(t, c, f.req(Ref{Branch: "main"})); res.Commit != doomed {
		t.Fatalf("commit = %s, want %s", res.Commit, doomed)
	}
	f.repo.ResetHard(f.first)
	f.repo.WriteFile("deploy/app.yaml", "kind: Replacement\n")
	replacement := f.repo.Commit("replacement")
	f.repo.Prune()
	res, dir := fetchOK(t, c, f.req(Ref{Branch: "main"}))
	if res.Revision != "main@sha1:"+replacement || readFile(t, dir, "deploy/app.yaml") != "kind: Replacement\n" {
		t.Errorf("after force-push: %s", res.Revision)
	}
	fetchFails(t, newClient(t), f.req(Ref{Commit: doomed}), ErrRevisionNotFound)
}

func TestFetchMovedTag(t *testing.T) {
	f := newFixture(t)
	f.repo.Tag("stable", "first")
	c := newClient(t)
	if res, _ := fetchOK(t, c, f.req(Ref{Tag: "stable"})); res.Commit != f.first {
		t.Fatalf("commit = %s, want %s", res.Commit, f.first)
	}
	f.repo.WriteFile("deploy/app.yaml", "kind: Moved\n")
	second := f.repo.Commit("second")
	f.repo.Tag("stable", "moved")
	res, dir := fetchOK(t, c, f.req(Ref{Tag: "stable"}))
	if res.Revision != "stable@sha1:"+second || readFile(t, dir, "deploy/app.yaml") != "kind: Moved\n" {
		t.Errorf("moved tag: %s", res.Revision)
	}
}

func TestFetchPinnedCommit(t *testing.T) {
	f := newFixture(t)
	f.repo.Commit("second")
	missing := "0123456789abcdef0123456789abcdef01234567"

	t.Run("older commit without exact-sha support", func(t *testing.T) {
		c := newClient(t)
		res, dir := fetchOK(t, c, f.req(Ref{Commit: f.first}))
		if res.Revision != "sha1:"+f.first || readFile(t, dir, "README.md") != "app\n" {
			t.Errorf("revision = %s", res.Revision)
		}
		if n := shallowCommits(t, c, f.req(Ref{})); n != 0 {
			t.Errorf("cache has %d shallow commits, want a complete history", n)
		}
		fetchFails(t, newClient(t), f.req(Ref{Commit: missing}), ErrRevisionNotFound)
	})
	t.Run("older commit with exact-sha support", func(t *testing.T) {
		f.repo.Bare("config", "uploadpack.allowReachableSHA1InWant", "true")
		defer f.repo.Bare("config", "--unset", "uploadpack.allowReachableSHA1InWant")
		c := newClient(t)
		res, _ := fetchOK(t, c, f.req(Ref{Commit: f.first}))
		if res.Commit != f.first {
			t.Errorf("commit = %s", res.Commit)
		}
		if n := shallowCommits(t, c, f.req(Ref{})); n != 1 {
			t.Errorf("cache has %d shallow commits, want 1 (a depth-1 fetch by hash)", n)
		}
		fetchFails(t, newClient(t), f.req(Ref{Commit: missing}), ErrRevisionNotFound)
	})
}

func TestFetchMissingRefs(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	for _, ref := range []Ref{{Branch: "nope"}, {Tag: "nope"}, {SemVer: ">=9"}} {
		fetchFails(t, c, f.req(ref), ErrRevisionNotFound)
	}
}

func TestFetchServerUnavailable(t *testing.T) {
	f := newFixture(t)
	t.Run("wrong password", func(t *testing.T) {
		req := f.req(Ref{Branch: "main"})
		req.Credentials.Password = []byte(canary + "-wrong")
		fetchFails(t, newClient(t), req, ErrSourceUnavailable)
	})
	t.Run("self-signed certificate without caFile", func(t *testing.T) {
		req := f.req(Ref{Branch: "main"})
		req.Credentials.CAFile = nil
		fetchFails(t, newClient(t), req, ErrSourceUnavailable)
	})
	t.Run("server down", func(t *testing.T) {
		c := newClient(t)
		fetchOK(t, c, f.req(Ref{Branch: "main"}))
		f.srv.Close()
		fetchFails(t, c, f.req(Ref{Branch: "main"}), ErrSourceUnavailable)
		if _, err := c.Resolve(context.Background(), f.req(Ref{Branch: "main"})); err == nil {
			t.Error("resolve succeeded against a stopped server")
		}
	})
}

func TestConcurrentFetchesShareOne(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	const callers = 8
	var wg sync.WaitGroup
	results := make([]Result, callers)
	errs := make([]error, callers)
	// Hold the entry so every caller queues behind one shared fetch.
	e := c.cache.acquire(c.cache.key(mustURL(t, f.req(Ref{}).URL), f.creds))
	e.mu.Lock()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.Fetch(context.Background(), f.req(Ref{Branch: "main"}), t.TempDir())
		}()
	}
	waitForShared(t, c, f.req(Ref{Branch: "main"}), callers)
	e.mu.Unlock()
	c.cache.release(e)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || results[i].Commit != f.first {
			t.Fatalf("caller %d: %v %s", i, errs[i], results[i].Commit)
		}
	}
	if n := f.srv.UploadPacks(); n != 1 {
		t.Errorf("upload-packs = %d, want 1", n)
	}
}

func TestFetchLimits(t *testing.T) {
	f := newFixture(t)
	fetchFails(t, newClient(t, func(o *Options) { o.MaxFetchBytes = 64 }), f.req(Ref{Branch: "main"}), ErrLimitExceeded)
	fetchFails(t, newClient(t, func(o *Options) { o.MaxCheckoutFiles = 2 }), f.req(Ref{Branch: "main"}), ErrLimitExceeded)
	fetchFails(t, newClient(t, func(o *Options) { o.MaxCheckoutBytes = 8 }), f.req(Ref{Branch: "main"}), ErrLimitExceeded)
}

func TestFetchRefusesNonEmptyDir(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stale"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t).Fetch(context.Background(), f.req(Ref{Branch: "main"}), dir); err == nil {
		t.Error("fetch into a non-empty directory succeeded")
	}
}

func TestIncrementalFetchIsThin(t *testing.T) {
	srv := gittest.NewHTTPS(t, gittest.HTTPSOptions{})
	bare := gittest.Generate(t, srv.Root, "gen.git", 500, 3)
	req := Request{URL: srv.RepoURL("gen.git"), Ref: Ref{Branch: "main"}, Credentials: Credentials{CAFile: srv.CAPEM}}
	c := newClient(t)
	fetchOK(t, c, req)
	before := dirSize(entryDir(t, c, req))
	head := gittest.AppendCommit(t, bare, "main", "dir000/file00000.yaml", "changed: true\n")
	res, dir := fetchOK(t, c, req)
	if res.Commit != head || readFile(t, dir, "dir000/file00000.yaml") != "changed: true\n" {
		t.Fatalf("incremental fetch: %s", res.Revision)
	}
	if grown := dirSize(entryDir(t, c, req)) - before; grown > before/10 {
		t.Errorf("one changed file grew the cache by %d bytes (whole tree: %d)", grown, before)
	}
}

// FetchAt of a resolved head does not ask for the refs again: the fetch is
// the upload-pack exchange alone, and a head the cache holds costs no
// request at all. Fetch, for comparison, resolves first.
func TestFetchAtSkipsTheSecondRefListing(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	req := f.req(Ref{Branch: "main"})
	fetchOK(t, c, req)
	f.repo.WriteFile("deploy/app.yaml", "kind: Secret\n")
	second := f.repo.Commit("second")

	head, err := c.Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	before := f.srv.Requests()
	res, err := c.FetchAt(context.Background(), req, head, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// go-git's fetch reads the advertisement once, then posts upload-pack.
	if n := f.srv.Requests() - before; n != 2 || res.Revision != "main@sha1:"+second || !res.Fetched {
		t.Errorf("FetchAt a new head: %d requests, %s (fetched %v); want 2, main@sha1:%s (fetched)", n, res.Revision, res.Fetched, second)
	}
	before = f.srv.Requests()
	if res, err = c.FetchAt(context.Background(), req, head, t.TempDir()); err != nil || f.srv.Requests() != before || res.Fetched {
		t.Errorf("FetchAt a cached head: %d requests, fetched %v, %v; want none", f.srv.Requests()-before, res.Fetched, err)
	}
	before = f.srv.Requests()
	if _, err := c.Fetch(context.Background(), req, t.TempDir()); err != nil || f.srv.Requests()-before != 1 {
		t.Errorf("Fetch of a cached head: %d requests, %v; want 1 (the ref listing)", f.srv.Requests()-before, err)
	}
}
