package chartrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// httpRepo is an HTTPS Helm repository at <server>/charts, built by the
// real helm CLI: `helm package` and `helm repo index`.
type httpRepo struct {
	helm *helmCLI
	dir  string
	srv  *tlsServer
	url  string
}

func newHTTPRepo(t *testing.T) *httpRepo {
	t.Helper()
	r := &httpRepo{helm: newHelm(t), dir: t.TempDir()}
	mux := http.NewServeMux()
	mux.Handle("/charts/", http.StripPrefix("/charts/", http.FileServer(http.Dir(r.dir))))
	r.srv = newTLSServer(t, mux, false)
	r.url = r.srv.URL + "/charts"
	return r
}

// publish packages chart at version into the repository and indexes it
// again; it returns the archive's path.
func (r *httpRepo) publish(t *testing.T, chart, version string) string {
	t.Helper()
	tgz := r.helm.pack(t, r.dir, chart, version)
	r.helm.run(t, "repo", "index", r.dir)
	return tgz
}

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestHTTPRepository(t *testing.T) {
	r := newHTTPRepo(t)
	tgz100 := r.publish(t, "web", "1.0.0")
	c := newTestClient(t, Options{})
	creds := r.srv.creds()
	src := Source{URL: r.url, Chart: "web", Version: "^1.0"}

	res, err := c.Resolve(t.Context(), src, creds)
	if err != nil {
		t.Fatal(err)
	}
	want := Resolved{Version: "1.0.0", Digest: sha(readFile(t, tgz100)), URL: r.url + "/web-1.0.0.tgz"}
	if res != want {
		t.Fatalf("Resolve ^1.0 = %+v, want %+v", res, want)
	}

	tgz110 := r.publish(t, "web", "1.1.0")
	if res, err = c.Resolve(t.Context(), src, creds); err != nil || res.Version != "1.1.0" {
		t.Fatalf("Resolve ^1.0 after 1.1.0 = %+v, %v; want 1.1.0", res, err)
	}
	t.Run("exact version", func(t *testing.T) {
		got, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "1.0.0"}, creds)
		if err != nil || got.Version != "1.0.0" {
			t.Fatalf("Resolve 1.0.0 = %+v, %v", got, err)
		}
	})
	t.Run("latest stable", func(t *testing.T) {
		got, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web"}, creds)
		if err != nil || got.Version != "1.1.0" {
			t.Fatalf("Resolve \"\" = %+v, %v", got, err)
		}
	})
	t.Run("no match", func(t *testing.T) {
		_, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "^3.0"}, creds)
		mustNotLeak(t, err, `"^3.0"`, "chart web", r.url)
	})
	t.Run("no chart", func(t *testing.T) {
		_, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "api", Version: "^1.0"}, creds)
		mustNotLeak(t, err, "no chart api", r.url)
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := creds
		bad.Password = []byte(testPassword + "-wrong")
		_, err := c.Resolve(t.Context(), src, bad)
		mustNotLeak(t, err, "401", r.url, "chart web")
		if strings.Contains(err.Error(), string(bad.Password)) {
			t.Fatalf("error contains the wrong password: %v", err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		_, err := c.Resolve(t.Context(), src, Credentials{Username: creds.Username, Password: creds.Password})
		mustNotLeak(t, err, "certificate", r.url)
	})

	t.Run("fetch downloads once", func(t *testing.T) {
		c := newTestClient(t, Options{})
		var wg sync.WaitGroup
		results := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range results {
			wg.Go(func() { results[i], errs[i] = c.Fetch(t.Context(), src, res, creds) })
		}
		wg.Wait()
		again, err := c.Fetch(t.Context(), src, res, creds)
		if err != nil {
			t.Fatal(err)
		}
		for i := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if string(results[i]) != string(again) || string(again) != string(readFile(t, tgz110)) {
				t.Fatal("fetched archive differs from the packaged one")
			}
		}
		if n := r.srv.count("/charts/web-1.1.0.tgz"); n != 1 {
			t.Errorf("%d downloads of web-1.1.0.tgz, want 1", n)
		}
	})

	t.Run("tampered cache is fetched again", func(t *testing.T) {
		dir := t.TempDir()
		c := newTestClient(t, Options{CacheDir: dir})
		before := r.srv.count("/charts/web-1.0.0.tgz")
		old, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "1.0.0"}, creds)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Fetch(t.Context(), src, old, creds); err != nil {
			t.Fatal(err)
		}
		cached := filepath.Join(dir, cacheKey(old)+".tgz")
		writeFile(t, cached, "not the chart")
		data, err := c.Fetch(t.Context(), src, old, creds)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(readFile(t, tgz100)) || string(readFile(t, cached)) != string(data) {
			t.Fatal("the tampered cache entry was not replaced by the chart")
		}
		if n := r.srv.count("/charts/web-1.0.0.tgz") - before; n != 2 {
			t.Errorf("%d downloads, want 2", n)
		}
	})

	t.Run("cache bound", func(t *testing.T) {
		dir := t.TempDir()
		size := int64(len(readFile(t, tgz100)))
		c := newTestClient(t, Options{CacheDir: dir, MaxCacheBytes: size + size/2})
		old, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "1.0.0"}, creds)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []Resolved{old, res} {
			if _, err := c.Fetch(t.Context(), src, v, creds); err != nil {
				t.Fatal(err)
			}
		}
		entries, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
		if len(entries) != 1 || filepath.Base(entries[0]) != cacheKey(res)+".tgz" {
			t.Errorf("cache holds %v, want only the newest archive", entries)
		}
	})

	t.Run("chart too large", func(t *testing.T) {
		c := newTestClient(t, Options{MaxChartBytes: 100})
		_, err := c.Fetch(t.Context(), src, res, creds)
		mustNotLeak(t, err, "MaxChartBytes is 100", "chart web version 1.1.0")
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("error %v is not ErrTooLarge", err)
		}
	})

	t.Run("index too large", func(t *testing.T) {
		c := newTestClient(t, Options{MaxIndexBytes: 200})
		_, err := c.Resolve(t.Context(), src, creds)
		mustNotLeak(t, err, "MaxIndexBytes is 200", r.url)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("error %v is not ErrTooLarge", err)
		}
	})

	t.Run("digest mismatch", func(t *testing.T) {
		c := newTestClient(t, Options{})
		data := readFile(t, tgz110)
		defer writeFile(t, tgz110, string(data))
		writeFile(t, tgz110, string(data[:len(data)-1])+"x")
		_, err := c.Fetch(t.Context(), src, res, creds)
		mustNotLeak(t, err, "digest mismatch", "chart web version 1.1.0", r.url)
	})
}

