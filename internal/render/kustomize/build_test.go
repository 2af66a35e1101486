package kustomize

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/reference"
)

// TestBuildIsolatesOpenAPISchema builds, many times at once, a kustomization
// that sets a custom OpenAPI schema (which makes a strategic merge patch merge
// a list) beside one that does not (the same patch replaces the list), and
// requires each to give what it gives alone: kustomize's process-wide schema
// must not leak from one build into another (fluxcd/pkg 79bd990).
func TestBuildIsolatesOpenAPISchema(t *testing.T) {
	fsys := openFS(t, "testdata/openapi")
	alone := map[string][]byte{}
	for _, dir := range []string{"custom", "default"} {
		out, err := Build(fsys, dir)
		if err != nil {
			t.Fatalf("Build(%s): %v", dir, err)
		}
		alone[dir] = out
	}
	if !strings.Contains(string(alone["custom"]), "name: compile") || strings.Contains(string(alone["default"]), "name: compile") {
		t.Fatalf("the custom schema does not change the build:\ncustom:\n%s\ndefault:\n%s", alone["custom"], alone["default"])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := 0; i < 20; i++ {
		for _, dir := range []string{"custom", "default"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := Build(fsys, dir)
				if err != nil || !bytes.Equal(out, alone[dir]) {
					errs <- dir + ": " + string(out) + errString(err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a concurrent build differs from the build alone: %s", e)
	}
}

// TestBuildCustomSchemaMatchesCLI checks the custom schema build against the
// reference CLI too.
func TestBuildCustomSchemaMatchesCLI(t *testing.T) {
	bin := reference.Kustomize(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, dir := range []string{"custom", "default"} {
		want, err := reference.Run(ctx, bin, "testdata/openapi", "build", dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Build(openFS(t, "testdata/openapi"), dir)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Build(%s) = %s, %v; kustomize build gives %s", dir, got, err, want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

func TestRelativeError(t *testing.T) {
	for in, want := range map[string]string{
		"must build at directory: '/checkout/apps/checkout/base': x": "must build at directory: 'apps/checkout/base': x",
		"/checkout/a/kustomization.yaml: bad":                        "a/kustomization.yaml: bad",
		"root is /checkout":                                          "root is .",
		"(/checkout/x) and [/checkout/y]":                            "(x) and [y]",
		"/checkoutx/y is not ours":                                   "/checkoutx/y is not ours",
	} {
		if got := relativeError(errors.New(in)).Error(); got != want {
			t.Errorf("relativeError(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCLIVersionMatchesGoMod checks cliVersion is the CLI hack/kustomize
// builds, and that it is built from the api version of the project's go.mod.
func TestCLIVersionMatchesGoMod(t *testing.T) {
	root, err := reference.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	hack, err1 := os.ReadFile(filepath.Join(root, "hack", "kustomize", "go.mod"))
	main, err2 := os.ReadFile(filepath.Join(root, "go.mod"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !strings.Contains(string(hack), "sigs.k8s.io/kustomize/kustomize/v5 "+cliVersion) {
		t.Fatalf("hack/kustomize/go.mod does not build kustomize %s", cliVersion)
	}
	for _, line := range strings.Split(string(main), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "sigs.k8s.io/kustomize/api" && !strings.Contains(string(hack), "sigs.k8s.io/kustomize/api "+f[1]) {
			t.Fatalf("go.mod has api %s, hack/kustomize/go.mod another", f[1])
		}
	}
}
