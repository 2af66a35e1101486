package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/driftless-dev/driftless/internal/reference"
)

const secretCanary = "canary-secret-value-51ab"

// kustomizeRepo is a working copy with a base and a prod overlay that
// builds on it and adds a SOPS-encrypted Secret and ConfigMap.
func kustomizeRepo(t *testing.T, recipient string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".git/HEAD":                      "ref: refs/heads/main\n", // marks the working copy's root
		"deploy/base/kustomization.yaml": "resources: [config.yaml]\n",
		"deploy/base/config.yaml":        configMap("web-config", "mode", "base"),
		"deploy/overlays/prod/kustomization.yaml": "resources: [../../base, settings.enc.yaml, creds.enc.yaml]\nnamePrefix: prod-\n" +
			"patches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: web-config}\n    data: {mode: prod}\n",
		"deploy/overlays/prod/settings.enc.yaml": encrypt(t, configMap("web-settings", "endpoint", "https://db.internal:5432"),
			recipient, "^data$"),
		"deploy/overlays/prod/creds.enc.yaml": encrypt(t,
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-creds\nstringData:\n  token: "+secretCanary+"\n",
			recipient, "^(data|stringData)$"),
	})
	return dir
}

func TestBuildDirDecryptsAndRendersOffline(t *testing.T) {
	// No cluster: a kubeconfig the build tried to read would fail it.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	keyFile, recipient := ageKey(t)
	repo := kustomizeRepo(t, recipient)
	overlay := filepath.Join(repo, "deploy/overlays/prod")
	before, err := os.ReadFile(filepath.Join(overlay, "creds.enc.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	res := runCLI(t.Context(), "build", overlay, "--age-key-file", keyFile, "--target-namespace", "prod").must(t, 0)
	golden(t, "build-kustomize.golden", res.stdout)
	for _, leak := range []string{secretCanary, "ENC[", "sops"} {
		if strings.Contains(res.stdout+res.stderr, leak) {
			t.Errorf("output contains %q", leak)
		}
	}
	if !strings.Contains(res.stdout, "https://db.internal:5432") {
		t.Error("the encrypted ConfigMap is not decrypted")
	}
	after, _ := os.ReadFile(filepath.Join(overlay, "creds.enc.yaml"))
	if string(after) != string(before) {
		t.Error("build decrypted the working copy in place")
	}

	res = runCLI(t.Context(), "build", overlay, "-o", "json", "--age-key-file", keyFile).must(t, 0)
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil || list.Kind != "List" || len(list.Items) != 3 {
		t.Errorf("-o json: %v, %s with %d items", err, list.Kind, len(list.Items))
	}
}

func TestBuildDirWithoutKeysNamesTheFile(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	_, recipient := ageKey(t)
	repo := kustomizeRepo(t, recipient)
	overlay := filepath.Join(repo, "deploy/overlays/prod")
	res := runCLI(t.Context(), "build", overlay).must(t, 1)
	for _, want := range []string{"deploy/overlays/prod/", ".enc.yaml", "--age-key-file"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr %q does not contain %q", res.stderr, want)
		}
	}
	wrongKey, _ := ageKey(t)
	res = runCLI(t.Context(), "build", overlay, "--age-key-file", wrongKey).must(t, 1)
	if !strings.Contains(res.stderr, ".enc.yaml") {
		t.Errorf("stderr %q does not name the file", res.stderr)
	}
}

func TestBuildHelmChartWithEncryptedValuesOffline(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	keyFile, recipient := ageKey(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"web/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"web/values.yaml": "replicas: 1\ngreeting: hello\npassword: none\n",
		"web/templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n" +
			"data:\n  greeting: {{ .Values.greeting | quote }}\n  replicas: {{ .Values.replicas | quote }}\n",
		"web/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db\n" +
			"stringData:\n  password: {{ .Values.password | quote }}\n",
		"web/values-prod.enc.yaml": encrypt(t, "replicas: 3\npassword: "+secretCanary+"\n", recipient, "^password$"),
	})
	chart := filepath.Join(dir, "web")
	res := runCLI(t.Context(), "build", chart, "--values", filepath.Join(chart, "values-prod.enc.yaml"),
		"--age-key-file", keyFile, "--release-name", "shop", "--target-namespace", "prod").must(t, 0)
	golden(t, "build-helm.golden", res.stdout)
	if strings.Contains(res.stdout, secretCanary) {
		t.Error("a Secret value is printed")
	}

	// Detected as a chart, released under the directory's name. The
	// encrypted values file is not used, so no key is needed.
	t.Setenv("SOPS_AGE_KEY_FILE", "")
	res = runCLI(t.Context(), "build", chart).must(t, 0)
	if !strings.Contains(res.stdout, "name: web-config") || !strings.Contains(res.stdout, `greeting: hello`) {
		t.Errorf("detected chart rendered:\n%s", res.stdout)
	}

	elsewhere := t.TempDir()
	writeFiles(t, elsewhere, map[string]string{"values.yaml": "replicas: 2\n"})
	res = runCLI(t.Context(), "build", chart, "--values", filepath.Join(elsewhere, "values.yaml")).must(t, 1)
	if !strings.Contains(res.stderr, "is outside") {
		t.Errorf("stderr %q does not name --values", res.stderr)
	}
}

func TestBuildUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"build"},
		{"build", "appsource"},
		{"build", t.TempDir(), "--path", "x"},
		{"build", t.TempDir(), "-o", "table"},
		{"build", t.TempDir(), "--render", "jsonnet"},
	} {
		res := runCLI(t.Context(), args...).must(t, 1)
		if !strings.Contains(res.stderr, "See 'driftless build --help'") {
			t.Errorf("%v: stderr %q has no pointer to the help", args, res.stderr)
		}
	}
}

func TestBuildAppSourceFromGitAndFromALocalCopy(t *testing.T) {
	ns := newNamespace(t, "cli-build")
	keyFile, recipient := ageKey(t)
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	createSecret(t, ns, "sops-age", map[string]string{"team.agekey": string(key)})
	app := newGitApp(t, ns)
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "git"))
	app.repo.WriteFile("deploy/creds.enc.yaml", encrypt(t,
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-creds\nstringData:\n  token: "+secretCanary+"\n",
		recipient, "^(data|stringData)$"))
	app.repo.Commit("first")
	app.appSource(t, "web", withDecryption("sops-age"))

	res := driftless(t, "build", "appsource", "web", "-n", ns).must(t, 0)
	golden(t, "build-appsource.golden", normalize(res.stdout, ns, "NAMESPACE"))
	if strings.Contains(res.stdout, secretCanary) || strings.Contains(res.stdout, app.server.Password) {
		t.Error("a secret value is printed")
	}

	// An uncommitted edit of the working copy, rendered in place of Git.
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "local"))
	res = driftless(t, "build", "appsource/web", "-n", ns, "--path", filepath.Join(app.repo.Work, "deploy")).must(t, 0)
	if !strings.Contains(res.stdout, `mode: local`) {
		t.Errorf("--path did not render the working copy:\n%s", res.stdout)
	}

	res = driftless(t, "build", "appsource", "nothing", "-n", ns).must(t, 1)
	if want := `AppSource "nothing" not found in namespace "` + ns + `"`; !strings.Contains(res.stderr, want) {
		t.Errorf("stderr %q, want %q", res.stderr, want)
	}
}

