package render

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/errors.golden")

// canary is planted in every file outside the checkout and every secret: no
// error may ever contain it (DESIGN rule 3).
const canary = "canary-e1f0a7"

// errorCase is a render that must fail with a reason; its message is kept
// in testdata/errors.golden.
type errorCase struct {
	name   string
	files  tree
	opts   Options
	reason Reason
}

// outsideFiles are written beside the checkout, in "../outside".
var outsideFiles = tree{
	"outside/secret.yaml":               "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: " + canary + "}\n",
	"outside/values.yaml":               "password: " + canary + "\n",
	"outside/dir/cm.yaml":               cmA,
	"outside/kustom/kustomization.yaml": "resources: [cm.yaml]\n",
	"outside/kustom/cm.yaml":            cmA,
}

const (
	chartYAML = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
	chartCM   = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: {{ .Values.v | quote }}\n"
)

func kust(body string) string {
	return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + body
}

// securityCases are RELIABILITY S1 to S5: every way out of the checkout.
var securityCases = []errorCase{
	// S2: committed symbolic links, in a plain directory.
	{"plain link absolute", tree{"app/a.yaml@": "/etc/hostname"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"plain link up", tree{"app/a.yaml@": "../../outside/secret.yaml"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"plain link chain", tree{"app/a.yaml@": "../l1", "l1@": "l2", "l2@": "../outside/secret.yaml"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"plain link proc", tree{"app/a.yaml@": "/proc/self/environ"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"plain dir link", tree{"app/a.yaml": cmA, "app/sub@": "../../outside/dir"}, Options{Path: "app"}, SymlinkOutOfBounds},
	// S1: the path itself.
	{"path link out", tree{"app@": "../outside/dir"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"path up", tree{"app/a.yaml": cmA}, Options{Path: "../outside/dir"}, PathOutOfBounds},
	// S4: kustomize references.
	{"kustomize resource up", tree{"app/kustomization.yaml": kust("resources:\n- ../../outside/dir/cm.yaml\n")}, Options{Path: "app"}, PathOutOfBounds},
	{"kustomize base up", tree{"app/kustomization.yaml": kust("resources:\n- ../../outside/kustom\n")}, Options{Path: "app"}, PathOutOfBounds},
	{"kustomize resource link", tree{"app/kustomization.yaml": kust("resources:\n- cm.yaml\n"), "app/cm.yaml@": "../../outside/secret.yaml"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"kustomize base link", tree{"app/kustomization.yaml": kust("resources:\n- base\n"), "app/base@": "../../outside/kustom"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"kustomization link", tree{"app/kustomization.yaml@": "../../outside/kustom/kustomization.yaml"}, Options{Path: "app"}, SymlinkOutOfBounds},
	{"kustomize generator proc", tree{"app/kustomization.yaml": kust("configMapGenerator:\n- name: env\n  files:\n  - /proc/self/environ\n")}, Options{Path: "app"}, PathOutOfBounds},
	{"kustomize generator up", tree{"app/kustomization.yaml": kust("secretGenerator:\n- name: s\n  files:\n  - ../../outside/values.yaml\n")}, Options{Path: "app"}, PathOutOfBounds},
	{"kustomize patch link", tree{"app/kustomization.yaml": kust("resources: [cm.yaml]\npatches:\n- path: p.yaml\n"), "app/cm.yaml": cmA, "app/p.yaml@": "/etc/passwd"}, Options{Path: "app"}, SymlinkOutOfBounds},
	// S3: Helm values and chart files.
	{"helm values file up", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r", ValuesFiles: []string{"../../outside/values.yaml"}}}, PathOutOfBounds},
	{"helm values file absolute", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r", ValuesFiles: []string{"/etc/passwd"}}}, PathOutOfBounds},
	{"helm values link", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM, "chart/values.yaml@": "../../outside/values.yaml"},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r"}}, SymlinkOutOfBounds},
	{"helm template dir link", tree{"chart/Chart.yaml": chartYAML, "chart/templates@": "../../outside/dir"},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r"}}, SymlinkOutOfBounds},
}

// boundCases are every bound of Limits (RELIABILITY L4, rule 5).
var boundCases = []errorCase{
	{"objects plain", tree{"app/a.yaml": cmA + "---\n" + cmB + "---\n" + ns}, Options{Path: "app", Limits: Limits{MaxObjects: 2}}, LimitExceeded},
	{"objects kustomize", tree{"app/kustomization.yaml": kust("resources: [a.yaml]\n"), "app/a.yaml": cmA + "---\n" + cmB + "---\n" + ns},
		Options{Path: "app", Limits: Limits{MaxObjects: 2}}, LimitExceeded},
	{"bytes read", tree{"app/a.yaml": cmA + "---\n" + cmB}, Options{Path: "app", Limits: Limits{MaxBytes: 64}}, LimitExceeded},
	{"bytes rendered", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": "{{ range until 500 }}\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\ndata:\n  padding: \"{{ repeat 200 \"x\" }}\"\n{{ end }}\n"},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r"}, Limits: Limits{MaxBytes: 64 << 10}}, LimitExceeded},
	{"billion laughs plain", tree{"app/a.yaml": billionLaughs(9)}, Options{Path: "app"}, LimitExceeded},
	{"billion laughs kustomize", tree{"app/kustomization.yaml": kust("resources: [a.yaml]\n"), "app/a.yaml": cmA + "---\n" + billionLaughs(9)},
		Options{Path: "app"}, LimitExceeded},
	{"billion laughs values", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM, "chart/values.yaml": billionLaughs(9)},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r"}}, LimitExceeded},
	{"depth plain", tree{"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: " + deep(300)}, Options{Path: "app"}, LimitExceeded},
	{"depth 100k", tree{"app/a.yaml": strings.Repeat("[", 100000) + strings.Repeat("]", 100000)}, Options{Path: "app"}, LimitExceeded},
	{"chart bytes", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM, "chart/files/big.bin": strings.Repeat("x", 4096)},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r"}, Limits: Limits{MaxChartBytes: 2048}}, LimitExceeded},
}

// otherErrorCases are failures that are not about bounds or the checkout.
var otherErrorCases = []errorCase{
	{"kustomize missing resource", tree{"overlays/prod/kustomization.yaml": kust("resources:\n- ../../base\n- ../../missing\n"),
		"base/kustomization.yaml": kust("resources: [cm.yaml]\n"), "base/cm.yaml": cmA}, Options{Path: "overlays/prod"}, BuildFailed},
	{"kustomize invalid yaml", tree{"app/kustomization.yaml": kust("resources: [a.yaml]\n"), "app/a.yaml": "kind: [\n"}, Options{Path: "app"}, BuildFailed},
	{"helm required", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": "{{ required \"v is required\" .Values.v }}"},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r"}}, BuildFailed},
	{"helm secret values invalid", tree{"chart/Chart.yaml": chartYAML, "chart/templates/cm.yaml": chartCM},
		Options{Path: "chart", Helm: HelmOptions{ReleaseName: "r", ValuesFrom: []ValuesSource{{Name: "Secret/app key values.yaml", Data: []byte("v: " + canary + "\n bad: [")}}}}, BuildFailed},
	{"plain secret invalid", tree{"app/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: " + canary + "\n   bad: x\n"}, Options{Path: "app"}, BuildFailed},
	{"plain duplicate", tree{"app/a.yaml": cmA, "app/b/a.yaml": cmA}, Options{Path: "app"}, BuildFailed},
	{"plain no objects", tree{"app/README.md": "# docs"}, Options{Path: "app"}, BuildFailed},
	{"unknown engine", tree{"app/a.yaml": cmA}, Options{Path: "app", Engine: "jsonnet"}, BuildFailed},
}

// TestRenderErrors renders every error case, checks its reason, that no
// message holds the canary, and that the messages are those of
// testdata/errors.golden (go test -run TestRenderErrors -update rewrites it).
func TestRenderErrors(t *testing.T) {
	var lines []string
	for _, group := range [][]errorCase{securityCases, boundCases, otherErrorCases} {
		for _, tc := range group {
			err := renderCase(t, tc)
			if ReasonOf(err) != tc.reason {
				t.Errorf("%s: got %v (%s), want %s", tc.name, err, ReasonOf(err), tc.reason)
				continue
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("%s: the error quotes a secret: %v", tc.name, err)
			}
			lines = append(lines, fmt.Sprintf("%s: %s: %v", tc.name, ReasonOf(err), err))
		}
	}
	checkGolden(t, filepath.Join("testdata", "errors.golden"), strings.Join(lines, "\n")+"\n")
}

// renderCase writes the case's files in "checkout" beside "outside" and renders.
func renderCase(t *testing.T, tc errorCase) error {
	t.Helper()
	parent := t.TempDir()
	outsideFiles.writeIn(t, parent)
	root := filepath.Join(parent, "checkout")
	tc.files.writeIn(t, root)
	tc.opts.Root = root
	objs, err := Render(context.Background(), tc.opts)
	if err == nil {
		t.Errorf("%s: rendered %d objects, want an error", tc.name, len(objs))
	}
	return err
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
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
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s line %d (run with -update after checking):\n got %s\nwant %s", path, i+1, g, w)
			}
		}
	}
}

// TestRenderFetchesNothing points every kind of remote reference at a local
// HTTP server, which must receive no request (RELIABILITY S4).
func TestRenderFetchesNothing(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write([]byte(cmA))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for name, body := range map[string]string{
		"http resource":    "resources:\n- " + srv.URL + "/cm.yaml\n",
		"git base":         "resources:\n- " + srv.URL + "/org/repo.git//base?ref=main\n",
		"git ssh base":     "resources:\n- ssh://git@" + host + "/org/repo.git\n",
		"component":        "components:\n- " + srv.URL + "/org/repo//component\n",
		"patch":            "resources: [cm.yaml]\npatches:\n- path: " + srv.URL + "/patch.yaml\n",
		"generator":        "configMapGenerator:\n- name: x\n  files:\n  - " + srv.URL + "/file\n",
		"openapi":          "resources: [cm.yaml]\nopenapi:\n  path: " + srv.URL + "/schema.json\n",
		"nested base":      "resources:\n- nested\n",
		"transformer file": "resources: [cm.yaml]\ntransformers:\n- t.yaml\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := tree{
				"app/kustomization.yaml":        kust(body),
				"app/cm.yaml":                   cmA,
				"app/nested/kustomization.yaml": kust("resources:\n- " + srv.URL + "/cm.yaml\n"),
				"app/t.yaml":                    "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: t}\npath: " + srv.URL + "/p.yaml\n",
			}.write(t)
			_, err := Render(context.Background(), Options{Root: root, Path: "app"})
			if ReasonOf(err) != PathOutOfBounds {
				t.Fatalf("Render = %v, want PathOutOfBounds", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests, want 0", n)
	}
}

// TestRenderRunsNothing gives kustomize an exec plugin, a KRM exec function
// and Helm chart inflation, each of which would create a marker file: the
// render must fail and the marker must not exist (RELIABILITY S5).
func TestRenderRunsNothing(t *testing.T) {
	home := t.TempDir()
	marker := filepath.Join(home, "marker")
	script := "#!/bin/sh\ntouch " + marker + "\ncat\n"
	// The legacy exec plugin's home, and a helm on the PATH.
	pluginDir := filepath.Join(home, "kustomize", "plugin", "example.com", "v1", "marker")
	for _, p := range []string{filepath.Join(pluginDir, "Marker"), filepath.Join(home, "bin", "helm")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("KUSTOMIZE_PLUGIN_HOME", filepath.Join(home, "kustomize", "plugin"))
	t.Setenv("PATH", filepath.Join(home, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	plugin := "apiVersion: example.com/v1\nkind: Marker\nmetadata:\n  name: m\n"
	for name, files := range map[string]tree{
		"exec plugin": {"app/kustomization.yaml": kust("resources: [cm.yaml]\ntransformers: [plugin.yaml]\n"), "app/plugin.yaml": plugin},
		"krm exec function": {"app/kustomization.yaml": kust("resources: [cm.yaml]\ntransformers: [plugin.yaml]\n"),
			"app/plugin.yaml": plugin + "  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./marker.sh\n",
			"app/marker.sh":   script},
		"helm charts": {"app/kustomization.yaml": kust("helmCharts:\n- name: x\n  repo: https://charts.example.com\n  version: 1.0.0\n")},
	} {
		t.Run(name, func(t *testing.T) {
			files["app/cm.yaml"] = cmA
			root := files.write(t)
			os.Chmod(filepath.Join(root, "app", "marker.sh"), 0o755)
			if _, err := Render(context.Background(), Options{Root: root, Path: "app"}); err == nil {
				t.Fatal("Render succeeded, want the plugin refused")
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the plugin ran: its marker file exists")
			}
		})
	}
}
