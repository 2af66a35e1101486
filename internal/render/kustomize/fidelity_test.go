package kustomize

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/driftless-dev/driftless/internal/reference"
)

// corpus is the directory of kustomizations the fidelity tests build, each
// directory relative to it.
const corpus = "testdata/corpus"

var corpusDirs = []string{
	"webapp/base",
	"webapp/overlays/dev",
	"webapp/overlays/staging",
	"webapp/overlays/prod",
	"webapp/overlays/debug",
	"shop",
	"shop/frontend",
}

// TestBuildMatchesCLI builds every kustomization of the corpus in-process and
// with the reference `kustomize build`, and requires the same bytes.
func TestBuildMatchesCLI(t *testing.T) {
	bin := reference.Kustomize(t)
	fsys := openFS(t, corpus)
	for _, dir := range corpusDirs {
		t.Run(dir, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want, err := reference.Run(ctx, bin, corpus, "build", "--load-restrictor", "LoadRestrictionsNone", dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build(fsys, dir)
			if err != nil {
				t.Fatalf("Build(%s): %v", dir, err)
			}
			if bytes.Equal(got, want) {
				return
			}
			wantN, err1 := reference.Normalize(want)
			gotN, err2 := reference.Normalize(got)
			if err1 != nil || err2 != nil {
				t.Fatalf("normalize: %v, %v", err1, err2)
			}
			if d := reference.Diff(wantN, gotN); d != "" {
				t.Fatalf("Build(%s) differs from kustomize build after normalising: %s", dir, d)
			}
			t.Errorf("Build(%s) equals kustomize build only after normalising: %s", dir, reference.Diff(string(want), string(got)))
		})
	}
}

func openFS(t testing.TB, dir string) FS {
	t.Helper()
	fsys, err := reference.OpenDirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}
