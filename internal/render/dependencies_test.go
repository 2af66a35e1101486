package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestChartDependenciesAreDownloadedOnce checks that a chart whose
// Chart.lock pins a dependency its charts/ lacks asks ChartDependencies for
// it, renders with the archive given, and is served from the cache after;
// that a failed download is not cached; and that without ChartDependencies
// the render fails naming the dependency.
func TestChartDependenciesAreDownloadedOnce(t *testing.T) {
	const repo = "https://charts.example.com/stable"
	files := tree{
		"chart/Chart.yaml":          "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n- name: web\n  version: ^1.0\n  repository: " + repo + "\n",
		"chart/Chart.lock":          "dependencies:\n- name: web\n  repository: " + repo + "\n  version: 1.2.0\ndigest: sha256:0000000000000000000000000000000000000000000000000000000000000000\ngenerated: \"2026-12-04T00:00:00Z\"\n",
		"chart/templates/shop.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\ndata:\n  a: b\n",
	}
	web := chartArchive(t, map[string]string{
		"web/Chart.yaml":         "apiVersion: v2\nname: web\nversion: 1.2.0\n",
		"web/templates/web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  version: {{ .Chart.Version | quote }}\n",
	})
	for mode, sandbox := range modes(t) {
		t.Run(mode, func(t *testing.T) {
			root := files.write(t)
			var asked [][]ChartDependency
			down := true
			opts := Options{Root: root, Path: "chart", Engine: Helm, Sandbox: sandbox, Cache: NewCache(4), Helm: HelmOptions{ReleaseName: "shop"},
				ChartDependencies: func(_ context.Context, deps []ChartDependency) ([]ChartArchive, error) {
					asked = append(asked, deps)
					if down {
						return nil, errors.New("repository down")
					}
					return []ChartArchive{{Name: "web", Version: "1.2.0", Data: web}}, nil
				}}
			if _, err := Render(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "repository down") {
				t.Fatalf("Render with the repository down: %v", err)
			}
			down = false
			for range 2 {
				objs, err := Render(t.Context(), opts)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, o := range objs {
					got = append(got, o.GetName())
				}
				if slices.Sort(got); !slices.Equal(got, []string{"shop", "web"}) {
					t.Fatalf("objects %v, want the chart's and its dependency's", got)
				}
			}
			want := []ChartDependency{{Name: "web", Version: "1.2.0", Repository: repo}}
			if len(asked) != 2 || !slices.Equal(asked[0], want) || !slices.Equal(asked[1], want) {
				t.Errorf("asked %v, want %v twice: once failing, once more, then the cache", asked, want)
			}

			opts.ChartDependencies, opts.Cache = nil, nil
			_, err := Render(t.Context(), opts)
			if err == nil || !strings.Contains(err.Error(), "web 1.2.0 from "+repo) {
				t.Fatalf("Render without downloads: %v, want the dependency named", err)
			}
		})
	}
}

// chartArchive is a gzipped tar of files.
func chartArchive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
