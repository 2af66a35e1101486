// Package reference runs the reference CLIs (kustomize, helm, sops,
// promtool) that the fidelity tests and benchmarks compare with. The CLIs
// are built from the Go module proxy by hack/build-tools.sh into bin/tools/
// (ignored by Git) the first time a test asks for them (`make test` builds
// them before any test starts); a test that cannot get them fails with the
// reason, so a run is never green without fidelity coverage.
package reference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds the first build of a CLI (a few minutes for helm).
const buildTimeout = 20 * time.Minute

var (
	mu    sync.Mutex
	built = map[string]result{}
)

type result struct {
	path string
	err  error
}

// Kustomize returns the path of the reference kustomize CLI.
func Kustomize(tb testing.TB) string { return Tool(tb, "kustomize") }

// Helm returns the path of the reference helm CLI.
func Helm(tb testing.TB) string { return Tool(tb, "helm") }

// Tool returns the path of the reference CLI name, one that
// hack/build-tools.sh knows.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	mu.Lock()
	r, ok := built[name]
	if !ok {
		r.path, r.err = build(name)
		built[name] = r
	}
	mu.Unlock()
	if r.err != nil {
		tb.Fatalf("the reference %s CLI could not be built: %v", name, r.err)
	}
	return r.path
}

// build runs hack/build-tools.sh, which reuses a binary already built.
func build(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "build-tools.sh"), name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-tools.sh %s: %w: %s", name, err, lastLines(stderr.String(), 5))
	}
	return strings.TrimSpace(string(out)), nil
}

// RepoRoot returns the repository's root: the nearest folder above the
// working directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Run runs a CLI in dir with an empty home and no cluster configuration, and
// returns its standard output; a failure's error holds its standard error.
func Run(ctx context.Context, bin, dir string, args ...string) ([]byte, error) {
	home, err := os.MkdirTemp("", "reference-home-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home, "XDG_DATA_HOME=" + home,
		"KUBECONFIG=" + filepath.Join(home, "kubeconfig"), "PATH=" + os.Getenv("PATH"),
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, lastLines(stderr.String(), 10))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
