package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

const missingCommit = "0123456789abcdef0123456789abcdef01234567"

func containsOK(t *testing.T, c *Client, req Request, ancestor, descendant string) bool {
	t.Helper()
	ok, err := c.Contains(context.Background(), req, ancestor, descendant)
	if err != nil {
		t.Fatalf("contains %s..%s: %v", ancestor, descendant, err)
	}
	return ok
}

func containsFails(t *testing.T, c *Client, req Request, ancestor, descendant string, kind error) error {
	t.Helper()
	_, err := c.Contains(context.Background(), req, ancestor, descendant)
	if !errors.Is(err, kind) {
		t.Fatalf("contains error = %v, want %v", err, kind)
	}
	t.Logf("error: %v", err)
	noCanary(t, err)
	return err
}

func TestContainsLinearHistory(t *testing.T) {
	f := newFixture(t)
	second := f.repo.Commit("second")
	third := f.repo.Commit("third")
	c := newClient(t)
	req := f.req(Ref{})
	if !containsOK(t, c, req, f.first, third) {
		t.Error("first commit is not contained in the third")
	}
	if containsOK(t, c, req, third, f.first) {
		t.Error("third commit is contained in the first")
	}
	if !containsOK(t, c, req, second, "main@sha1:"+third) {
		t.Error("second commit is not contained in the third")
	}
	if n := f.srv.UploadPacks(); n != 1 {
		t.Errorf("upload-packs = %d, want 1", n)
	}
	// The history is cached now: no server needed.
	f.srv.Close()
	if !containsOK(t, c, req, f.first, second) {
		t.Error("first commit is not contained in the second")
	}
}

func TestContainsByHash(t *testing.T) {
	f := newFixture(t)
	second := f.repo.Commit("second")
	f.repo.Commit("third")
	f.repo.Bare("config", "uploadpack.allowReachableSHA1InWant", "true")
	c := newClient(t)
	if !containsOK(t, c, f.req(Ref{}), f.first, second) {
		t.Error("first commit is not contained in the second")
	}
	// One upload-pack: the commit below the branch head was asked for by hash.
	if n := f.srv.UploadPacks(); n != 1 {
		t.Errorf("upload-packs = %d, want 1", n)
	}
	if n := shallowCommits(t, c, f.req(Ref{})); n != 0 {
		t.Errorf("cache has %d shallow commits, want a complete history", n)
	}
	err := containsFails(t, c, f.req(Ref{}), f.first, missingCommit, ErrRevisionNotFound)
	if !strings.Contains(err.Error(), missingCommit) {
		t.Errorf("error does not name the missing commit: %v", err)
	}
}

func TestContainsEqualNeedsNothing(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	requests := f.srv.Requests()
	for _, h := range []string{f.first, missingCommit} {
		if !containsOK(t, c, f.req(Ref{}), h, "main@sha1:"+h) {
			t.Errorf("%s does not contain itself", h)
		}
	}
	if f.srv.Requests() != requests || c.cache.len() != 0 {
		t.Errorf("requests %d -> %d, cache entries %d", requests, f.srv.Requests(), c.cache.len())
	}
	if des, err := os.ReadDir(c.cache.root); err != nil || len(des) != 1 {
		t.Errorf("cache directory holds %d entries (%v), want only the salt", len(des), err)
	}
	containsFails(t, c, f.req(Ref{}), "abc", f.first, ErrInvalidRequest)
	containsFails(t, c, f.req(Ref{}), f.first, strings.ToUpper(f.first), ErrInvalidRequest)
}

