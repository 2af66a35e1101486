package e2e

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/reference"
)

// TestChartsFromRepositories installs a chart from an HTTPS Helm repository
// (basic authentication, its index.yaml made by the real `helm repo
// index`) and from an OCI registry (go-containerregistry's, the chart
// pushed by the real `helm push`), on semver ranges, with values from Git.
// Each render equals `helm template` of the same archive and values; a
// version published later is taken at the interval, downloaded once for
// the two AppSources that use it; a range that nothing matches and a wrong
// password are reported naming the chart and the repository, and change
// nothing that runs.
func TestChartsFromRepositories(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	app.repo.WriteFile("values/prod.yaml", "greeting: hello from git\n")
	app.repo.Commit("values")
	charts := newChartServer(t)
	charts.publish(t, "web", "1.0.0")
	auth := charts.secret(t, app.ns)
	fromChart := func(repository, version string) func(*v1alpha1.AppSource) {
		return func(s *v1alpha1.AppSource) {
			s.Spec.Source.Path = "values"
			s.Spec.Interval = metav1.Duration{Duration: 10 * time.Second} // the shortest allowed
			s.Spec.Render = &v1alpha1.Render{Helm: &v1alpha1.HelmRender{
				Chart: &v1alpha1.HelmChart{Repository: repository, Name: "web", Version: version,
					SecretRef: &v1alpha1.LocalObjectReference{Name: "chart-auth"}},
				ValuesFiles: []string{"prod.yaml"},
			}}
		}
	}

	a := app.appSource(t, "web-a", fromChart(charts.URL+"/charts", "^1.0"))
	b := app.appSource(t, "web-b", fromChart(charts.URL+"/charts", "^1.0"))
	for _, obj := range []*v1alpha1.AppSource{a, b} {
		waitChartRevision(t, obj, "web@1.0.0/main@sha1:")
		charts.wantRendered(t, app, obj.Name, "1.0.0")
	}

	charts.publish(t, "web", "1.1.0")
	for _, obj := range []*v1alpha1.AppSource{a, b} {
		waitChartRevision(t, obj, "web@1.1.0/main@sha1:")
		charts.wantRendered(t, app, obj.Name, "1.1.0")
	}
	if n := charts.count("/charts/web-1.1.0.tgz"); n != 1 {
		t.Errorf("web 1.1.0 was downloaded %d times for two AppSources, want once", n)
	}

	t.Run("OCI registry", func(t *testing.T) {
		charts.push(t, "web", "1.0.0")
		charts.push(t, "web", "1.1.0")
		charts.push(t, "web", "2.0.0")
		obj := app.appSource(t, "web-oci", fromChart("oci://"+charts.host()+"/oci", "^1.0"))
		waitChartRevision(t, obj, "web@1.1.0/main@sha1:")
		charts.wantRendered(t, app, obj.Name, "1.1.0")
	})

	t.Run("a failed version is rolled back and held", func(t *testing.T) {
		charts.publish(t, "api", "1.0.0", rollingYAML("example.com/web:1", false))
		obj := app.appSource(t, "api", func(s *v1alpha1.AppSource) {
			fromChart(charts.URL+"/charts", "^1.0")(s)
			s.Spec.Render.Helm.Chart.Name = "api"
			s.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.StrategyRolling, Rolling: &v1alpha1.RollingStrategy{AutoRollback: true}}
		})
		waitChartRevision(t, obj, "api@1.0.0/main@sha1:")
		charts.publish(t, "api", "1.1.0", rollingYAML("example.com/web:2", true))
		waitReadyWithin(t, obj, 2*time.Minute, metav1.ConditionFalse, v1alpha1.RolledBackReason)
		ro := obj.Status.Rollout
		if !strings.HasPrefix(ro.HeldRevision, "api@1.1.0/") || !strings.HasPrefix(obj.Status.LastAppliedRevision, "api@1.0.0/") {
			t.Fatalf("held %s, applied %s; want api 1.1.0 held and 1.0.0 applied", ro.HeldRevision, obj.Status.LastAppliedRevision)
		}
		if img := app.deployment(t).Spec.Template.Spec.Containers[0].Image; img != "example.com/web:1" {
			t.Errorf("image after the rollback %s, want the last good version's", img)
		}
		requestReconcile(t, obj)
		waitHandled(t, obj)
		if !strings.HasPrefix(obj.Status.LastAppliedRevision, "api@1.0.0/") || obj.Status.Rollout.HeldRevision != ro.HeldRevision {
			t.Errorf("after another reconcile: applied %s, held %s; want the hold kept", obj.Status.LastAppliedRevision, obj.Status.Rollout.HeldRevision)
		}
	})

	t.Run("no version matches", func(t *testing.T) {
		obj := app.appSource(t, "web-none", fromChart(charts.URL+"/charts", "^9.0"))
		waitReady(t, obj, metav1.ConditionFalse, v1alpha1.ChartVersionNotFoundReason)
		msg := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition).Message
		for _, want := range []string{"web", `"^9.0"`, charts.URL + "/charts"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Ready message %q does not name %s", msg, want)
			}
		}
		if inv := obj.Status.Inventory; inv != nil && len(inv.Entries) != 0 {
			t.Errorf("inventory %v, want nothing applied", inv.Entries)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		auth.Data["password"] = []byte("wrong-" + chartPassword)
		if err := k8s.Update(t.Context(), auth); err != nil {
			t.Fatal(err)
		}
		waitReady(t, a, metav1.ConditionFalse, v1alpha1.ChartUnavailableReason)
		msg := apimeta.FindStatusCondition(a.Status.Conditions, v1alpha1.ReadyCondition).Message
		if strings.Contains(msg, chartPassword) || !strings.Contains(msg, charts.URL+"/charts") {
			t.Errorf("Ready message %q: want the repository named, and no password", msg)
		}
		charts.wantRendered(t, app, a.Name, "1.1.0") // what runs stays
	})
}

