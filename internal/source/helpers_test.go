package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/source/gittest"
)

// canary is planted in every credential; no error may ever contain it.
const canary = "canary-7f3a9c-s3cr3t"

func newClient(t *testing.T, mods ...func(*Options)) *Client {
	t.Helper()
	opts := DefaultOptions()
	opts.CacheDir = t.TempDir()
	opts.Timeout = time.Minute
	for _, m := range mods {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture is an HTTPS server with basic auth (password = canary) and one
// repository with a first commit on main.
type fixture struct {
	srv   *gittest.HTTPSServer
	repo  *gittest.Repo
	creds Credentials
	first string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := gittest.NewHTTPS(t, gittest.HTTPSOptions{Username: "driftless", Password: canary})
	repo := srv.NewRepo(t, "app.git")
	repo.WriteFile("deploy/app.yaml", "kind: ConfigMap\n")
	repo.WriteFile("README.md", "app\n")
	first := repo.Commit("first")
	return &fixture{srv: srv, repo: repo, first: first,
		creds: Credentials{Username: []byte("driftless"), Password: []byte(canary), CAFile: srv.CAPEM}}
}

func (f *fixture) req(ref Ref) Request {
	return Request{URL: f.srv.RepoURL(f.repo.Name), Ref: ref, Credentials: f.creds}
}

func fetchOK(t *testing.T, c *Client, req Request) (Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := c.Fetch(context.Background(), req, dir)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return res, dir
}

func fetchFails(t *testing.T, c *Client, req Request, kind error) error {
	t.Helper()
	_, err := c.Fetch(context.Background(), req, t.TempDir())
	if !errors.Is(err, kind) {
		t.Fatalf("fetch error = %v, want %v", err, kind)
	}
	t.Logf("error: %v", err)
	noCanary(t, err)
	return err
}

func noCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Fatalf("credential leaked into error: %v", err)
	}
	var e *Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustURL(t *testing.T, raw string) endpoint {
	t.Helper()
	e, err := parseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitForShared waits until callers Fetch calls (plus the test's own hold
// and the shared sync) use the cache entry of req.
func waitForShared(t *testing.T, c *Client, req Request, callers int) {
	t.Helper()
	key := c.cache.key(mustURL(t, req.URL), req.Credentials)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.cache.mu.Lock()
		users := c.cache.entries[key].users
		c.cache.mu.Unlock()
		if users >= callers+2 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("callers did not reach the shared fetch")
}

// shallowCommits counts the shallow boundary commits of req's cache entry.
func shallowCommits(t *testing.T, c *Client, req Request) int {
	t.Helper()
	key := c.cache.key(mustURL(t, req.URL), req.Credentials)
	b, err := os.ReadFile(filepath.Join(c.cache.root, key, "shallow"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Fields(string(b)))
}
