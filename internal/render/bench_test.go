package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/reference"
)

// The benchmarks put every in-process render beside its reference CLI on
// the same generated inputs, in the same run, so ratios can be read off:
//
//	go test ./internal/render/ -run '^$' -bench . -benchmem
//	DRIFTLESS_BENCH_LARGE=1 go test ./internal/render/ -run '^$' -bench . -benchmem -timeout 60m
//
// Besides ns/op (wall time), each reports cpu-s/op, the CPU time of the
// process (in-process) or of the child (CLI), which a loaded machine
// disturbs less. The CLIs' allocations cannot be measured from here.

// largeEnv enables the 5,000-object kustomize benchmarks, which take minutes
// (the library's cost grows faster than the number of objects).
const largeEnv = "DRIFTLESS_BENCH_LARGE"

// benchSizes returns the object counts to benchmark an engine at.
func benchSizes(slowAtLarge bool) []int {
	if slowAtLarge && os.Getenv(largeEnv) == "" {
		return []int{100, 1000}
	}
	return []int{100, 1000, 5000}
}

// benchOverlay adds, to the base, a namespace, a name prefix, labels, an
// image tag, a ConfigMap generator and two patches on every Deployment.
const benchOverlay = `namespace: bench
namePrefix: prod-
resources:
- ../base
labels:
- pairs:
    env: prod
    team: shop
images:
- name: registry.example.com/app
  newTag: "2.0.0"
configMapGenerator:
- name: settings
  literals:
  - LOG_LEVEL=info
  - REGION=eu-west
patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          containers:
          - name: app
            resources:
              limits:
                memory: 256Mi
- target:
    kind: Deployment
  patch: |-
    - op: add
      path: /metadata/annotations
      value:
        rollout: canary
`

// benchTemplate renders the same objects as the overlay, from a range.
const benchTemplate = `{{- range $i := until (int .Values.pairs) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prod-app-{{ $i }}
  namespace: {{ $.Values.namespace }}
  labels: {env: prod, team: shop, app: app-{{ $i }}}
  annotations: {rollout: canary}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-{{ $i }}, env: prod, team: shop}
  template:
    metadata:
      labels: {app: app-{{ $i }}, env: prod, team: shop}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:{{ $.Values.tag }}
        resources: {limits: {memory: 256Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: prod-app-{{ $i }}
  namespace: {{ $.Values.namespace }}
  labels: {env: prod, team: shop, app: app-{{ $i }}}
spec:
  selector: {app: app-{{ $i }}, env: prod, team: shop}
  ports:
  - port: 80
    targetPort: 8080
{{- end }}
`

// writeBenchInputs writes, for n objects, a kustomize base of n/2
// Deployment and Service pairs (one file per pair) with an overlay adding a
// namespace, a name prefix, labels, an image tag, a ConfigMap generator and
// two patches on every Deployment; and a chart ranging over the same pairs.
func writeBenchInputs(b *testing.B, n int) string {
	b.Helper()
	files := tree{
		"overlay/kustomization.yaml": kust(benchOverlay),
		"chart/Chart.yaml":           chartYAML,
		"chart/values.yaml":          fmt.Sprintf("pairs: %d\nnamespace: bench\ntag: \"2.0.0\"\n", n/2),
		"chart/templates/app.yaml":   benchTemplate,
	}
	var res strings.Builder
	res.WriteString("resources:\n")
	for i := 0; i < n/2; i++ {
		name := fmt.Sprintf("app-%d", i)
		files["base/"+name+".yaml"] = benchPair(name)
		res.WriteString("- " + name + ".yaml\n")
	}
	files["base/kustomization.yaml"] = kust(res.String())
	dir := b.TempDir()
	files.writeIn(b, dir)
	return dir
}