// waitChartRevision waits for obj to be Ready at a revision starting with
// prefix.
func waitChartRevision(t *testing.T, obj *v1alpha1.AppSource, prefix string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("AppSource %s/%s status: %+v", obj.Namespace, obj.Name, obj.Status)
		}
	})
	eventually(t, time.Minute, obj.Name+" Ready at "+prefix+"…", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		ready := apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ReadyCondition)
		return err == nil && ready && strings.HasPrefix(obj.Status.LastAppliedRevision, prefix), err
	})
}

// The chart server's credentials; the password is a canary no status may
// show.
const (
	chartUser     = "charts"
	chartPassword = "canary-chart-pw-81d3"
)

// chartServer is a Helm repository at /charts/ and an OCI registry (its
// API at /v2/), over TLS with basic authentication, counting requests by
// path. Charts are made with the pinned helm CLI.
type chartServer struct {
	*httptest.Server
	helm   string
	env    []string
	dir    string // the repository's files, and the archives pushed
	caPEM  []byte
	caFile string

	mu       sync.Mutex
	requests map[string]int
}

func newChartServer(t *testing.T) *chartServer {
	t.Helper()
	s := &chartServer{helm: reference.Tool(t, "helm"), dir: t.TempDir(), requests: map[string]int{}}
	home := t.TempDir()
	s.env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	if err := os.MkdirAll(filepath.Join(s.dir, "repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := http.StripPrefix("/charts/", http.FileServer(http.Dir(filepath.Join(s.dir, "repo"))))
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		s.mu.Unlock()
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(chartUser)) != 1 || subtle.ConstantTimeCompare([]byte(pass), []byte(chartPassword)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/charts/") {
			files.ServeHTTP(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	s.caFile = filepath.Join(s.dir, "ca.pem")
	if err := os.WriteFile(s.caFile, s.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// secret creates the Secret chart-auth of namespace ns, with the server's
// credentials and CA.
func (s *chartServer) secret(t *testing.T, ns string) *corev1.Secret {
	t.Helper()
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "chart-auth", Namespace: ns, Labels: watched}, Data: map[string][]byte{
		"username": []byte(chartUser), "password": []byte(chartPassword), "ca.crt": s.caPEM,
	}}
	if err := k8s.Create(t.Context(), auth); err != nil {
		t.Fatal(err)
	}
	return auth
}

// run runs the helm CLI.
func (s *chartServer) run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), s.helm, args...)
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// pack writes chart at version and packages it with `helm package` into
// dir; it returns the archive's path. Its ConfigMap names the version and
// a value that the Git repository's values file sets.
func (s *chartServer) pack(t *testing.T, dir, chart, version string, templates ...string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), chart)
	for i, tmpl := range templates {
		writeFile(t, filepath.Join(src, "templates", fmt.Sprintf("extra-%d.yaml", i)), tmpl)
	}
	writeFile(t, filepath.Join(src, "Chart.yaml"), "apiVersion: v2\nname: "+chart+"\nversion: 0.0.1\n")
	writeFile(t, filepath.Join(src, "values.yaml"), "greeting: hello from the chart\n")
	writeFile(t, filepath.Join(src, "templates", "settings.yaml"), `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  labels:
    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
data:
  version: {{ .Chart.Version | quote }}
  greeting: {{ .Values.greeting | quote }}
  namespace: {{ .Release.Namespace | quote }}
`)
	s.run(t, "package", src, "--version", version, "--destination", dir)
	return filepath.Join(dir, chart+"-"+version+".tgz")
}

