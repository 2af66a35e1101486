package source

import (
	"os"
	"path/filepath"
	"testing"
)

func entryDir(t *testing.T, c *Client, req Request) string {
	t.Helper()
	return filepath.Join(c.cache.root, c.cache.key(mustURL(t, req.URL), req.Credentials))
}

func TestCorruptCacheIsDiscardedAndRefetched(t *testing.T) {
	for _, damage := range []struct {
		name string
		do   func(t *testing.T, dir string)
		// objects lost: the whole repository must be downloaded again.
		lost bool
	}{
		{"truncated pack", func(t *testing.T, dir string) {
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
			if len(packs) == 0 {
				t.Fatal("no pack in the cache")
			}
			for _, p := range packs {
				info, _ := os.Stat(p)
				if err := os.Truncate(p, info.Size()/2); err != nil {
					t.Fatal(err)
				}
			}
		}, true},
		{"missing index", func(t *testing.T, dir string) {
			idx, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.idx"))
			for _, p := range idx {
				_ = os.Remove(p)
			}
		}, true},
		{"garbage ref", func(t *testing.T, dir string) {
			ref := filepath.Join(dir, "refs", "remotes", "origin", "main")
			if err := os.WriteFile(ref, []byte("garbage\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(damage.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 30 {
				f.repo.WriteFile("deploy/file"+string(rune('a'+i%26))+".yaml", "n: "+string(rune('a'+i)))
			}
			head := f.repo.Commit("more files")
			c := newClient(t)
			req := f.req(Ref{Branch: "main"})
			fetchOK(t, c, req)
			damage.do(t, entryDir(t, c, req))
			res, dir := fetchOK(t, c, req)
			if res.Commit != head || readFile(t, dir, "deploy/app.yaml") != "kind: ConfigMap\n" {
				t.Errorf("after damage: %s", res.Revision)
			}
			if want := map[bool]int64{true: 2, false: 1}[damage.lost]; !res.Fetched || f.srv.UploadPacks() != want {
				t.Errorf("damaged cache not re-fetched: fetched=%v upload-packs=%d", res.Fetched, f.srv.UploadPacks())
			}
			again, _ := fetchOK(t, c, req)
			if again.Fetched {
				t.Error("the repaired cache is not reused")
			}
		})
	}
}

func TestCacheBounds(t *testing.T) {
	f := newFixture(t)
	repos := []string{f.repo.Name}
	for _, name := range []string{"two.git", "three.git"} {
		r := f.srv.NewRepo(t, name)
		r.WriteFile("x.yaml", name)
		r.Commit("first")
		repos = append(repos, name)
	}
	req := func(name string) Request {
		return Request{URL: f.srv.RepoURL(name), Ref: Ref{Branch: "main"}, Credentials: f.creds}
	}

	t.Run("count", func(t *testing.T) {
		c := newClient(t, func(o *Options) { o.MaxCacheEntries = 2 })
		for _, name := range repos {
			fetchOK(t, c, req(name))
		}
		if n := c.cache.len(); n != 2 {
			t.Errorf("cache entries = %d, want 2", n)
		}
		if _, err := os.Stat(entryDir(t, c, req(repos[0]))); !os.IsNotExist(err) {
			t.Errorf("least recently used entry still on disk: %v", err)
		}
		if _, err := os.Stat(entryDir(t, c, req(repos[2]))); err != nil {
			t.Errorf("most recent entry evicted: %v", err)
		}
	})
	t.Run("size", func(t *testing.T) {
		c := newClient(t, func(o *Options) { o.MaxCacheBytes = 1 })
		fetchOK(t, c, req(repos[0]))
		if n := c.cache.len(); n != 0 {
			t.Errorf("cache entries = %d, want 0 (each is over the byte bound)", n)
		}
		if res, _ := fetchOK(t, c, req(repos[0])); !res.Fetched {
			t.Error("an evicted entry was not fetched again")
		}
	})
}

func TestCacheSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	first := newClient(t, func(o *Options) { o.CacheDir = dir })
	fetchOK(t, first, f.req(Ref{Branch: "main"}))
	second := newClient(t, func(o *Options) { o.CacheDir = dir })
	if res, _ := fetchOK(t, second, f.req(Ref{Branch: "main"})); res.Fetched {
		t.Error("a restarted client fetched what its cache held")
	}
	if f.srv.UploadPacks() != 1 {
		t.Errorf("upload-packs = %d, want 1", f.srv.UploadPacks())
	}
}

func TestCacheKeyPerCredentials(t *testing.T) {
	c := newClient(t)
	e := mustURL(t, "https://git.example.com/org/app.git")
	a := c.cache.key(e, Credentials{Password: []byte(canary)})
	b := c.cache.key(e, Credentials{Password: []byte(canary + "2")})
	if a == b {
		t.Error("different credentials share a cache entry")
	}
	if a != c.cache.key(mustURL(t, "https://GIT.example.com/org/app.git/"), Credentials{Password: []byte(canary)}) {
		t.Error("the same repository and credentials map to two entries")
	}
}
