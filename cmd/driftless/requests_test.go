package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestReconcileSuspendResumeAndHistory drives an AppSource through the real
// controller: a good commit, a broken one, a suspension and a fix.
func TestReconcileSuspendResumeAndHistory(t *testing.T) {
	ns := newNamespace(t, "cli-reconcile")
	app := newGitApp(t, ns)
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "blue"))
	first := app.repo.Commit("first")
	obj := app.appSource(t, "web")
	startManager(t, ns)
	waitApplied(t, obj, "main@sha1:"+first)

	res := driftless(t, "reconcile", "web", "-n", ns, "--wait").must(t, 0)
	if !strings.Contains(res.stdout, "Applied revision main@sha1:"+first) {
		t.Errorf("reconcile --wait printed:\n%s", res.stdout)
	}
	token := annotations(t, obj)[v1alpha1.ReconcileRequestAnnotation]
	if _, err := time.Parse(time.RFC3339Nano, token); err != nil {
		t.Errorf("reconcile-requested-at %q is not a time: %v", token, err)
	}

	// A broken commit: the outcome is printed and the exit code says so.
	app.repo.WriteFile("deploy/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n")
	app.repo.Commit("broken")
	res = driftless(t, "reconcile", "appsource", "web", "-n", ns, "--wait").must(t, 1)
	if !strings.Contains(res.stderr, "is not ready (BuildFailed)") || !strings.Contains(res.stderr, "deploy/broken.yaml") {
		t.Errorf("reconcile --wait of a broken commit: %+v", res)
	}

	// Suspended, it is not reconciled; resumed, it applies the fix.
	driftless(t, "suspend", "web", "-n", ns).must(t, 0)
	if get(t, obj); !obj.Spec.Suspend {
		t.Fatal("spec.suspend is not set")
	}
	res = driftless(t, "reconcile", "web", "-n", ns).must(t, 1)
	if !strings.Contains(res.stderr, "is suspended: resume it with 'driftless resume web'") {
		t.Errorf("reconcile of a suspended AppSource: %q", res.stderr)
	}
	app.repo.Remove("deploy/broken.yaml")
	app.repo.WriteFile("deploy/config.yaml", configMap("web-config", "mode", "green"))
	fixed := app.repo.Commit("fixed")
	res = driftless(t, "resume", "web", "-n", ns, "--wait").must(t, 0)
	if !strings.Contains(res.stdout, "Applied revision main@sha1:"+fixed) {
		t.Errorf("resume --wait printed:\n%s", res.stdout)
	}
	if get(t, obj); obj.Spec.Suspend {
		t.Error("spec.suspend is still set")
	}

	res = driftless(t, "history", "web", "-n", ns).must(t, 0)
	for _, want := range []string{"STARTED", "TRIGGERED BY", "BuildFailed", "ReconciliationSucceeded", "main@sha1:" + fixed[:7] + "…"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, res.stdout)
		}
	}
	res = driftless(t, "history", "web", "-n", ns, "-o", "json").must(t, 0)
	var history []v1alpha1.HistoryEntry
	if err := json.Unmarshal([]byte(res.stdout), &history); err != nil || len(history) < 3 || history[0].Revision != "main@sha1:"+fixed {
		t.Errorf("history -o json: %v\n%s", err, res.stdout)
	}
}

func TestPromoteAndAbortSetTheirAnnotations(t *testing.T) {
	ns := newNamespace(t, "cli-promote")
	promotionChain(t, ns)
	prod := &v1alpha1.AppSource{}
	prod.Namespace, prod.Name = ns, "web-prod"

	driftless(t, "promote", "web-prod", "-n", ns).must(t, 0)
	if _, err := time.Parse(time.RFC3339Nano, annotations(t, prod)[v1alpha1.PromoteAnnotation]); err != nil {
		t.Errorf("promote without --revision: %v", err)
	}
	for _, rev := range []string{commit, "main@sha1:" + commit, "release/1.2@sha1:" + commit} {
		res := driftless(t, "promote", "web-prod", "-n", ns, "--revision", rev).must(t, 0)
		if got := annotations(t, prod)[v1alpha1.PromoteAnnotation]; got != rev {
			t.Errorf("promote --revision %s set %q", rev, got)
		}
		if !strings.Contains(res.stdout, "promotion of "+rev+" requested") {
			t.Errorf("promote printed %q", res.stdout)
		}
	}
	for _, rev := range []string{"v1.2.0", "4f2c9ab", "main", "main@sha1:", "main@sha1:4f2c9ab", strings.ToUpper(commit), commit + "0"} {
		res := driftless(t, "promote", "web-prod", "-n", ns, "--revision", rev).must(t, 1)
		if !strings.Contains(res.stderr, "want a full commit hash") {
			t.Errorf("promote --revision %s: %q", rev, res.stderr)
		}
		if got := annotations(t, prod)[v1alpha1.PromoteAnnotation]; got == rev {
			t.Errorf("promote --revision %s was set", rev)
		}
	}

	driftless(t, "abort", "appsource/web-prod", "-n", ns).must(t, 0)
	if _, err := time.Parse(time.RFC3339Nano, annotations(t, prod)[v1alpha1.AbortAnnotation]); err != nil {
		t.Errorf("abort: %v", err)
	}
	res := driftless(t, "abort", "web-qa", "-n", ns).must(t, 1)
	if !strings.Contains(res.stderr, `AppSource "web-qa" not found`) {
		t.Errorf("abort of a missing AppSource: %q", res.stderr)
	}
	res = driftless(t, "history", "web-dev", "-n", ns).must(t, 0)
	if !strings.Contains(res.stderr, "No history yet") {
		t.Errorf("history without entries: %+v", res)
	}
}

func get(t *testing.T, obj *v1alpha1.AppSource) {
	t.Helper()
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
}

func annotations(t *testing.T, obj *v1alpha1.AppSource) map[string]string {
	t.Helper()
	get(t, obj)
	return obj.Annotations
}

// TestPruneConfirm shows what waits for confirmation and confirms it through
// the annotation the controller reads.
func TestPruneConfirm(t *testing.T) {
	ns := newNamespace(t, "cli-prune")
	app := newGitApp(t, ns)
	app.repo.Commit("first")
	obj := app.appSource(t, "web")
	res := driftless(t, "prune", "web", "-n", ns).must(t, 0)
	if !strings.Contains(res.stdout, "nothing waits for confirmation") {
		t.Errorf("prune with nothing pending printed %q", res.stdout)
	}
	get(t, obj)
	obj.Status.PendingPrune = []string{"Namespace/old", "PersistentVolumeClaim/" + ns + "/data"}
	if err := k8s.Status().Update(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	res = driftless(t, "prune", "web", "-n", ns).must(t, 0)
	if !strings.Contains(res.stdout, "Namespace/old") || !strings.Contains(res.stdout, "--confirm") {
		t.Errorf("prune without --confirm printed %q", res.stdout)
	}
	if _, ok := annotations(t, obj)[v1alpha1.ConfirmPruneAnnotation]; ok {
		t.Error("prune without --confirm set the annotation")
	}
	driftless(t, "prune", "web", "-n", ns, "--confirm").must(t, 0)
	if token := annotations(t, obj)[v1alpha1.ConfirmPruneAnnotation]; token == "" {
		t.Error("prune --confirm did not set the confirm-prune annotation")
	}
}