// TestHTTPRepositoryStaysOnItsHost: neither a chart URL in index.yaml nor a
// redirect leads away from the repository's scheme and host.
func TestHTTPRepositoryStaysOnItsHost(t *testing.T) {
	r := newHTTPRepo(t)
	r.helm.pack(t, r.dir, "web", "1.0.0")
	r.helm.run(t, "repo", "index", r.dir, "--url", "https://charts.example.invalid/stable")
	c := newTestClient(t, Options{})
	creds := r.srv.creds()
	src := Source{URL: r.url, Chart: "web", Version: "1.0.0"}

	_, err := c.Resolve(t.Context(), src, creds)
	mustNotLeak(t, err, "https://charts.example.invalid/stable/web-1.0.0.tgz", "repository access only to the URLs the spec names")

	forged := Resolved{Version: "1.0.0", URL: "https://charts.example.invalid/stable/web-1.0.0.tgz"}
	_, err = c.Fetch(t.Context(), src, forged, creds)
	mustNotLeak(t, err, "charts.example.invalid", "repository access only to the URLs the spec names")

	other := httptest.NewTLSServer(http.FileServer(http.Dir(r.dir)))
	defer other.Close()
	redirecting := newTLSServer(t, http.RedirectHandler(other.URL+"/index.yaml", http.StatusFound), false)
	_, err = c.Resolve(t.Context(), Source{URL: redirecting.URL + "/charts", Chart: "web"}, redirecting.creds())
	mustNotLeak(t, err, "redirect to "+other.URL+"/index.yaml refused")
}

// TestSourceChecks: only https:// and oci:// URLs, without user information,
// which errors never show.
func TestSourceChecks(t *testing.T) {
	c := newTestClient(t, Options{})
	for _, tc := range []struct {
		src  Source
		want string
	}{
		{Source{URL: "http://charts.example.com", Chart: "web"}, `scheme "http"`},
		{Source{URL: "https://reader:" + testPassword + "@charts.example.com", Chart: "web"}, "user information"},
		{Source{URL: "oci://reader:" + testPassword + "@registry.example.com/charts", Chart: "web"}, "user information"},
		{Source{URL: "https://charts.example.com", Chart: "../web"}, "one path segment"},
		{Source{URL: "https://charts.example.com\x7f", Chart: "web"}, "does not parse"},
	} {
		_, err := c.Resolve(t.Context(), tc.src, Credentials{})
		mustNotLeak(t, err, tc.want)
		_, err = c.Fetch(t.Context(), tc.src, Resolved{Version: "1.0.0", URL: tc.src.URL}, Credentials{})
		mustNotLeak(t, err, tc.want)
	}
}
