package helm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/driftless-dev/driftless/internal/reference"
)

// charts is the directory of the corpus's charts.
const charts = "testdata/charts"

// fidelityCase is one render of the corpus, in-process and with the CLI.
type fidelityCase struct {
	name string
	// chart is the chart's directory under charts, "shop" when empty.
	chart string
	opts  Options
	// args are the CLI arguments besides the release, the chart, the
	// namespace and the values files and documents of opts.
	args []string
	// wantErr is part of the error both must fail with, "" for success.
	wantErr string
}

var fidelityCases = []fidelityCase{
	{name: "prod", opts: Options{
		ReleaseName: "web", Namespace: "shop",
		ValuesFiles: []string{"values-prod.yaml", "values-eu.yaml"},
		Values:      map[string]any{"replicaCount": float64(4), "podAnnotations": map[string]any{"team": "shop"}},
	}},
	{name: "staging", opts: Options{
		ReleaseName: "shop-staging", Namespace: "staging", KubeVersion: "v1.30.0",
		ValuesFiles: []string{"values-staging.yaml"},
		ValuesFrom:  []Values{{Name: "Secret/staging key values.yaml", Data: []byte("extraEnv:\n  API_KEY: staging-canary-value\n")}},
	}, args: []string{"--kube-version", "v1.30.0"}},
	{name: "no hooks", opts: Options{
		ReleaseName: "web", Namespace: "shop", DisableHooks: true,
		ValuesFiles: []string{"values-prod.yaml"},
	}, args: []string{"--no-hooks"}},
	{name: "required value missing", opts: Options{ReleaseName: "web", Namespace: "shop"},
		wantErr: "image.tag is required"},
	{name: "fleet", chart: "fleet", opts: Options{ReleaseName: "fleet", Namespace: "fleet", Values: map[string]any{"apps": float64(1200)}}},
}

// TestTemplateMatchesCLI renders the corpus's chart in-process and with the
// reference `helm template`, and requires the same bytes.
func TestTemplateMatchesCLI(t *testing.T) {
	bin := reference.Helm(t)
	fsys, err := reference.OpenDirFS(charts)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	for _, tc := range fidelityCases {
		t.Run(tc.name, func(t *testing.T) {
			want, cliErr := runCLI(t, bin, tc)
			got, err := Template(t.Context(), fsys, tc.chartDir(), tc.opts)
			if tc.wantErr != "" {
				if err == nil || cliErr == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(cliErr.Error(), tc.wantErr) {
					t.Fatalf("want both to fail with %q: got %v; helm: %v", tc.wantErr, err, cliErr)
				}
				return
			}
			if cliErr != nil || err != nil {
				t.Fatalf("helm: %v; Template: %v", cliErr, err)
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
				t.Fatalf("Template differs from helm template after normalising: %s", d)
			}
			t.Errorf("Template equals helm template only after normalising: %s", reference.Diff(string(want), string(got)))
		})
	}
}

// TestArchiveMatchesCLI renders the corpus's chart packaged by the
// reference `helm package`, as a chart repository serves it, with values
// files from the chart's directory beside it, and requires what `helm
// template` prints for the same archive.
func TestArchiveMatchesCLI(t *testing.T) {
	bin := reference.Helm(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := reference.Run(ctx, bin, charts, "package", "shop", "--version", "1.4.2", "--destination", dir); err != nil {
		t.Fatalf("helm package: %v\n%s", err, out)
	}
	tgz := filepath.Join(dir, "shop-1.4.2.tgz")
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	tc := fidelityCases[0]
	tc.opts.Chart = data
	want, err := reference.Run(ctx, bin, charts, "template", tc.opts.ReleaseName, tgz, "--namespace", tc.opts.Namespace, "--include-crds", "--skip-tests",
		"-f", "shop/values-prod.yaml", "-f", "shop/values-eu.yaml", "--set", "replicaCount=4", "--set", "podAnnotations.team=shop")
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	fsys, err := reference.OpenDirFS(charts)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	got, err := Template(t.Context(), fsys, "shop", tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := reference.Diff(string(want), string(got)); d != "" {
		t.Fatalf("Template of the archive differs from helm template: %s", d)
	}
	if !strings.Contains(string(got), "1.4.2") {
		t.Fatalf("the archive's version 1.4.2 is not rendered:\n%s", got)
	}
}

func (tc fidelityCase) chartDir() string {
	if tc.chart == "" {
		return "shop"
	}
	return tc.chart
}

// runCLI runs `helm template` with the case's release, values and arguments;
// inline values and values documents become values files, merged in the
// same order.
func runCLI(t *testing.T, bin string, tc fidelityCase) ([]byte, error) {
	t.Helper()
	args := []string{"template", tc.opts.ReleaseName, tc.chartDir(), "--namespace", tc.opts.Namespace, "--include-crds", "--skip-tests"}
	for _, f := range tc.opts.ValuesFiles {
		args = append(args, "-f", filepath.Join(tc.chartDir(), f))
	}
	tmp := t.TempDir()
	docs := [][]byte{}
	for _, v := range tc.opts.ValuesFrom {
		docs = append(docs, v.Data)
	}
	if tc.opts.Values != nil {
		y, err := yaml.Marshal(tc.opts.Values)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, y)
	}
	for i, d := range docs {
		p := filepath.Join(tmp, "values-"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-f", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return reference.Run(ctx, bin, charts, append(args, tc.args...)...)
}