// publish adds chart at version, with templates besides its ConfigMap, to
// the Helm repository and indexes it again with `helm repo index`.
func (s *chartServer) publish(t *testing.T, chart, version string, templates ...string) {
	t.Helper()
	repo := filepath.Join(s.dir, "repo")
	s.pack(t, repo, chart, version, templates...)
	s.run(t, "repo", "index", repo, "--url", s.URL+"/charts")
}

// push pushes chart at version to the registry's repository oci with `helm
// push`.
func (s *chartServer) push(t *testing.T, chart, version string) {
	t.Helper()
	tgz := s.pack(t, filepath.Join(s.dir, "pushed"), chart, version)
	s.run(t, "push", tgz, "oci://"+s.host()+"/oci", "--ca-file", s.caFile, "--username", chartUser, "--password", chartPassword)
}

// wantRendered requires the ConfigMap that release applied to hold what
// `helm template` of the same archive and values file renders.
func (s *chartServer) wantRendered(t *testing.T, app *gitApp, release, version string) {
	t.Helper()
	tgz := filepath.Join(s.dir, "repo", "web-"+version+".tgz")
	if _, err := os.Stat(tgz); err != nil {
		tgz = filepath.Join(s.dir, "pushed", "web-"+version+".tgz")
	}
	values := filepath.Join(t.TempDir(), "prod.yaml")
	writeFile(t, values, "greeting: hello from git\n")
	out := s.run(t, "template", release, tgz, "--namespace", app.ns, "-f", values)
	want := &corev1.ConfigMap{}
	if err := yaml.Unmarshal(bytes.TrimPrefix(bytes.TrimSpace(out), []byte("---")), want); err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	got := &corev1.ConfigMap{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: want.Name}, got); err != nil {
		t.Fatal(err)
	}
	if got.Data["version"] != version || !maps.Equal(got.Data, want.Data) || got.Labels["helm.sh/chart"] != want.Labels["helm.sh/chart"] {
		t.Errorf("ConfigMap %s: data %v labels %v; helm template: data %v labels %v", want.Name, got.Data, got.Labels, want.Data, want.Labels)
	}
}