// TestBuildDecryptsWhatTheOverlayReads builds overlays whose shared base
// holds a SOPS-encrypted Secret and a SOPS-encrypted dotenv file, both
// encrypted by the sops CLI, beside an encrypted file that nothing reads,
// for a key the build does not have: each overlay builds to what `sops
// decrypt` of the base and then `kustomize build` (the reference CLIs)
// print, and no file of the working copy changes. The build prints Secret
// values redacted, so the reference's are redacted too; the generated
// Secret's name, a hash of its plaintext, still proves the dotenv file's
// values (the end-to-end suite checks the values the controller applies).
func TestBuildDecryptsWhatTheOverlayReads(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	sops, kustomize := reference.Tool(t, "sops"), reference.Tool(t, "kustomize")
	keyFile, recipient := ageKey(t)
	_, stranger := ageKey(t)
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		".git/HEAD": "ref: refs/heads/main\n",
		"deploy/base/kustomization.yaml": "resources: [config.yaml, creds.enc.yaml]\n" +
			"secretGenerator:\n- name: app-env\n  envs: [app.enc.env]\n",
		"deploy/base/config.yaml":                configMap("web-config", "mode", "base"),
		"deploy/base/creds.enc.yaml":             "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-creds\nstringData:\n  token: " + secretCanary + "\n",
		"deploy/base/app.enc.env":                "DB_PASSWORD=" + secretCanary + "\nDB_USER=web\n",
		"deploy/base/unread.enc.yaml":            configMap("unread", "k", "v"),
		"deploy/overlays/dev/kustomization.yaml": "resources: [../../base]\nnamePrefix: dev-\n",
		"deploy/overlays/prod/kustomization.yaml": "resources: [../../base]\nnamePrefix: prod-\n" +
			"patches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: web-config}\n    data: {mode: prod}\n",
	})
	base := filepath.Join(repo, "deploy", "base")
	for file, args := range map[string][]string{
		"creds.enc.yaml":  {"--age", recipient, "--encrypted-regex", "^(data|stringData)$"},
		"app.enc.env":     {"--age", recipient},
		"unread.enc.yaml": {"--age", stranger},
	} {
		cmd := exec.Command(sops, append(append([]string{"encrypt"}, args...), "--in-place", file)...)
		cmd.Dir = base
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sops encrypt %s: %v\n%s", file, err, out)
		}
	}
	files := snapshot(t, repo)

	// What the reference CLIs make of a copy whose base is decrypted.
	plain := t.TempDir()
	if err := os.CopyFS(plain, os.DirFS(repo)); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"creds.enc.yaml", "app.enc.env"} {
		cmd := exec.Command(sops, "decrypt", "--in-place", file)
		cmd.Dir, cmd.Env = filepath.Join(plain, "deploy", "base"), append(os.Environ(), "SOPS_AGE_KEY_FILE="+keyFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sops decrypt %s: %v\n%s", file, err, out)
		}
	}
	for _, overlay := range []string{"dev", "prod"} {
		want, err := exec.Command(kustomize, "build", filepath.Join(plain, "deploy", "overlays", overlay)).Output()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", overlay, err)
		}
		res := runCLI(t.Context(), "build", filepath.Join(repo, "deploy", "overlays", overlay), "--age-key-file", keyFile).must(t, 0)
		if got, want := objectsByName(t, res.stdout), objectsByName(t, string(want)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: driftless build gives\n%v\nsops decrypt, then kustomize build, gives\n%v", overlay, got, want)
		}
		if strings.Contains(res.stdout+res.stderr, "ENC[") {
			t.Errorf("%s: ciphertext in the output", overlay)
		}
	}
	if after := snapshot(t, repo); !reflect.DeepEqual(after, files) {
		t.Error("the build changed the working copy")
	}
}

// snapshot reads every file under dir, by slash-separated name.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// objectsByName parses a YAML stream into its objects, Secret values
// redacted, by kind and name.
func objectsByName(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	for _, doc := range strings.Split(stream, "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("parse %q: %v", doc, err)
		}
		if obj != nil {
			meta, _ := obj["metadata"].(map[string]any)
			objs[fmt.Sprint(obj["kind"], "/", meta["name"])] = redacted(&unstructured.Unstructured{Object: obj}).Object
		}
	}
	return objs
}
