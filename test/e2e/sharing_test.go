package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
)

// Two AppSources of one repository and ref cost one fetch, and the
// reconciles show in the metrics.
func TestAppSourcesOfOneRepositoryShareOneFetch(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	app.repo.WriteFile("second/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: second}\n")
	app.repo.Commit("second path")
	before := app.server.UploadPacks()
	first := app.appSource(t, "first")
	second := app.appSource(t, "second", withPath("second"))
	waitReady(t, first, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	waitReady(t, second, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if fetches := app.server.UploadPacks() - before; fetches != 1 {
		t.Errorf("%d fetches for two AppSources of one commit, want 1", fetches)
	}

	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range families {
		found[f.GetName()] = true
	}
	for _, name := range []string{"driftless_reconciles_total", "driftless_reconcile_step_duration_seconds", "driftless_objects_total"} {
		if !found[name] {
			t.Errorf("metric %s not exported", name)
		}
	}
}

// An event that changes no input (here, an annotation on the Secret the
// AppSource reads) reconciles without asking Git: the head was asked for
// less than half an interval ago. The commit pushed meanwhile waits for
// the interval, a push or a request, and a request asks Git at once.
func TestEventsThatChangeNothingDoNotAskGit(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	obj := app.appSource(t, "web", withInterval(time.Hour))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	first := obj.Status.LastAppliedRevision

	app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:2"))
	app.repo.Commit("second, not announced")
	requests := app.server.Requests()
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: app.ns}}
	for i := range 3 {
		before := reconciles(t)
		touch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"annotations":{"touched":"%d"}}}`, i))
		if err := k8s.Patch(t.Context(), auth, touch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "a reconcile after the Secret changed", func(context.Context) (bool, error) {
			return reconciles(t) > before, nil
		})
	}
	if controllers.DefaultConfig().Forgetful {
		// Remembering nothing, every reconcile asks Git, and the commit
		// comes with the first event: more work, the same cluster.
		eventually(t, 30*time.Second, "the second commit applied", func(ctx context.Context) (bool, error) {
			return get(ctx, obj) == nil && obj.Status.LastAppliedRevision != first && obj.Status.LastAppliedRevision != "", nil
		})
		if n := app.server.Requests() - requests; n == 0 {
			t.Error("a forgetful reconciler did not ask Git")
		}
		return
	}
	if n := app.server.Requests() - requests; n != 0 {
		t.Errorf("%d requests to the Git server for events that changed nothing, want 0", n)
	}
	if image := app.deployment(t).Spec.Template.Spec.Containers[0].Image; image != "example.com/web:1" {
		t.Errorf("image %s before the interval or a request, want example.com/web:1", image)
	}

	requestReconcile(t, obj)
	eventually(t, 60*time.Second, "the second commit applied", func(ctx context.Context) (bool, error) {
		return get(ctx, obj) == nil && obj.Status.LastAppliedRevision != first && obj.Status.LastAppliedRevision != "", nil
	})
	if obj.Status.History[0].TriggeredBy != "request" {
		t.Errorf("history[0] triggered by %q, want request", obj.Status.History[0].TriggeredBy)
	}
}

// reconciles counts the AppSource reconciles this process has finished.
func reconciles(t *testing.T) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "appsource" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}
