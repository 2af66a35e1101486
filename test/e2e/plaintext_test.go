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

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestNoPlaintextSurvivesAKill kills the manager binary (SIGKILL, through
// its failpoint) right after decryption, when the checkout holds the
// decrypted Secret: the plaintext is on disk then, and the next process
// removes it when it starts, before it reconciles anything.
func TestNoPlaintextSurvivesAKill(t *testing.T) {
	bin := buildManager(t)
	app := newGitApp(t)
	key, _ := age.GenerateX25519Identity()
	const canary = "canary-plaintext-5d1b"
	commitEncryptedSecret(t, app, key, canary)
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: app.ns},
		StringData: map[string]string{"team.agekey": key.String()}}
	if err := k8s.Create(t.Context(), keys); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	t.Setenv("DRIFTLESS_FAILPOINTS", "render=kill")
	killed := startManagerProcess(t, bin, "killed-after-decrypt", "--work-dir="+work)
	obj := app.appSource(t, "web", func(s *v1alpha1.AppSource) {
		s.Spec.Decryption = &v1alpha1.Decryption{SecretRef: v1alpha1.LocalObjectReference{Name: "sops-age"}}
	})
	eventually(t, time.Minute, "the manager killed at its failpoint", func(context.Context) (bool, error) {
		return killed.exited(), nil
	})
	left := holdingCanary(t, work, canary)
	if len(left) == 0 {
		t.Fatal("no plaintext in the work dir after the kill: the failpoint is not after decryption")
	}

	t.Setenv("DRIFTLESS_FAILPOINTS", "")
	startManagerProcess(t, bin, "restarted", "--work-dir="+work)
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	// A reconcile of the new process may hold its own plaintext right now:
	// the files the killed one left must be gone.
	for _, path := range left {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s, the killed process's plaintext, is still there", path)
		}
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
