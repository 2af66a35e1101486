package e2e

import (
	"cmp"
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestPatchesAndImagesFromTheSpec deploys a plain YAML path with
// render.kustomize common labels, patches and images, through the render
// sandbox; a patch
// of an object the render lacks is BuildFailed and leaves what runs.
func TestPatchesAndImagesFromTheSpec(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	patches := v1alpha1.PostBuild{
		CommonMetadata: &v1alpha1.CommonMetadata{Labels: map[string]string{"cluster": "eu-1"}},
		Patches: []v1alpha1.Patch{{Patch: `[{"op": "replace", "path": "/spec/replicas", "value": 1}]`,
			Target: &v1alpha1.PatchTarget{Kind: "Deployment", Name: "web"}}},
		Images: []v1alpha1.Image{{Name: "example.com/web", NewTag: "patched"}},
	}
	obj := app.appSource(t, "web", withRender(&v1alpha1.Render{Kustomize: &v1alpha1.KustomizeRender{PostBuild: patches}}))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	check := func() {
		t.Helper()
		d := app.deployment(t)
		if *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[0].Image != "example.com/web:patched" || d.Labels["cluster"] != "eu-1" {
			t.Errorf("replicas %d, image %s, labels %v: want 1, example.com/web:patched and cluster=eu-1",
				*d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image, d.Labels)
		}
	}
	check()

	update(t, obj, func(o *v1alpha1.AppSource) {
		o.Spec.Render.Kustomize.Patches = append(o.Spec.Render.Kustomize.Patches, v1alpha1.Patch{
			Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: missing}\ndata: {a: b}\n"})
	})
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.BuildFailedReason)
	if msg := readyMessage(obj); !strings.Contains(msg, "patches") || !strings.Contains(msg, "missing") {
		t.Errorf("message %q names neither the patches nor the object", msg)
	}
	check()
}

// TestSubstitutionFromTheSpec deploys a plain path whose objects name
// variables, from the spec, a watched ConfigMap and a Secret; the
// ConfigMap's change applies at once, the Secret's value never shows in
// status or events, and a variable that goes missing is BuildFailed naming
// it, leaving what runs.
func TestSubstitutionFromTheSpec(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	const canary = "canary-substituted-7d2f"
	// Block style: ${...} is not valid in a YAML flow mapping.
	app.repo.WriteFile("deploy/deployment.yaml", strings.Replace(deploymentYAML("TAG"),
		"spec: {containers: [{name: web, image: TAG}]}", "spec:\n      containers:\n      - name: web\n        image: example.com/web:${tag}", 1))
	app.repo.WriteFile("deploy/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-${cluster_name}\n"+
		"data: {domain: \"${domain:=example.com}\", token: \"${token}\", literal: \"$${tag}\"}\n")
	app.repo.Commit("variables")
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-vars", Namespace: app.ns, Labels: watched},
		Data: map[string]string{"cluster_name": "eu-1", "tag": "1"}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-secrets", Namespace: app.ns},
		StringData: map[string]string{"token": canary}}
	for _, o := range []client.Object{vars, secret} {
		if err := k8s.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	obj := app.appSource(t, "web", withRender(&v1alpha1.Render{Kustomize: &v1alpha1.KustomizeRender{
		Substitute: map[string]string{"tag": "2"},
		SubstituteFrom: []v1alpha1.SubstituteReference{{Kind: "ConfigMap", Name: "cluster-vars"}, {Kind: "Secret", Name: "cluster-secrets"},
			{Kind: "ConfigMap", Name: "absent", Optional: true}},
	}}))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if img := app.deployment(t).Spec.Template.Spec.Containers[0].Image; img != "example.com/web:2" {
		t.Errorf("image %s: want example.com/web:2, the spec's tag over the ConfigMap's", img)
	}
	config := func(name string) (map[string]string, error) {
		cm := &corev1.ConfigMap{}
		err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: name}, cm)
		return cm.Data, err
	}
	data, err := config("cluster-eu-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"domain": "example.com", "token": canary, "literal": "${tag}"}; !maps.Equal(data, want) {
		t.Errorf("ConfigMap cluster-eu-1: %v, want %v", data, want)
	}

	vars.Data["cluster_name"] = "eu-2"
	if err := k8s.Update(t.Context(), vars); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the watched ConfigMap's change applied", func(context.Context) (bool, error) {
		_, err := config("cluster-eu-2")
		return err == nil, client.IgnoreNotFound(err)
	})

	update(t, obj, func(o *v1alpha1.AppSource) {
		o.Spec.Render.Kustomize.SubstituteFrom = o.Spec.Render.Kustomize.SubstituteFrom[:1]
	})
	waitReady(t, obj, metav1.ConditionFalse, v1alpha1.BuildFailedReason)
	if msg := readyMessage(obj); !strings.Contains(msg, `"token"`) || !strings.Contains(msg, "ConfigMap/cluster-${cluster_name}") {
		t.Errorf("message %q names neither the variable nor the object", msg)
	}
	if _, err := config("cluster-eu-2"); err != nil {
		t.Errorf("what ran is gone after a failed render: %v", err)
	}
	assertNoCanary(t, obj, canary)
}

// TestFleetSharesOneOverlay deploys one overlay as three AppSources, one per
// cluster, each with its own ConfigMap of variables: each applies its own
// values, though the three renders share the render cache.
func TestFleetSharesOneOverlay(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	app.repo.WriteFile("fleet/kustomization.yaml", "resources:\n- info.yaml\n")
	app.repo.WriteFile("fleet/info.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info-${cluster}\n"+
		"data:\n  cluster: ${cluster}\n  region: ${region:=eu-west}\n")
	app.repo.Commit("one overlay for the fleet")
	clusters := map[string]map[string]string{
		"eu-1": {"cluster": "eu-1"},
		"eu-2": {"cluster": "eu-2"},
		"us-1": {"cluster": "us-1", "region": "us-east"},
	}
	for name, vars := range clusters {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vars-" + name, Namespace: app.ns, Labels: watched}, Data: vars}
		if err := k8s.Create(t.Context(), cm); err != nil {
			t.Fatal(err)
		}
		app.appSource(t, name, withPath("fleet"), withRender(&v1alpha1.Render{Kustomize: &v1alpha1.KustomizeRender{
			SubstituteFrom: []v1alpha1.SubstituteReference{{Kind: "ConfigMap", Name: cm.Name}}}}))
	}
	for name, vars := range clusters {
		want := map[string]string{"cluster": name, "region": cmp.Or(vars["region"], "eu-west")}
		eventually(t, time.Minute, "info-"+name+" applied", func(ctx context.Context) (bool, error) {
			cm := &corev1.ConfigMap{}
			err := k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "info-" + name}, cm)
			return err == nil && maps.Equal(cm.Data, want), client.IgnoreNotFound(err)
		})
	}
}
