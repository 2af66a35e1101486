package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
		report, err = new(health.Checker).Check(ctx, k8s, refs)
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
