package e2e

import (
	"strings"
	"testing"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/decrypt/sopstest"
)

func TestEncryptedSecretIsDecryptedOnlyWithTheRightKey(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	right, _ := age.GenerateX25519Identity()
	wrong, _ := age.GenerateX25519Identity()
	const canary = "canary-sops-value-3c9e"
	commitEncryptedSecret(t, app, right, canary)
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: app.ns, Labels: watched},
		StringData: map[string]string{"team.agekey": wrong.String()}}
	if err := k8s.Create(t.Context(), keys); err != nil {
		t.Fatal(err)
	}
	obj := app.appSource(t, "web", func(s *v1alpha1.AppSource) {
		s.Spec.Decryption = &v1alpha1.Decryption{SecretRef: v1alpha1.LocalObjectReference{Name: "sops-age"}}
	})
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.DecryptionFailedReason)
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "creds"}, &corev1.Secret{}); err == nil {
		t.Error("Secret applied although it could not be decrypted")
	}
	msg := readyMessage(obj)
	if !strings.Contains(msg, "deploy/creds.enc.yaml") {
		t.Errorf("message %q does not name the file", msg)
	}

	// The right key, as a changed Secret: the AppSource follows at once.
	keys.StringData = map[string]string{"team.agekey": right.String()}
	if err := k8s.Update(t.Context(), keys); err != nil {
		t.Fatal(err)
	}
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	secret := &corev1.Secret{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "creds"}, secret); err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["token"]) != canary {
		t.Errorf("token = %q, want the decrypted value", secret.Data["token"])
	}
	assertNoCanary(t, obj, canary)
	assertNoCanary(t, obj, right.String())
}

// commitEncryptedSecret commits deploy/creds.enc.yaml, the Secret creds
// whose token is value, encrypted for key with SOPS.
func commitEncryptedSecret(t *testing.T, app *gitApp, key *age.X25519Identity, value string) {
	t.Helper()
	enc, err := sopstest.EncryptYAML([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {token: "+value+"}\n"),
		key.Recipient().String(), "^(data|stringData)$")
	if err != nil {
		t.Fatal(err)
	}
	app.repo.WriteFile("deploy/creds.enc.yaml", string(enc))
	app.repo.Commit("encrypted secret")
}
