package e2e

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
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
