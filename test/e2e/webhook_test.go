package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/webhook"
)

// A signed push applies the new commit without waiting for the interval.
func TestWebhookPushIsAppliedWithoutWaitingForTheInterval(t *testing.T) {
	reconciler := startManager(t)
	app := newGitApp(t)
	obj := app.appSource(t, "web", withInterval(time.Hour))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	secret := []byte("hook-token")
	h, err := webhook.NewHandler(webhook.DefaultOptions(), []webhook.Receiver{{Name: "ci", Provider: webhook.Generic, Secret: secret}}, reconciler.OnPush)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:pushed"))
	commit := app.repo.Commit("pushed")
	resp, err := http.DefaultClient.Do(signedPush(srv.URL+"/hook/ci", secret, app.server.RepoURL("app.git")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %s", resp.Status)
	}
	eventually(t, 30*time.Second, "pushed commit applied", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastAppliedRevision == "main@sha1:"+commit, err
	})
}

// signedPush is a generic webhook's push to main of the repository at
// repoURL, signed with secret, for the receiver at hookURL.
func signedPush(hookURL string, secret []byte, repoURL string) *http.Request {
	body := fmt.Appendf(nil, `{"url": %q, "ref": "refs/heads/main"}`, repoURL)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
	req.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return req
}
