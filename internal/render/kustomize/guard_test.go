package kustomize

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (name → contents) under a new temporary directory.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"

// TestGuardRefusesReferences builds kustomizations whose references must be
// refused before kustomize acts on them, and checks the error names the
// file, the line and the reference.
func TestGuardRefusesReferences(t *testing.T) {
	k := "overlays/prod/kustomization.yaml"
	tests := []struct {
		name string
		kust string
		want string
		is   error
	}{
		{"missing resource", "resources:\n- ../../base\n- ../../missing\n",
			k + ":3: resource ../../missing: no such file or directory", ErrNotFound},
		{"https resource", "resources:\n- https://example.com/app.yaml\n",
			k + ":2: resource https://example.com/app.yaml: remote", ErrRemote},
		{"git base", "resources:\n- github.com/org/repo//deploy?ref=v1\n",
			k + ":2: resource github.com/org/repo//deploy?ref=v1: remote", ErrRemote},
		{"scp base", "resources:\n- git@github.com:org/repo.git\n", k + ":2: resource git@github.com:org/repo.git: remote", ErrRemote},
		{"forced git", "components:\n- GIT::ssh://host/repo\n", k + ":2: component GIT::ssh://host/repo: remote", ErrRemote},
		{"absolute resource", "resources:\n- /etc/kubernetes\n", k + ":2: resource /etc/kubernetes: absolute", ErrAbsolute},
		{"generator file absolute", "configMapGenerator:\n- name: env\n  files:\n  - env=/proc/self/environ\n",
			k + ":4: file /proc/self/environ: absolute", ErrAbsolute},
		{"generator env remote", "secretGenerator:\n- name: s\n  envs:\n  - http://10.0.0.1/env\n",
			k + ":4: env file http://10.0.0.1/env: remote", ErrRemote},
		{"patch remote", "resources:\n- ../../base\npatches:\n- path: https://example.com/p.yaml\n",
			k + ":4: patch https://example.com/p.yaml: remote", ErrRemote},
		{"replacement missing", "resources:\n- ../../base\nreplacements:\n- path: r.yaml\n",
			k + ":4: replacement r.yaml: no such file", ErrNotFound},
		{"helm charts", "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n", k + ":1: helmCharts: helm chart inflation", ErrHelmCharts},
		{"inline helm generator", "generators:\n- |\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n  metadata: {name: x}\n  chartName: x\n",
			k + ":2: generator HelmChartInflationGenerator: helm chart inflation", ErrHelmCharts},
		{"transformer file with remote patch", "resources:\n- ../../base\ntransformers:\n- patch.yaml\n",
			"overlays/prod/patch.yaml:4: path https://example.com/p.yaml: remote", ErrRemote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{
				"base/kustomization.yaml":  "resources:\n- cm.yaml\n",
				"base/cm.yaml":             configMap,
				k:                          tt.kust,
				"overlays/prod/patch.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: https://example.com/p.yaml\n",
			})
			_, err := Build(openFS(t, dir), "overlays/prod")
			var ref *RefError
			if !errors.As(err, &ref) || !errors.Is(err, tt.is) {
				t.Fatalf("Build: got %v, want a *RefError wrapping %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Build: got %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

// TestBuildRefusesExecPlugins checks that a transformer that is not builtin
// (an exec plugin, a KRM function) is refused by kustomize itself.
func TestBuildRefusesExecPlugins(t *testing.T) {
	for name, plugin := range map[string]string{
		"legacy exec": "apiVersion: someteam.example.com/v1\nkind: Marker\nmetadata: {name: m}\n",
		"krm exec": "apiVersion: example.com/v1\nkind: Marker\nmetadata:\n  name: m\n  annotations:\n" +
			"    config.kubernetes.io/function: |\n      exec:\n        path: ./marker.sh\n",
		"krm container": "apiVersion: example.com/v1\nkind: Marker\nmetadata:\n  name: m\n  annotations:\n" +
			"    config.kubernetes.io/function: |\n      container:\n        image: example.com/marker:1\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{
				"kustomization.yaml": "resources:\n- cm.yaml\ntransformers:\n- plugin.yaml\n",
				"cm.yaml":            configMap,
				"plugin.yaml":        plugin,
			})
			_, err := Build(openFS(t, dir), ".")
			if err == nil || !strings.Contains(err.Error(), "external plugins disabled") {
				t.Fatalf("Build: got %v, want an error refusing the plugin", err)
			}
		})
	}
}

// TestBuildErrorsAreRelative checks kustomize's own errors name paths
// relative to the checkout, not the virtual root.
func TestBuildErrorsAreRelative(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n- cm.yaml\n",
		"app/cm.yaml":            configMap,
	})
	_, err := Build(openFS(t, dir), "app")
	if err == nil || strings.Contains(err.Error(), vroot) {
		t.Fatalf("Build: got %v, want an error without %s", err, vroot)
	}
}
