package render

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSubstitute renders a plain path with Flux's substitution syntax.
func TestSubstitute(t *testing.T) {
	root := tree{
		"app/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${cluster}\n" +
			"data: {region: \"${region:=eu-1}\", literal: \"$${cluster}\", size: \"${size}\"}\n",
		"app/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: ${replicas}\n" +
			"  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n" +
			"    spec: {containers: [{name: web, image: example.com/web:1}]}\n",
		"app/kept.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}}\n" +
			"data: {script: \"echo ${HOME}\"}\n",
	}.write(t)
	render := func(vars map[string]string) ([]*unstructured.Unstructured, error) {
		return Render(context.Background(), Options{Root: root, Path: "app", Substitute: vars})
	}
	objs, err := render(map[string]string{"cluster": "prod-1", "replicas": "3", "size": "10"})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byName[o.GetName()] = o
	}
	cm := byName["config-prod-1"]
	if cm == nil {
		t.Fatalf("no ConfigMap config-prod-1 among %v", kinds(objs))
	}
	for key, want := range map[string]string{"region": "eu-1", "literal": "${cluster}", "size": "10"} {
		if got, _, _ := unstructured.NestedString(cm.Object, "data", key); got != want {
			t.Errorf("data.%s = %q, want %q", key, got, want)
		}
	}
	if replicas, _, _ := unstructured.NestedInt64(byName["web"].Object, "spec", "replicas"); replicas != 3 {
		t.Errorf("replicas = %d, want the number 3", replicas)
	}
	if got, _, _ := unstructured.NestedString(byName["kept"].Object, "data", "script"); got != "echo ${HOME}" {
		t.Errorf("the opted-out ConfigMap was substituted: %q", got)
	}

	_, err = render(map[string]string{"cluster": "prod-1", "size": "10"})
	var e *Error
	if !errors.As(err, &e) || e.Reason != BuildFailed || !strings.Contains(err.Error(), `"replicas"`) || !strings.Contains(err.Error(), "Deployment/web") {
		t.Errorf("an undefined variable: %v, want BuildFailed naming replicas and Deployment/web", err)
	}
}
