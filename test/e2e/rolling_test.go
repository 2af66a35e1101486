package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/localcluster"
)

// rollingYAML is a Deployment rolled one pod at a time, that gives up after
// progressDeadlineSeconds; never-ready pods run but never become Ready.
func rollingYAML(image string, neverReady bool) string {
	labels := "{app: web}"
	if neverReady {
		labels = "{app: web, " + localcluster.NeverReadyLabel + `: "true"}`
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  progressDeadlineSeconds: 5
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: ` + labels + `}
    spec: {containers: [{name: web, image: ` + image + `}]}
`
}

func TestRollingRollsBackAFailedCommitAndHoldsIt(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	app.repo.WriteFile("deploy/deployment.yaml", rollingYAML("example.com/web:1", false))
	good := app.repo.Commit("good")
	obj := app.appSource(t, "web", withStrategy(v1alpha1.Strategy{
		Type: v1alpha1.StrategyRolling, Rolling: &v1alpha1.RollingStrategy{AutoRollback: true},
	}))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if !strings.HasSuffix(obj.Status.LastGoodRevision, good) || obj.Status.Rollout.Phase != v1alpha1.RolloutSucceeded {
		t.Fatalf("lastGoodRevision %s, rollout %+v; want %s Succeeded", obj.Status.LastGoodRevision, obj.Status.Rollout, good)
	}

	rollback := timeRollback(t, app.ns, "example.com/web:1")
	app.repo.WriteFile("deploy/deployment.yaml", rollingYAML("example.com/web:2", true))
	bad := app.repo.Commit("pods never become ready")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.RolledBackReason)
	ro := obj.Status.Rollout
	if ro.Phase != v1alpha1.RolloutRolledBack || !strings.HasSuffix(ro.HeldRevision, bad) ||
		!strings.HasSuffix(obj.Status.LastAppliedRevision, good) {
		t.Fatalf("rollout %+v, lastApplied %s; want RolledBack holding %s, %s applied", ro, obj.Status.LastAppliedRevision, bad, good)
	}
	msg := readyMessage(obj)
	for _, want := range []string{bad, good, "Deployment/" + app.ns + "/web"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not name %s", msg, want)
		}
	}
	d := app.deployment(t)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "example.com/web:1" {
		t.Errorf("image after rollback %s, want example.com/web:1", img)
	}
	t.Logf("rollback applied %s after the progress deadline was exceeded", rollback())
	waitRolledOut(t, d, 3)

	// The held commit is not applied again while Git stays on it.
	requestReconcile(t, obj)
	waitHandled(t, obj)
	if img := app.deployment(t).Spec.Template.Spec.Containers[0].Image; img != "example.com/web:1" ||
		obj.Status.Rollout.Phase != v1alpha1.RolloutRolledBack {
		t.Errorf("after another reconcile: image %s, phase %s; want the rollback kept", img, obj.Status.Rollout.Phase)
	}

	// A newer good commit rolls forward, within maxSurge 1 and maxUnavailable 0.
	pods := watchPods(t, app.ns)
	app.repo.WriteFile("deploy/deployment.yaml", rollingYAML("example.com/web:3", false))
	fixed := app.repo.Commit("fixed")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if !strings.HasSuffix(obj.Status.LastGoodRevision, fixed) || obj.Status.Rollout.HeldRevision != "" {
		t.Errorf("lastGood %s, held %q; want %s and no hold", obj.Status.LastGoodRevision, obj.Status.Rollout.HeldRevision, fixed)
	}
	if maxPods, minAvailable, _ := pods(); maxPods > 4 || minAvailable < 3 {
		t.Errorf("rollout had up to %d pods and down to %d available; want ≤ 4 and ≥ 3", maxPods, minAvailable)
	}
}

// timeRollback watches Deployment web and returns a function that reports
// how long after its progress deadline was exceeded the template's image
// changed back to image: the moment the rollback reached the API server.
func timeRollback(t *testing.T, ns, image string) func() time.Duration {
	w, err := clientset.AppsV1().Deployments(ns).Watch(t.Context(), metav1.ListOptions{FieldSelector: "metadata.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	done := make(chan time.Duration, 1)
	go func() {
		var exceeded time.Time
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			for _, c := range d.Status.Conditions {
				if exceeded.IsZero() && c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
					exceeded = time.Now()
				}
			}
			if !exceeded.IsZero() && d.Spec.Template.Spec.Containers[0].Image == image {
				done <- time.Since(exceeded)
				return
			}
		}
	}()
	return func() time.Duration {
		select {
		case d := <-done:
			return d
		case <-time.After(time.Minute):
			t.Fatal("no rollback seen after the progress deadline")
			return 0
		}
	}
}

// waitHandled waits until the controller has handled the last reconcile request.
func waitHandled(t *testing.T, obj *v1alpha1.AppSource) {
	t.Helper()
	want := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]
	eventually(t, time.Minute, "reconcile request handled", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastHandledReconcileAt == want, err
	})
}
