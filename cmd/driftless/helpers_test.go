package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/decrypt/sopstest"
	"github.com/driftless-dev/driftless/internal/source/gittest"
	"github.com/driftless-dev/driftless/test/harness"
)

// newNamespace creates a namespace named prefix plus a random suffix, so
// that a second run against the same cluster starts clean. Without
// kube-controller-manager a deleted namespace never goes, so none is deleted.
func newNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%08x", prefix, rand.Uint32())}}
	if err := k8s.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// gitApp is a Git repository served over HTTPS with basic auth, and the
// namespace whose git-auth Secret reads it.
type gitApp struct {
	ns     string
	server *gittest.HTTPSServer
	repo   *gittest.Repo
}

func newGitApp(t testing.TB, ns string) *gitApp {
	t.Helper()
	server := gittest.NewHTTPS(t, gittest.HTTPSOptions{Username: "deployer", Password: "canary-git-password-7f1d"})
	app := &gitApp{ns: ns, server: server, repo: server.NewRepo(t, "app.git")}
	createSecret(t, ns, "git-auth", map[string]string{
		"username": server.Username, "password": server.Password, "caFile": string(server.CAPEM),
	})
	return app
}

// appSource creates an AppSource rendering deploy/ of the repository into
// its own namespace.
func (a *gitApp) appSource(t testing.TB, name string, opts ...func(*v1alpha1.AppSource)) *v1alpha1.AppSource {
	t.Helper()
	obj := &v1alpha1.AppSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: a.ns},
		Spec: v1alpha1.AppSourceSpec{
			Interval: metav1.Duration{Duration: 10 * time.Minute},
			Source: v1alpha1.Source{Path: "deploy", Git: v1alpha1.GitSource{
				URL: a.server.RepoURL("app.git"), Ref: v1alpha1.GitRef{Branch: "main"},
				SecretRef: &v1alpha1.LocalObjectReference{Name: "git-auth"},
			}},
			TargetNamespace: a.ns,
		},
	}
	for _, o := range opts {
		o(obj)
	}
	if err := k8s.Create(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func createSecret(t testing.TB, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	if err := k8s.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// startManager runs the real AppSource controller, watching namespace ns
// only, until the returned function is called or the test ends.
func startManager(t testing.TB, ns string) (stop func()) {
	t.Helper()
	_, stop = harness.StartManager(t, cluster.RESTConfig(), harness.Options{Scheme: scheme, Namespaces: []string{ns}})
	return stop
}

// eventually polls cond until it holds, failing the test after a minute.
func eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ageKey writes a new age identity to a file and returns the file and the
// recipient to encrypt for.
func ageKey(t testing.TB) (file, recipient string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(file, []byte("# test key\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, id.Recipient().String()
}

// encrypt encrypts the values matching regex of a YAML document for recipient.
func encrypt(t testing.TB, plain, recipient, regex string) string {
	t.Helper()
	out, err := sopstest.EncryptYAML([]byte(plain), recipient, regex)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// writeFiles writes files (slash-separated paths) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// configMap is a ConfigMap manifest with one key.
func configMap(name, key, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  %s: %q\n", name, key, value)
}

func withDecryption(secret string) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) {
		a.Spec.Decryption = &v1alpha1.Decryption{SecretRef: v1alpha1.LocalObjectReference{Name: secret}}
	}
}
