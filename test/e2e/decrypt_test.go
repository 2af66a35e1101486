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
	keys := createAgeKeys(t, app.ns, wrong)
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

// createAgeKeys creates the watched Secret sops-age in ns, holding key.
func createAgeKeys(t *testing.T, ns string, key *age.X25519Identity) *corev1.Secret {
	t.Helper()
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: ns, Labels: watched},
		StringData: map[string]string{"team.agekey": key.String()}}
	if err := k8s.Create(t.Context(), keys); err != nil {
		t.Fatal(err)
	}
	return keys
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

// TestOverlaysDecryptTheirSharedBase deploys two overlays of one base that
// holds a SOPS-encrypted Secret and a SOPS-encrypted dotenv file for a
// secretGenerator, beside an encrypted file that nothing reads, for a key
// the AppSources do not have: both overlays apply the plaintext, and the
// unread file needs no key.
func TestOverlaysDecryptTheirSharedBase(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	key, _ := age.GenerateX25519Identity()
	stranger, _ := age.GenerateX25519Identity()
	const canary = "canary-base-secret-8d21"
	sealed := func(enc []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(enc)
	}
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: " + canary + "\n"
	app.repo.WriteFile("fleet/base/creds.enc.yaml", sealed(sopstest.EncryptYAML([]byte(secret), key.Recipient().String(), "^(data|stringData)$")))
	app.repo.WriteFile("fleet/base/app.enc.env", sealed(sopstest.EncryptDotenv([]byte("DB_PASSWORD="+canary+"\n"), key.Recipient().String())))
	app.repo.WriteFile("fleet/base/unread.enc.yaml", sealed(sopstest.EncryptYAML([]byte("a: b\n"), stranger.Recipient().String(), "")))
	app.repo.WriteFile("fleet/base/kustomization.yaml", "resources:\n- creds.enc.yaml\nsecretGenerator:\n- name: app-env\n  envs:\n  - app.enc.env\n")
	for _, env := range []string{"dev", "prod"} {
		app.repo.WriteFile("fleet/overlays/"+env+"/kustomization.yaml", "resources:\n- ../../base\nnamePrefix: "+env+"-\n")
	}
	app.repo.Commit("overlays over an encrypted base")
	createAgeKeys(t, app.ns, key)
	for _, env := range []string{"dev", "prod"} {
		obj := app.appSource(t, env, withPath("fleet/overlays/"+env), func(s *v1alpha1.AppSource) {
			s.Spec.Decryption = &v1alpha1.Decryption{SecretRef: v1alpha1.LocalObjectReference{Name: "sops-age"}}
		})
		waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
		var secrets corev1.SecretList
		if err := k8s.List(t.Context(), &secrets, client.InNamespace(app.ns)); err != nil {
			t.Fatal(err)
		}
		found := map[string]string{}
		for _, s := range secrets.Items {
			switch {
			case s.Name == env+"-creds":
				found["token"] = string(s.Data["token"])
			case strings.HasPrefix(s.Name, env+"-app-env-"):
				found["DB_PASSWORD"] = string(s.Data["DB_PASSWORD"])
			}
		}
		if found["token"] != canary || found["DB_PASSWORD"] != canary {
			t.Errorf("%s: applied %v, want the plaintext of both encrypted files", env, found)
		}
		assertNoCanary(t, obj, canary)
	}
}
