package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
	"github.com/driftless-dev/driftless/test/harness"
)

// TestPanicInAnyStepIsAFailure injects a panic into each step in turn, with
// a new commit waiting: the AppSource shows Ready=False ReconcilePanic
// naming the step, its last good revision and inventory stay, and the
// manager without the failpoint then applies the commit.
func TestPanicInAnyStepIsAFailure(t *testing.T) {
	app := newGitApp(t)
	_, stop := harness.StartManager(t, cfg, harness.Options{Scheme: scheme})
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	stop()
	good := obj.Status.LastGoodRevision

	app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:2"))
	next := app.repo.Commit("second")
	for _, step := range []string{"dependencies", "held", "promotion", "fetch", "decrypt", "render", "plan", "account", "apply", "prune", "health"} {
		_, stop := harness.StartManager(t, cfg, harness.Options{Scheme: scheme, Configure: []func(*controllers.Config){
			func(c *controllers.Config) { c.Failpoints = controllers.Failpoints{step: "panic"} },
		}})
		requestReconcile(t, obj)
		eventually(t, time.Minute, "Ready=False ReconcilePanic in "+step, func(ctx context.Context) (bool, error) {
			if err := get(ctx, obj); err != nil {
				return false, err
			}
			ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition)
			return ready != nil && ready.Status == metav1.ConditionFalse && ready.Reason == v1alpha1.ReconcilePanicReason &&
				strings.Contains(ready.Message, "panic in step "+step), nil
		})
		stop()
		if obj.Status.LastGoodRevision != good || len(obj.Status.Inventory.Entries) != 1 {
			t.Errorf("after a panic in %s: lastGoodRevision %s, inventory %v; want %s and the Deployment",
				step, obj.Status.LastGoodRevision, obj.Status.Inventory.Entries, good)
		}
	}

	startManager(t)
	requestReconcile(t, obj)
	eventually(t, time.Minute, "the second commit applied", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && strings.HasSuffix(obj.Status.LastGoodRevision, next), err
	})
	deleteAppSource(t, obj) // while a manager runs to prune it
}
