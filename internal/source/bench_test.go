package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/source/gittest"
)

// BenchmarkSource measures, on a generated repository of 10,000 files and
// 1,000 commits served by git http-backend over local HTTPS, each fetch
// path side by side with the git CLI doing the same work:
//
//	go test -run '^$' -bench BenchmarkSource -benchtime=10x ./internal/source/
//
// peak-heap-MB is the Go heap above its level before the operation;
// peak-rss-MB is the max RSS of the git process tree.
func BenchmarkSource(b *testing.B) {
	srv := gittest.NewHTTPS(b, gittest.HTTPSOptions{Username: "bench", Password: "bench-password"})
	start := time.Now()
	gittest.Generate(b, srv.Root, "big.git", 10_000, 1_000)
	gittest.Git(b, filepath.Join(srv.Root, "big.git"), "repack", "-adq")
	b.Logf("generated 10,000 files x 1,000 commits in %s", time.Since(start).Round(time.Millisecond))
	creds := Credentials{Username: []byte("bench"), Password: []byte("bench-password"), CAFile: srv.CAPEM}
	req := Request{URL: srv.RepoURL("big.git"), Ref: Ref{Branch: "main"}, Credentials: creds}
	cli := newGitCLI(b, srv)

	b.Run("first-fetch/driftless", func(b *testing.B) { benchFirstFetch(b, req) })
	b.Run("first-fetch/git-clone-depth1", func(b *testing.B) { cli.benchClone(b, req.URL) })
	b.Run("no-change/driftless-resolve", func(b *testing.B) { benchResolve(b, req) })
	b.Run("no-change/git-ls-remote", func(b *testing.B) { cli.benchLsRemote(b, req.URL) })
	b.Run("no-change/server-floor-http-get", func(b *testing.B) { benchAdvertisement(b, srv, req.URL) })
	b.Run("no-change/driftless-resolve-static-server", func(b *testing.B) { benchResolveStatic(b, srv, req) })
	b.Run("new-commit/driftless-fetch-only", func(b *testing.B) { benchNewCommit(b, srv, req, false) })
	b.Run("new-commit/git-fetch-depth1", func(b *testing.B) { cli.benchFetch(b, srv, req.URL) })
	b.Run("new-commit/driftless-fetch+checkout", func(b *testing.B) { benchNewCommit(b, srv, req, true) })
}

func benchClient(b *testing.B, cacheDir string) *Client {
	opts := DefaultOptions()
	opts.CacheDir = cacheDir
	c, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchFirstFetch(b *testing.B, req Request) {
	var worst uint64
	for range b.N {
		b.StopTimer()
		tmp := b.TempDir()
		c := benchClient(b, filepath.Join(tmp, "cache"))
		p := startPeak()
		b.StartTimer()
		if _, err := c.Fetch(context.Background(), req, filepath.Join(tmp, "checkout")); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		worst = max(worst, p.stop())
		_ = os.RemoveAll(tmp)
		b.StartTimer()
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MB")
}

func benchResolve(b *testing.B, req Request) {
	c := benchClient(b, b.TempDir())
	if _, err := c.Resolve(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	p := startPeak()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Resolve(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(p.stop())/(1<<20), "peak-heap-MB")
}

// benchAdvertisement is the server's own cost for a ref listing: one plain
// GET of info/refs over a kept-alive connection, no Git client at all.
func benchAdvertisement(b *testing.B, srv *gittest.HTTPSServer, url string) {
	hc := caClient(srv.CAPEM)
	getAdvertisement(b, hc, srv, url)
	b.ResetTimer()
	for range b.N {
		getAdvertisement(b, hc, srv, url)
	}
}

func caClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func getAdvertisement(b *testing.B, hc *http.Client, srv *gittest.HTTPSServer, url string) []byte {
	req, _ := http.NewRequest(http.MethodGet, url+"/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth(srv.Username, srv.Password)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("info/refs: %d %v", resp.StatusCode, err)
	}
	return body
}

// benchResolveStatic measures the client's own cost of a no-change check:
// the advertisement recorded once from http-backend is served from memory,
// so no git process runs per request.
func benchResolveStatic(b *testing.B, srv *gittest.HTTPSServer, req Request) {
	adv := getAdvertisement(b, caClient(srv.CAPEM), srv, req.URL)
	static := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		_, _ = w.Write(adv)
	}))
	defer static.Close()
	req.URL = static.URL + "/big.git"
	req.Credentials.CAFile = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: static.Certificate().Raw})
	benchResolve(b, req)
}

