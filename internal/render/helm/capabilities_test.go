package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftless-dev/driftless/internal/reference"
)

// TestCapabilities checks .Capabilities: Helm's offline defaults, or exactly
// the cluster's versions when given.
func TestCapabilities(t *testing.T) {
	dir := writeTree(t, minimalChart(map[string]string{
		"chart/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n" +
			"  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n" +
			"  hpa: {{ .Capabilities.APIVersions.Has \"autoscaling/v2\" | quote }}\n" +
			"  widget: {{ .Capabilities.APIVersions.Has \"shop.example.com/v1/Widget\" | quote }}\n" +
			"  helm: {{ .Capabilities.HelmVersion.Version | quote }}\n",
	}))
	fsys := openFS(t, dir)
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"offline", Options{}, []string{`kube: "` + DefaultKubeVersion + `"`, `hpa: "true"`, `widget: "false"`, `helm: "v4.3.2"`}},
		{"cluster", Options{KubeVersion: "v1.31.4", APIVersions: []string{"v1", "apps/v1", "shop.example.com/v1/Widget"}},
			[]string{`kube: "v1.31.4"`, `hpa: "false"`, `widget: "true"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ReleaseName = "r"
			out, err := Template(t.Context(), fsys, "chart", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
		})
	}
}

// TestHelmVersionMatchesGoMod checks helmVersion is the version in go.mod.
func TestHelmVersionMatchesGoMod(t *testing.T) {
	root, err := reference.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "helm.sh/helm/v4 " + helmVersion; !strings.Contains(string(data), want) {
		t.Fatalf("go.mod does not require %s: update helmVersion", want)
	}
}
