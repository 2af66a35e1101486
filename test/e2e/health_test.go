package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/health"
)

var deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

func TestHealthReportsCurrentInProgressAndFailed(t *testing.T) {
	ns := newNamespace(t)
	ready := webDeployment(ns, "example.com/web:1")
	stuck := webDeployment(ns, "example.com/web:1")
	stuck.Name = "stuck"
	// No node matches: the pods stay Pending and the rollout never completes.
	stuck.Spec.Template.Spec.NodeSelector = map[string]string{"no-such": "node"}
	if err := k8s.Create(t.Context(), ready); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(t.Context(), stuck); err != nil {
		t.Fatal(err)
	}
	stalled := stalledWidget(t, ns)

	refs := []health.Ref{
		{GroupVersionKind: deploymentGVK, Namespace: ns, Name: "web"},
		{GroupVersionKind: deploymentGVK, Namespace: ns, Name: "stuck"},
		{GroupVersionKind: stalled.GroupVersionKind(), Namespace: ns, Name: stalled.GetName()},
		{GroupVersionKind: deploymentGVK, Namespace: ns, Name: "missing"},
	}
	var report health.Report
	eventually(t, time.Minute, "web Current", func(ctx context.Context) (bool, error) {
		var err error
		report, err = new(health.Checker).Check(ctx, k8s, refs, nil)
		return err == nil && report[0].Status == health.Current, err
	})
	want := []health.Status{health.Current, health.InProgress, health.Failed, health.InProgress}
	for i, res := range report {
		if res.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", res.Ref, res.Status, res.Message, want[i])
		}
	}
	if report.Status() != health.Failed || !strings.HasPrefix(report.Summary(), "Widget/"+ns+"/w Failed") {
		t.Errorf("report %s: %s, want Failed naming the Widget first", report.Status(), report.Summary())
	}
}

// stalledWidget creates a custom resource whose status says it is Stalled.
func stalledWidget(t *testing.T, ns string) *unstructured.Unstructured {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.health.example.com"},
		"spec": map[string]any{
			"group": "health.example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "kind": "Widget"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
	if err := k8s.Create(t.Context(), crd); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "health.example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w", "namespace": ns},
	}}
	eventually(t, 30*time.Second, "Widget created", func(ctx context.Context) (bool, error) {
		return k8s.Create(ctx, w) == nil, nil
	})
	w.Object["status"] = map[string]any{"conditions": []any{map[string]any{
		"type": "Stalled", "status": "True", "reason": "Broken", "message": "cannot reconcile",
	}}}
	if err := k8s.Status().Update(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestCustomResourceHealthByCEL deploys a custom resource whose readiness
// is its status.phase, read by a CEL health check: the AppSource is Ready
// and Healthy only once the phase says so, and a revision whose resource
// turns Broken is rolled back.
func TestCustomResourceHealthByCEL(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	group := fmt.Sprintf("t%08x.example.com", rand.Uint32())
	crd := crdYAML(group, "Gadget", "gadgets")
	commitGadget := func(size int) string {
		app.repo.WriteFile("deploy/deployment.yaml", crd+fmt.Sprintf("---\napiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {size: %d}\n", group, size))
		return app.repo.Commit(fmt.Sprintf("a gadget of size %d", size))
	}
	gadget := func(ctx context.Context) (*unstructured.Unstructured, error) {
		g := &unstructured.Unstructured{}
		g.SetAPIVersion(group + "/v1")
		g.SetKind("Gadget")
		return g, k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "g"}, g)
	}
	// setPhase reports phase for the Gadget's generation, as its controller would.
	setPhase := func(phase string) {
		t.Helper()
		g, err := gadget(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		g.Object["status"] = map[string]any{"phase": phase, "observedGeneration": g.GetGeneration()}
		if err := k8s.Status().Update(t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	healthy := func(obj *v1alpha1.AppSource) string {
		if c := condition(obj, v1alpha1.HealthyCondition); c != nil {
			return string(c.Status) + " " + c.Reason
		}
		return "none"
	}
	commitGadget(1)
	obj := app.appSource(t, "gadgets", withStrategy(v1alpha1.Strategy{Type: v1alpha1.StrategyRolling,
		Rolling: &v1alpha1.RollingStrategy{AutoRollback: true}}), func(o *v1alpha1.AppSource) {
		o.Spec.HealthChecks = []v1alpha1.HealthCheck{{APIVersion: group + "/v1", Kind: "Gadget",
			InProgress: "status.observedGeneration != metadata.generation",
			Failed:     "status.phase == 'Broken'",
			Current:    "status.phase == 'Ready'"}}
	})
	eventually(t, time.Minute, "Progressing while the Gadget reports nothing", func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && healthy(obj) == "Unknown Progressing" && !ready(obj), err
	})
	setPhase("Ready")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if h := healthy(obj); h != "True Current" {
		t.Errorf("Healthy %s, want True Current", h)
	}

	bad := commitGadget(2)
	requestReconcile(t, obj)
	eventually(t, time.Minute, "size 2 applied", func(ctx context.Context) (bool, error) {
		g, err := gadget(ctx)
		size, _, _ := unstructured.NestedInt64(g.Object, "spec", "size")
		return err == nil && size == 2, err
	})
	setPhase("Broken")
	eventually(t, time.Minute, "size 1 back", func(ctx context.Context) (bool, error) {
		g, err := gadget(ctx)
		size, _, _ := unstructured.NestedInt64(g.Object, "spec", "size")
		return err == nil && size == 1, err
	})
	setPhase("Ready")
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.RolledBackReason)
	if !strings.HasSuffix(obj.Status.Rollout.HeldRevision, bad) {
		t.Errorf("held %s, want %s", obj.Status.Rollout.HeldRevision, bad)
	}
}