// count is the number of requests for path so far.
func (s *chartServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// host is the server's host:port.
func (s *chartServer) host() string { return strings.TrimPrefix(s.URL, "https://") }

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestChartDependenciesFromChartLock renders a chart of the Git repository
// whose Chart.yaml names a dependency of a chart repository that its
// charts/ does not hold: it is downloaded at the version Chart.lock pins
// (the lock made by the real `helm dependency update`), from a repository
// the spec names, and the render equals `helm dependency build && helm
// template`. A dependency whose archive does not match the repository's
// digest, and a lock naming a repository the spec does not, are errors
// naming the dependency and the repository.
func TestChartDependenciesFromChartLock(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	charts := newChartServer(t)
	charts.publish(t, "web", "1.0.0")
	charts.secret(t, app.ns)
	repoURL := charts.URL + "/charts"
	// The umbrella chart, its lock made by helm itself; charts/ is not
	// committed.
	umbrella := filepath.Join(t.TempDir(), "umbrella")
	files := map[string]string{
		"Chart.yaml":              "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n- name: web\n  version: ^1.0\n  repository: " + repoURL + "\n",
		"values.yaml":             "web:\n  greeting: hello from the umbrella\n",
		"templates/umbrella.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-umbrella\ndata:\n  web: {{ .Values.web.greeting | quote }}\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(umbrella, name), content)
	}
	charts.run(t, "repo", "add", "deps", repoURL, "--username", chartUser, "--password", chartPassword, "--ca-file", charts.caFile)
	charts.run(t, "dependency", "update", umbrella)
	lock, err := os.ReadFile(filepath.Join(umbrella, "Chart.lock"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		app.repo.WriteFile("umbrella/"+name, content)
	}
	app.repo.WriteFile("umbrella/Chart.lock", string(lock))
	app.repo.Commit("an umbrella chart, its dependency locked")
	charts.publish(t, "web", "1.1.0") // the lock keeps 1.0.0

	withRepositories := func(repos ...v1alpha1.HelmRepository) func(*v1alpha1.AppSource) {
		return func(s *v1alpha1.AppSource) {
			s.Spec.Source.Path = "umbrella"
			s.Spec.Render = &v1alpha1.Render{Helm: &v1alpha1.HelmRender{Repositories: repos}}
		}
	}
	obj := app.appSource(t, "shop", withRepositories(v1alpha1.HelmRepository{URL: repoURL, SecretRef: &v1alpha1.LocalObjectReference{Name: "chart-auth"}}))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	charts.run(t, "dependency", "build", umbrella)
	out := charts.run(t, "template", "shop", umbrella, "--namespace", app.ns)
	compared := 0
	for _, doc := range strings.Split(string(out), "\n---") {
		want := &corev1.ConfigMap{}
		if err := yaml.Unmarshal([]byte(doc), want); err != nil || want.Name == "" {
			continue
		}
		got := &corev1.ConfigMap{}
		if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: want.Name}, got); err != nil {
			t.Fatalf("%s, which helm template renders: %v", want.Name, err)
		}
		if !maps.Equal(got.Data, want.Data) || got.Labels["helm.sh/chart"] != want.Labels["helm.sh/chart"] {
			t.Errorf("ConfigMap %s: data %v labels %v; helm template: data %v labels %v", want.Name, got.Data, got.Labels, want.Data, want.Labels)
		}
		compared++
	}
	if compared != 2 {
		t.Errorf("%d ConfigMaps compared, want the umbrella's and its dependency's:\n%s", compared, out)
	}
	if cm := (&corev1.ConfigMap{}); k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "shop-settings"}, cm) != nil || cm.Data["version"] != "1.0.0" {
		t.Errorf("the dependency applied is not the locked 1.0.0: %v", cm.Data)
	}

	t.Run("repository not named", func(t *testing.T) {
		other := app.appSource(t, "shop-unnamed", withRepositories())
		waitReady(t, other, metav1.ConditionFalse, v1alpha1.BuildFailedReason)
		msg := apimeta.FindStatusCondition(other.Status.Conditions, v1alpha1.ReadyCondition).Message
		if !strings.Contains(msg, "web 1.0.0") || !strings.Contains(msg, repoURL) || !strings.Contains(msg, "spec.render.helm.repositories") {
			t.Errorf("Ready message %q: want the dependency and its repository named", msg)
		}
	})

	t.Run("digest mismatch", func(t *testing.T) {
		// api 1.0.0 locked as indexed, then its archive replaced: what is
		// served no longer matches the index's digest.
		charts.publish(t, "api", "1.0.0")
		withAPI := files["Chart.yaml"] + "- name: api\n  version: 1.0.0\n  repository: " + repoURL + "\n"
		writeFile(t, filepath.Join(umbrella, "Chart.yaml"), withAPI)
		charts.run(t, "dependency", "update", umbrella)
		lock, err := os.ReadFile(filepath.Join(umbrella, "Chart.lock"))
		if err != nil {
			t.Fatal(err)
		}
		other, err := os.ReadFile(filepath.Join(charts.dir, "repo", "web-1.1.0.tgz"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(charts.dir, "repo", "api-1.0.0.tgz"), string(other))
		app.repo.WriteFile("umbrella/Chart.yaml", withAPI)
		app.repo.WriteFile("umbrella/Chart.lock", string(lock))
		app.repo.Commit("a second dependency, whose archive was replaced")
		requestReconcile(t, obj)
		waitReady(t, obj, metav1.ConditionFalse, v1alpha1.ChartUnavailableReason)
		msg := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition).Message
		if !strings.Contains(msg, "chart dependency api 1.0.0") || !strings.Contains(msg, "sha256:") || strings.Contains(msg, chartPassword) {
			t.Errorf("Ready message %q: want the dependency and the digest named", msg)
		}
		cm := &corev1.ConfigMap{}
		if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "shop-settings"}, cm); err != nil || cm.Data["version"] != "1.0.0" {
			t.Errorf("what runs changed: %v, %v", cm.Data, err)
		}
	})
}
