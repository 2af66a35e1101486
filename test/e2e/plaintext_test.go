package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestNoPlaintextReachesTheDisk kills the manager binary (SIGKILL, through
// its failpoint) as it starts to apply a decrypted Secret, when the render
// holds its plaintext: no file of the work dir holds it then, nor after the
// next process applied it. The render decrypts in memory, and the render
// child gets the plaintext through its stdin.
func TestNoPlaintextReachesTheDisk(t *testing.T) {
	bin := buildManager(t)
	app := newGitApp(t)
	key, _ := age.GenerateX25519Identity()
	const canary = "canary-plaintext-5d1b"
	commitEncryptedSecret(t, app, key, canary)
	createAgeKeys(t, app.ns, key)
	work := t.TempDir()
	t.Setenv("DRIFTLESS_FAILPOINTS", "apply=kill")
	killed := startManagerProcess(t, bin, "killed-before-apply", "--work-dir="+work)
	obj := app.appSource(t, "web", func(s *v1alpha1.AppSource) {
		s.Spec.Decryption = &v1alpha1.Decryption{SecretRef: v1alpha1.LocalObjectReference{Name: "sops-age"}}
	})
	eventually(t, time.Minute, "the manager killed at its failpoint", func(context.Context) (bool, error) {
		return killed.exited(), nil
	})
	if left := holdingCanary(t, work, canary); len(left) > 0 {
		t.Errorf("plaintext on disk after the kill: %v", left)
	}

	t.Setenv("DRIFTLESS_FAILPOINTS", "")
	startManagerProcess(t, bin, "restarted", "--work-dir="+work)
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	secret := &corev1.Secret{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "creds"}, secret); err != nil || string(secret.Data["token"]) != canary {
		t.Fatalf("Secret creds: %v, token %q: want the decrypted value applied", err, secret.Data["token"])
	}
	if left := holdingCanary(t, work, canary); len(left) > 0 {
		t.Errorf("plaintext on disk after the apply: %v", left)
	}
}

// holdingCanary returns the files under dir that contain canary.
func holdingCanary(t testing.TB, dir, canary string) []string {
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, []byte(canary)) {
			found = append(found, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(fmt.Errorf("walk %s: %w", dir, err))
	}
	return found
}
