package render

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/reference"
	"github.com/driftless-dev/driftless/internal/render/helm/chartrepo"
)

// BenchmarkRepositoryChart renders a chart of an HTTPS Helm repository
// (the corpus's shop chart, packaged and indexed by the reference helm
// CLI, served on loopback) as a reconcile does: Resolve against index.yaml,
// Fetch the archive, render in the sandbox with the values file of the
// checkout. Each loop times, in the same run:
//
//   - first: a cold manager, with an empty chart cache and render cache:
//     the index, the download and a sandboxed render;
//   - cached: the same inputs again: the index, the archive from the disk
//     cache, the render from the render cache;
//   - helm-template: `helm template shop --repo URL --version 1.4.2 -f
//     values`, which also reads the index and downloads the chart.
//
// It reports the medians and their ratios to helm template's, and the
// downloads of the archive when 10 renders (10 AppSources on the same chart)
// start at once from a cold cache: one per chart version is the target.
//
//	go test ./internal/render/ -run '^$' -bench RepositoryChart -benchtime 20x
func BenchmarkRepositoryChart(b *testing.B) {
	helmBin := reference.Helm(b)
	dir := b.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	repo := filepath.Join(dir, "repo")
	if out, err := reference.Run(ctx, helmBin, "helm/testdata/charts", "package", "shop", "--version", "1.4.2", "--destination", repo); err != nil {
		b.Fatalf("helm package: %v\n%s", err, out)
	}
	var downloads atomic.Int64
	files := http.FileServer(http.Dir(repo))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			downloads.Add(1)
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if out, err := reference.Run(ctx, helmBin, repo, "repo", "index", ".", "--url", srv.URL); err != nil {
		b.Fatalf("helm repo index: %v\n%s", err, out)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caFile := filepath.Join(dir, "ca.pem")
	root := filepath.Join(dir, "checkout")
	values, err := os.ReadFile("helm/testdata/charts/shop/values-prod.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for name, data := range map[string][]byte{caFile: ca, filepath.Join(root, "values-prod.yaml"): values} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	src := chartrepo.Source{URL: srv.URL, Chart: "shop", Version: "^1.4"}
	creds := chartrepo.Credentials{CA: ca}
	sandbox := testSandbox(b, time.Minute, time.Minute, 1<<30)
	render := func(c *chartrepo.Client, cache *Cache) {
		res, err := c.Resolve(b.Context(), src, creds)
		if err != nil {
			b.Fatal(err)
		}
		archive, err := c.Fetch(b.Context(), src, res, creds)
		if err != nil {
			b.Fatal(err)
		}
		objs, err := Render(b.Context(), Options{Root: root, Engine: Helm, Sandbox: sandbox, Cache: cache,
			Helm: HelmOptions{ReleaseName: "web", Namespace: "shop", ValuesFiles: []string{"values-prod.yaml"}, Chart: archive}})
		if err != nil || len(objs) == 0 {
			b.Fatalf("render: %d objects, %v", len(objs), err)
		}
	}
	cold := func() *chartrepo.Client {
		c, err := chartrepo.NewClient(chartrepo.Options{CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	warm, warmCache := cold(), NewCache(4)
	render(warm, warmCache)

	var first, cached, cli []time.Duration
	for b.Loop() {
		start := time.Now()
		render(cold(), NewCache(4))
		first = append(first, time.Since(start))

		start = time.Now()
		render(warm, warmCache)
		cached = append(cached, time.Since(start))

		start = time.Now()
		if out, err := reference.Run(ctx, helmBin, root, "template", "web", "shop", "--repo", srv.URL, "--version", "^1.4", "--ca-file", caFile,
			"--namespace", "shop", "-f", "values-prod.yaml", "--include-crds", "--skip-tests"); err != nil {
			b.Fatalf("helm template: %v\n%s", err, out)
		}
		cli = append(cli, time.Since(start))
	}

	// Ten AppSources on the same chart version, from a cold cache.
	before := downloads.Load()
	c, cache := cold(), NewCache(4)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { render(c, cache) })
	}
	wg.Wait()

	median := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2].Seconds() * 1000
	}
	b.ReportMetric(median(first), "first-ms")
	b.ReportMetric(median(cached), "cached-ms")
	b.ReportMetric(median(cli), "helm-template-ms")
	b.ReportMetric(median(first)/median(cli), "first/helm-template")
	b.ReportMetric(median(cached)/median(cli), "cached/helm-template")
	b.ReportMetric(float64(downloads.Load()-before), "downloads/10-renders")
}
