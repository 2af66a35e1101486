package chartrepo

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// ociRegistry is go-containerregistry's registry over TLS with basic
// authentication, which the real helm CLI pushes charts to.
type ociRegistry struct {
	helm *helmCLI
	dir  string
	srv  *tlsServer
	url  string
	// tamper makes the registry serve every blob with its last byte changed.
	tamper atomic.Bool
}

func newOCIRegistry(t *testing.T) *ociRegistry {
	t.Helper()
	r := &ociRegistry{helm: newHelm(t), dir: t.TempDir()}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.tamper.Load() || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/blobs/") {
			reg.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if len(body) > 0 {
			body[len(body)-1] ^= 0xff
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}), true)
	r.url = "oci://" + r.srv.host() + "/charts"
	return r
}

// push packages chart at version and pushes it with `helm push`; it returns
// the archive.
func (r *ociRegistry) push(t *testing.T, chart, version string) []byte {
	t.Helper()
	tgz := r.helm.pack(t, r.dir, chart, version)
	r.helm.run(t, "push", tgz, r.url, "--ca-file", r.srv.caFile, "--username", testUser, "--password", testPassword)
	return readFile(t, tgz)
}

func TestOCIRegistry(t *testing.T) {
	r := newOCIRegistry(t)
	tgz100 := r.push(t, "web", "1.0.0")
	c := newTestClient(t, Options{})
	creds := r.srv.creds()
	src := Source{URL: r.url, Chart: "web", Version: "^1.0"}

	res, err := c.Resolve(t.Context(), src, creds)
	if err != nil {
		t.Fatal(err)
	}
	want := Resolved{Version: "1.0.0", Digest: sha(tgz100), URL: "oci://" + r.srv.host() + "/charts/web:1.0.0"}
	if res != want {
		t.Fatalf("Resolve ^1.0 = %+v, want %+v", res, want)
	}
	tgz110 := r.push(t, "web", "1.1.0")
	if res, err = c.Resolve(t.Context(), src, creds); err != nil || res.Version != "1.1.0" || res.Digest != sha(tgz110) {
		t.Fatalf("Resolve ^1.0 after 1.1.0 = %+v, %v; want 1.1.0", res, err)
	}

	blob := "/v2/charts/web/blobs/" + res.Digest
	pushed := r.srv.count(blob) // helm push asks whether the blob exists
	for i := 0; i < 2; i++ {
		data, err := c.Fetch(t.Context(), src, res, creds)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(tgz110) {
			t.Fatal("fetched archive differs from the pushed one")
		}
	}
	if n := r.srv.count(blob) - pushed; n != 1 {
		t.Errorf("%d downloads of the chart layer, want 1", n)
	}

	t.Run("exact version", func(t *testing.T) {
		got, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "1.0.0"}, creds)
		if err != nil || got.Version != "1.0.0" || got.Digest != sha(tgz100) {
			t.Fatalf("Resolve 1.0.0 = %+v, %v", got, err)
		}
	})
	t.Run("build metadata", func(t *testing.T) {
		tgz := r.push(t, "web", "1.2.0+build.7")
		got, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web"}, creds)
		if err != nil || got.Version != "1.2.0+build.7" || got.URL != "oci://"+r.srv.host()+"/charts/web:1.2.0_build.7" {
			t.Fatalf("Resolve \"\" = %+v, %v", got, err)
		}
		data, err := c.Fetch(t.Context(), src, got, creds)
		if err != nil || string(data) != string(tgz) {
			t.Fatalf("Fetch 1.2.0+build.7: %v", err)
		}
	})
	t.Run("no match", func(t *testing.T) {
		_, err := c.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "^3.0"}, creds)
		mustNotLeak(t, err, `"^3.0"`, "chart web", r.url)
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := creds
		bad.Password = []byte(testPassword + "-wrong")
		_, err := c.Resolve(t.Context(), src, bad)
		mustNotLeak(t, err, r.url, "chart web")
		_, err = newTestClient(t, Options{}).Fetch(t.Context(), src, res, bad)
		mustNotLeak(t, err, r.url, "chart web version 1.1.0")
	})
	t.Run("layer too large", func(t *testing.T) {
		small := newTestClient(t, Options{MaxChartBytes: int64(len(tgz110)) - 1})
		_, err := small.Resolve(t.Context(), Source{URL: r.url, Chart: "web", Version: "1.1.0"}, creds)
		mustNotLeak(t, err, "MaxChartBytes is", r.url)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("Resolve: %v is not ErrTooLarge", err)
		}
		// A version resolved under a larger bound is refused as it is read.
		_, err = small.Fetch(t.Context(), src, res, creds)
		mustNotLeak(t, err, "MaxChartBytes is", "chart web version 1.1.0")
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("Fetch: %v is not ErrTooLarge", err)
		}
	})
	t.Run("digest mismatch", func(t *testing.T) {
		r.tamper.Store(true)
		defer r.tamper.Store(false)
		_, err := newTestClient(t, Options{}).Fetch(t.Context(), src, res, creds)
		mustNotLeak(t, err, "chart web version 1.1.0", res.Digest)
	})
	t.Run("unknown digest", func(t *testing.T) {
		forged := res
		forged.Digest = sha([]byte("no such chart"))
		_, err := newTestClient(t, Options{}).Fetch(t.Context(), src, forged, creds)
		mustNotLeak(t, err, "chart web version 1.1.0", forged.Digest)
	})
}
