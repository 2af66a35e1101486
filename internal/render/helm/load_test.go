package helm

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestLoadChartRefusesArchives checks archives in charts/ before Helm opens
// them (RELIABILITY S3, L4).
func TestLoadChartRefusesArchives(t *testing.T) {
	sub := func(name string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: name}, data: []byte("apiVersion: v2\nname: sub\nversion: 0.1.0\n")}
	}
	bomb := bytes.Repeat([]byte("a"), 4<<20)
	tests := []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"symlink entry", []tarEntry{sub("sub/Chart.yaml"), {hdr: tar.Header{Name: "sub/values.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}},
			"is not a regular file"},
		{"parent entry", []tarEntry{sub("sub/Chart.yaml"), {hdr: tar.Header{Name: "../../evil.yaml"}, data: []byte("x: 1\n")}},
			"is outside the archive"},
		{"absolute entry", []tarEntry{sub("sub/Chart.yaml"), {hdr: tar.Header{Name: "/etc/evil.yaml"}, data: []byte("x: 1\n")}},
			"is outside the archive"},
		{"compression bomb", []tarEntry{sub("sub/Chart.yaml"), {hdr: tar.Header{Name: "sub/big.txt"}, data: bomb}},
			ErrChartTooLarge.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, minimalChart(map[string]string{"chart/charts/sub-0.1.0.tgz": string(archive(t, tt.entries...))}))
			_, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r", MaxChartBytes: 1 << 20})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Template: got %v, want an error containing %q", err, tt.want)
			}
		})
		// The same archive given as the chart itself, as a chart
		// repository serves it.
		t.Run(tt.name+" as the chart", func(t *testing.T) {
			opts := Options{ReleaseName: "r", MaxChartBytes: 1 << 20, Chart: archive(t, tt.entries...)}
			_, err := Template(t.Context(), openFS(t, t.TempDir()), ".", opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Template: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestLoadChartBoundsFiles checks MaxChartBytes counts the chart's own files.
func TestLoadChartBoundsFiles(t *testing.T) {
	dir := writeTree(t, minimalChart(map[string]string{"chart/files/big.txt": strings.Repeat("x", 2048)}))
	_, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r", MaxChartBytes: 1024})
	if !errors.Is(err, ErrChartTooLarge) {
		t.Fatalf("Template: got %v, want ErrChartTooLarge", err)
	}
	if _, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r", MaxChartBytes: 8192}); err != nil {
		t.Fatalf("Template within the limit: %v", err)
	}
}

// TestLoadChartHonoursHelmignore checks an ignored template is not rendered.
func TestLoadChartHonoursHelmignore(t *testing.T) {
	dir := writeTree(t, minimalChart(map[string]string{
		"chart/.helmignore":           "*.bak\n",
		"chart/templates/broken.bak":  "{{ this does not parse",
		"chart/templates/.hidden.yml": "{{ neither does this",
	}))
	out, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r"})
	if err != nil || !strings.Contains(string(out), "greeting: \"hello\"") {
		t.Fatalf("Template = %s, %v", out, err)
	}
}

// TestTemplateRefusesMissingDependency checks dependencies are never
// fetched: a dependency charts/ lacks is an error naming it; one of a
// repository that Chart.lock pins is NeedsDependencies, for the caller to
// download; without a lock, or with one out of sync, it is an error saying so.
func TestTemplateRefusesMissingDependency(t *testing.T) {
	const lock = "dependencies:\n- name: redis\n  repository: https://charts.example.com\n  version: 1.0.3\ndigest: sha256:00\ngenerated: \"2026-12-04T00:00:00Z\"\n"
	deps := func(version, repository string) string {
		return "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: " + version + "\n  repository: " + repository + "\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"beside the chart", map[string]string{"chart/Chart.yaml": deps("1.0.0", "file://../redis")}, "missing in charts/ directory: redis"},
		{"no lock", map[string]string{"chart/Chart.yaml": deps("^1.0", "https://charts.example.com")}, "no Chart.lock pins its version"},
		{"lock out of sync", map[string]string{"chart/Chart.yaml": deps("^2.0", "https://charts.example.com"), "chart/Chart.lock": lock}, "pins 1.0.3, which \"^2.0\" does not allow"},
		{"another repository", map[string]string{"chart/Chart.yaml": deps("^1.0", "https://other.example.com"), "chart/Chart.lock": lock}, "it pins no version of it"},
		{"locked", map[string]string{"chart/Chart.yaml": deps("^1.0", "https://charts.example.com/"), "chart/Chart.lock": lock}, "redis 1.0.3 from https://charts.example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, minimalChart(tt.files))
			_, err := Template(t.Context(), openFS(t, dir), "chart", Options{ReleaseName: "r"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Template: got %v, want an error containing %q", err, tt.want)
			}
			var needs *NeedsDependencies
			if errors.As(err, &needs) != (tt.name == "locked") {
				t.Errorf("Template: %T, NeedsDependencies only when locked", err)
			}
		})
	}
}
