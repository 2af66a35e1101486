package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestLargeReleaseWritesStatusWithoutConflict releases a new image to every
// Deployment of a 1,000-object app through the manager binary, whose
// rollout wakes the AppSource again and again, and checks that no status
// write was refused as a conflict and no reconcile failed: each reconcile
// starts from what the previous one wrote, even before the cache shows it.
func TestLargeReleaseWritesStatusWithoutConflict(t *testing.T) {
	app, mgr, obj := largeApp(t)
	waitReleased(t, app, obj, releaseEveryDeployment(t, app, mgr))
	if n := metricSum(t, mgr.metricsURL, "driftless_status_conflicts_total"); n != 0 {
		t.Errorf("%v status writes refused as conflicts", n)
	}
	if n := metricSum(t, mgr.metricsURL, `controller_runtime_reconcile_errors_total{controller="appsource"`); n != 0 {
		t.Errorf("%v reconciles failed", n)
	}
	if n := metricSum(t, mgr.metricsURL, `controller_runtime_reconcile_total{controller="appsource"`); n < 3 {
		t.Errorf("%v reconciles: the release did not wake the AppSource as a rollout does", n)
	}
}

// largeApp is an app of 1,000 objects (100 Deployments of one replica
// running example.com/web:1, 900 ConfigMaps) that the manager binary
// applied.
func largeApp(t *testing.T) (*gitApp, *webhookManager, *v1alpha1.AppSource) {
	t.Helper()
	app := newGitApp(t)
	app.repo.WriteFile("deploy/deployment.yaml", benchApp(100, 900, 1, "1"))
	app.repo.Commit("1,000 objects")
	mgr := startWebhookManager(t, app.ns)
	obj := app.appSource(t, "web", withInterval(time.Hour))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	return app, mgr, obj
}

// releaseEveryDeployment commits example.com/web:2 for every Deployment of
// a largeApp, announces it by webhook and returns the commit.
func releaseEveryDeployment(t *testing.T, app *gitApp, mgr *webhookManager) string {
	t.Helper()
	app.repo.WriteFile("deploy/deployment.yaml", benchApp(100, 900, 1, "2"))
	commit := app.repo.Commit("a new image for every Deployment")
	mgr.push(t, app.server.RepoURL("app.git"))
	return commit
}

// waitReleased waits until a largeApp's AppSource is good and Ready at
// commit with every Deployment rolled out on example.com/web:2.
func waitReleased(t *testing.T, app *gitApp, obj *v1alpha1.AppSource, commit string) {
	t.Helper()
	deploys := watchDeployments(t, app.ns)
	eventually(t, 3*time.Minute, "the release applied and rolled out", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastGoodRevision == "main@sha1:"+commit && deploys.rolledOut(100, "example.com/web:2"), nil
	})
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
}