// benchNewCommit pushes one commit per iteration (not timed) and measures
// bringing the warm cache up to it: the shared sync alone, or Fetch with
// the checkout of all 10,000 files.
func benchNewCommit(b *testing.B, srv *gittest.HTTPSServer, req Request, checkout bool) {
	tmp := b.TempDir()
	c := benchClient(b, filepath.Join(tmp, "cache"))
	if _, err := c.Fetch(context.Background(), req, filepath.Join(tmp, "warm")); err != nil {
		b.Fatal(err)
	}
	r, err := c.prepare("fetch", req, true)
	if err != nil {
		b.Fatal(err)
	}
	var worst uint64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		head := gittest.AppendCommit(b, filepath.Join(srv.Root, "big.git"), "main", "new/file.yaml", time.Now().String())
		dir := filepath.Join(tmp, "checkout")
		_ = os.RemoveAll(dir)
		p := startPeak()
		b.StartTimer()
		var got string
		if checkout {
			res, err := c.Fetch(context.Background(), req, dir)
			if err != nil {
				b.Fatal(err)
			}
			got = res.Commit
		} else {
			s, err := c.syncShared(context.Background(), r)
			if err != nil {
				b.Fatal(err)
			}
			got = s.commit.String()
		}
		b.StopTimer()
		worst = max(worst, p.stop())
		if got != head {
			b.Fatalf("iteration %d: fetched %s, want %s", i, got, head)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MB")
}

// gitCLI runs the git CLI against the same server with the same credentials.
type gitCLI struct {
	ca   string
	args []string
}

func newGitCLI(b *testing.B, srv *gittest.HTTPSServer) *gitCLI {
	ca := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(srv.Username + ":" + srv.Password))
	return &gitCLI{ca: ca, args: []string{"-c", "http.extraHeader=Authorization: Basic " + auth}}
}

// run runs git and returns the max RSS of its process tree in bytes.
func (g *gitCLI) run(b *testing.B, dir string, args ...string) uint64 {
	cmd := exec.Command("git", append(append([]string{}, g.args...), args...)...)
	cmd.Dir = dir
	// GIT_SSL_CAINFO, not http.sslCAInfo: the environment's value would win.
	cmd.Env = append(gittest.Env(), "GIT_SSL_CAINFO="+g.ca)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %v: %v: %s", args, err, out)
	}
	return uint64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) * 1024
}

func (g *gitCLI) benchClone(b *testing.B, url string) {
	var worst uint64
	for range b.N {
		b.StopTimer()
		tmp := b.TempDir()
		b.StartTimer()
		worst = max(worst, g.run(b, tmp, "clone", "--quiet", "--depth", "1", "--no-tags", url, "checkout"))
		b.StopTimer()
		_ = os.RemoveAll(tmp)
		b.StartTimer()
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-rss-MB")
}

func (g *gitCLI) benchLsRemote(b *testing.B, url string) {
	dir := b.TempDir()
	var worst uint64
	for range b.N {
		worst = max(worst, g.run(b, dir, "ls-remote", url, "refs/heads/main"))
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-rss-MB")
}

func (g *gitCLI) benchFetch(b *testing.B, srv *gittest.HTTPSServer, url string) {
	tmp := b.TempDir()
	g.run(b, tmp, "clone", "--quiet", "--depth", "1", "--no-tags", "--bare", url, "cache.git")
	cache := filepath.Join(tmp, "cache.git")
	var worst uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		gittest.AppendCommit(b, filepath.Join(srv.Root, "big.git"), "main", "new/file.yaml", time.Now().String())
		b.StartTimer()
		worst = max(worst, g.run(b, cache, "fetch", "--quiet", "--depth", "1", "--no-tags", url,
			"+refs/heads/main:refs/heads/main"))
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-rss-MB")
}

// peak samples the Go heap every millisecond (runtime/metrics does not
// stop the world) and reports its maximum above the level at start.
type peak struct {
	base, max atomic.Uint64
	done      chan struct{}
	stopped   chan struct{}
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startPeak() *peak {
	runtime.GC()
	p := &peak{done: make(chan struct{}), stopped: make(chan struct{})}
	p.base.Store(heapBytes())
	go func() {
		defer close(p.stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > p.max.Load() {
				p.max.Store(h)
			}
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peak) stop() uint64 {
	close(p.done)
	<-p.stopped
	if m, base := p.max.Load(), p.base.Load(); m > base {
		return m - base
	}
	return 0
}