func benchPair(name string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  replicas: 2
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:1.0.0
        envFrom:
        - configMapRef: {name: settings}
---
apiVersion: v1
kind: Service
metadata:
  name: ` + name + `
spec:
  selector: {app: ` + name + `}
  ports:
  - port: 80
    targetPort: 8080
`
}

// BenchmarkKustomize renders the overlay in-process (Render, no cache) and
// with `kustomize build`, side by side. Set DRIFTLESS_BENCH_LARGE=1 for
// 5,000 objects (minutes per run).
func BenchmarkKustomize(b *testing.B) {
	for _, n := range benchSizes(true) {
		dir := writeBenchInputs(b, n)
		b.Run(fmt.Sprintf("objects=%d/in-process", n), func(b *testing.B) {
			benchRender(b, Options{Root: dir, Path: "overlay", Engine: Kustomize}, n)
		})
		b.Run(fmt.Sprintf("objects=%d/cli", n), func(b *testing.B) {
			benchCLI(b, reference.Kustomize(b), dir, "build", "overlay")
		})
	}
}

// BenchmarkHelm renders the chart in-process (Render, no cache) and with
// `helm template`, side by side.
func BenchmarkHelm(b *testing.B) {
	for _, n := range benchSizes(false) {
		dir := writeBenchInputs(b, n)
		b.Run(fmt.Sprintf("objects=%d/in-process", n), func(b *testing.B) {
			benchRender(b, Options{Root: dir, Path: "chart", Engine: Helm, Helm: HelmOptions{ReleaseName: "bench", Namespace: "bench"}}, n)
		})
		b.Run(fmt.Sprintf("objects=%d/cli", n), func(b *testing.B) {
			benchCLI(b, reference.Helm(b), dir, "template", "bench", "chart", "--namespace", "bench")
		})
	}
}

// BenchmarkCached is the cost of a render whose inputs did not change: the
// cache re-reads and hashes the files the render read, and copies the objects.
func BenchmarkCached(b *testing.B) {
	for _, n := range benchSizes(true) {
		dir := writeBenchInputs(b, n)
		for _, opts := range []Options{
			{Root: dir, Path: "overlay", Engine: Kustomize},
			{Root: dir, Path: "chart", Engine: Helm, Helm: HelmOptions{ReleaseName: "bench", Namespace: "bench"}},
		} {
			opts.Cache = NewCache(4)
			b.Run(fmt.Sprintf("%s/objects=%d", opts.Engine, n), func(b *testing.B) {
				if _, err := Render(context.Background(), opts); err != nil {
					b.Fatal(err)
				}
				benchRender(b, opts, n)
				if st := opts.Cache.Stats(); st.Misses != 1 {
					b.Fatalf("stats %+v: want every timed render from the cache", st)
				}
			})
		}
	}
}

// benchRender renders in-process. Besides the wall time it reports the CPU
// time of the process per render, which a loaded machine disturbs less.
func benchRender(b *testing.B, opts Options, n int) {
	benchRenders(b, opts, n, nil)
}

// benchRenders is benchRender with before, if set, run ahead of each
// render, off the clock.
func benchRenders(b *testing.B, opts Options, n int, before func()) {
	b.ReportAllocs()
	start := cpuTime(syscall.RUSAGE_SELF)
	for b.Loop() {
		if before != nil {
			b.StopTimer()
			before()
			b.StartTimer()
		}
		objs, err := Render(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) < n {
			b.Fatalf("rendered %d objects, want at least %d", len(objs), n)
		}
	}
	b.ReportMetric((cpuTime(syscall.RUSAGE_SELF)-start).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime returns the user and system time of who (RUSAGE_SELF or
// RUSAGE_CHILDREN).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCLI runs a CLI and reports its CPU time besides the wall time. (Its
// allocations cannot be counted from here, and the peak memory the kernel
// reports for a child includes the parent's at fork, so neither is.)
func benchCLI(b *testing.B, bin, dir string, args ...string) {
	var cpu time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		cmd := commandIn(ctx, bin, dir, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			cancel()
			b.Fatalf("%s: %v: %s", filepath.Base(bin), err, out[:min(len(out), 500)])
		}
		cancel()
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkSandbox is the price of rendering in a child process: each
// engine at 20 and 1,000 objects in-process and sandboxed, side by side, no
// cache. The child's CPU time is reported as cpu-s/op beside the process's.
// "sandboxed" renders back to back, each in a child started for it (the
// spare is never ready in time); "spare" waits off the clock for the spare
// child, as a render does that comes seconds after the last one.
func BenchmarkSandbox(b *testing.B) {
	sandbox := testSandbox(b, time.Minute, time.Minute, 1<<30)
	for _, n := range []int{20, 1000} {
		dir := writeBenchInputs(b, n)
		for _, opts := range []Options{
			{Root: dir, Path: "overlay", Engine: Kustomize},
			{Root: dir, Path: "chart", Engine: Helm, Helm: HelmOptions{ReleaseName: "bench", Namespace: "bench"}},
		} {
			b.Run(fmt.Sprintf("%s/objects=%d/in-process", opts.Engine, n), func(b *testing.B) {
				benchRender(b, opts, n)
			})
			opts.Sandbox = sandbox
			for _, mode := range []struct {
				name   string
				before func()
			}{{"sandboxed", nil}, {"spare", func() { waitSpare(b, sandbox) }}} {
				b.Run(fmt.Sprintf("%s/objects=%d/%s", opts.Engine, n, mode.name), func(b *testing.B) {
					if _, err := Render(b.Context(), opts); err != nil { // one render starts the first spare
						b.Fatal(err)
					}
					children := cpuTime(syscall.RUSAGE_CHILDREN)
					benchRenders(b, opts, n, mode.before)
					b.ReportMetric((cpuTime(syscall.RUSAGE_CHILDREN)-children).Seconds()/float64(b.N), "child-cpu-s/op")
				})
			}
		}
	}
}