func TestContainsMerge(t *testing.T) {
	f := newFixture(t)
	f.repo.Checkout("side")
	f.repo.WriteFile("side.txt", "side\n")
	side := f.repo.Commit("side")
	f.repo.Checkout("main")
	f.repo.WriteFile("main.txt", "main\n")
	onMain := f.repo.Commit("main")
	f.repo.Git("merge", "--quiet", "--no-ff", "-m", "merge side", "side")
	f.repo.Git("push", "--quiet", "origin", "HEAD:refs/heads/main")
	merge := f.repo.Git("rev-parse", "HEAD")
	// The side commit is reachable through the merge only.
	f.repo.Git("push", "--quiet", "origin", "--delete", "side")

	c := newClient(t)
	tests := []struct {
		name                 string
		ancestor, descendant string
		want                 bool
	}{
		{"side branch in merge", side, merge, true},
		{"first parent in merge", onMain, merge, true},
		{"root in merge", f.first, merge, true},
		{"merge in side branch", merge, side, false},
		{"main in side branch", onMain, side, false},
		{"side branch in main", side, onMain, false},
	}
	for _, tt := range tests {
		if got := containsOK(t, c, f.req(Ref{}), tt.ancestor, tt.descendant); got != tt.want {
			t.Errorf("%s: contains = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestContainsForcePush(t *testing.T) {
	f := newFixture(t)
	doomed := f.repo.Commit("doomed")
	f.repo.WriteFile("deploy/app.yaml", "kind: Doomed\n")
	doomedHead := f.repo.Commit("doomed head")
	// shallow holds the doomed head alone; historian its whole history.
	shallow, historian := newClient(t), newClient(t)
	fetchOK(t, shallow, f.req(Ref{Branch: "main"}))
	req := f.req(Ref{})
	if !containsOK(t, historian, req, f.first, doomedHead) {
		t.Fatal("first commit is not contained in the doomed head")
	}
	f.repo.ResetHard(f.first)
	f.repo.WriteFile("deploy/app.yaml", "kind: Replacement\n")
	replacement := f.repo.Commit("replacement")
	f.repo.Prune()

	for name, c := range map[string]*Client{"shallow": shallow, "historian": historian, "cold": newClient(t)} {
		if containsOK(t, c, req, doomed, replacement) {
			t.Errorf("%s cache: a force-pushed-away commit is contained in the new head", name)
		}
		if !containsOK(t, c, req, f.first, replacement) {
			t.Errorf("%s cache: the first commit is not contained in the new head", name)
		}
	}
	for name, c := range map[string]*Client{"shallow": shallow, "cold": newClient(t)} {
		err := containsFails(t, c, req, f.first, doomedHead, ErrRevisionNotFound)
		if !strings.Contains(err.Error(), "descendant commit "+doomedHead) {
			t.Errorf("%s cache: error does not name the missing commit: %v", name, err)
		}
	}
	// A hash names the same history forever: a cache that holds it answers.
	if !containsOK(t, historian, req, doomed, doomedHead) {
		t.Error("historian cache: a removed commit is not contained in its removed child")
	}
}

func TestContainsCorruptCache(t *testing.T) {
	f := newFixture(t)
	second := f.repo.Commit("second")
	c := newClient(t)
	req := f.req(Ref{})
	containsOK(t, c, req, f.first, second)
	packs, _ := filepath.Glob(filepath.Join(entryDir(t, c, req), "objects", "pack", "*.pack"))
	for _, p := range packs {
		if err := os.Truncate(p, 40); err != nil {
			t.Fatal(err)
		}
	}
	if !containsOK(t, c, req, f.first, second) || f.srv.UploadPacks() != 2 {
		t.Errorf("damaged cache not re-fetched: upload-packs=%d", f.srv.UploadPacks())
	}
}

func TestContainsDescendantMissing(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	for range 2 {
		err := containsFails(t, c, f.req(Ref{}), f.first, missingCommit, ErrRevisionNotFound)
		if !strings.Contains(err.Error(), "descendant commit "+missingCommit) {
			t.Errorf("error does not name the missing commit: %v", err)
		}
		// And again with a cached repository.
		fetchOK(t, c, f.req(Ref{Branch: "main"}))
	}
}

func TestContainsSharesTheCacheWithFetch(t *testing.T) {
	f := newFixture(t)
	second := f.repo.Commit("second")
	f.repo.WriteFile("deploy/app.yaml", "kind: Third\n")
	third := f.repo.Commit("third")
	c := newClient(t)
	req := f.req(Ref{Branch: "main"})
	fetchOK(t, c, req)
	if !containsOK(t, c, req, f.first, third) {
		t.Fatal("first commit is not contained in the third")
	}
	if n := shallowCommits(t, c, req); n != 0 {
		t.Errorf("cache has %d shallow commits after fetching the history", n)
	}

	f.repo.WriteFile("deploy/app.yaml", "kind: Fourth\n")
	fourth := f.repo.Commit("fourth")
	res, dir := fetchOK(t, c, req)
	if res.Commit != fourth || !res.Fetched || readFile(t, dir, "deploy/app.yaml") != "kind: Fourth\n" {
		t.Errorf("fetch after contains: %s fetched=%v", res.Revision, res.Fetched)
	}
	packs := f.srv.UploadPacks()
	if !containsOK(t, c, req, second, fourth) || f.srv.UploadPacks() != packs {
		t.Errorf("second commit in the fourth: upload-packs %d -> %d, want none", packs, f.srv.UploadPacks())
	}
	res, dir = fetchOK(t, c, f.req(Ref{Commit: second}))
	if res.Fetched || readFile(t, dir, "deploy/app.yaml") != "kind: ConfigMap\n" {
		t.Errorf("pinned fetch of a commit of the history: fetched=%v", res.Fetched)
	}
}

func TestConcurrentContains(t *testing.T) {
	f := newFixture(t)
	second := f.repo.Commit("second")
	third := f.repo.Commit("third")
	c := newClient(t)
	const callers = 8
	var wg sync.WaitGroup
	results := make([]bool, callers)
	errs := make([]error, callers)
	for i := range callers {
		ancestor := []string{f.first, second}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.Contains(context.Background(), f.req(Ref{}), ancestor, third)
		}()
	}
	fetches := make([]Result, 2)
	fetchErrs := make([]error, 2)
	for i := range fetches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fetches[i], fetchErrs[i] = c.Fetch(context.Background(), f.req(Ref{Branch: "main"}), t.TempDir())
		}()
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || !results[i] {
			t.Errorf("caller %d: %v %v", i, results[i], errs[i])
		}
	}
	for i := range fetches {
		if fetchErrs[i] != nil || fetches[i].Commit != third {
			t.Errorf("fetch %d: %v %s", i, fetchErrs[i], fetches[i].Commit)
		}
	}
	// At most a shallow fetch and one shared history fetch.
	if n := f.srv.UploadPacks(); n > 2 {
		t.Errorf("upload-packs = %d, want at most 2", n)
	}
}

func TestContainsLimits(t *testing.T) {
	f := newFixture(t)
	f.repo.Commit("second")
	third := f.repo.Commit("third")
	small := newClient(t, func(o *Options) { o.MaxFetchBytes = 64 })
	containsFails(t, small, f.req(Ref{}), f.first, third, ErrLimitExceeded)

	c := newClient(t)
	if !containsOK(t, c, f.req(Ref{}), f.first, third) {
		t.Fatal("first commit is not contained in the third")
	}
	sto, err := openStorage(entryDir(t, c, f.req(Ref{})), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sto.Close() //nolint:errcheck // read only
	ctx := context.Background()
	missing, head := plumbing.NewHash(missingCommit), plumbing.NewHash(third)
	if _, err := ancestryOf(ctx, sto, missing, head, 2); !errors.Is(err, ErrLimitExceeded) {
		t.Errorf("walk of 3 commits with a limit of 2: %v", err)
	}
	if v, err := ancestryOf(ctx, sto, missing, head, 3); err != nil || v != ancestryNotContained {
		t.Errorf("walk of 3 commits with a limit of 3: %v %v", v, err)
	}
}
