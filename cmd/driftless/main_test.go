package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/driftless-dev/driftless/internal/localcluster"
	"github.com/driftless-dev/driftless/internal/render"
)

// update rewrites the golden files with what the commands print now.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// The API server and client every test of the package shares: commands
// run against the real thing, through the kubeconfig the cluster wrote.
var (
	cluster *localcluster.Cluster
	k8s     client.Client
)

func TestMain(m *testing.M) {
	render.MaybeServeSandbox() // the CLI under test renders through this binary
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	log.SetLogger(logr.Discard())
	ctx := context.Background()
	opts := localcluster.DefaultOptions()
	opts.Workloads = false // AppSources and ConfigMaps need no pods
	var err error
	if cluster, err = localcluster.Start(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "start the API server:", err)
		return 1
	}
	defer cluster.Stop()
	if err := cluster.InstallCRDs(ctx, "../../config/crd"); err != nil {
		fmt.Fprintln(os.Stderr, "install the CRDs:", err)
		return 1
	}
	if k8s, err = client.New(cluster.RESTConfig(), client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// result is what one command line printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// driftless runs a command line against the test cluster.
func driftless(t testing.TB, args ...string) result {
	t.Helper()
	return runCLI(t.Context(), append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
}

// runCLI runs a command line in process, as main does.
func runCLI(ctx context.Context, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, "driftless", args, &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// must fails the test unless the command exited with code.
func (r result) must(t testing.TB, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// normalize replaces what differs between runs (namespaces, commits,
// temporary directories) with stable names, for golden files.
func normalize(s string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(s)
}

// syncBuffer is a buffer a command writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
