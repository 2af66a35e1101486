package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestHelmCapabilitiesAreTheClusters renders a chart gated on the
// cluster's version and on an API only this cluster serves (the AppSource
// CRD): .Capabilities is read from discovery, as `helm install` reads it,
// not `helm template`'s offline defaults (Kubernetes v1.37.0, no CRDs).
func TestHelmCapabilitiesAreTheClusters(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	app.repo.WriteFile("chart/Chart.yaml", "apiVersion: v2\nname: gated\nversion: 0.1.0\n")
	app.repo.WriteFile("chart/templates/capabilities.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: capabilities}
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  recent: {{ semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version | quote }}
  pdb: {{ .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" | quote }}
  appsources: {{ .Capabilities.APIVersions.Has "deploy.driftless.dev/v1alpha1/AppSource" | quote }}
  widgets: {{ .Capabilities.APIVersions.Has "shop.example.com/v1" | quote }}
`)
	app.repo.Commit("a chart gated on the cluster")
	obj := app.appSource(t, "gated", withPath("chart"))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	version, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "capabilities"}, cm); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"kube": version.GitVersion, "recent": "true", "pdb": "true", "appsources": "true", "widgets": "false"}
	for k, v := range want {
		if cm.Data[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, cm.Data[k], v, cm.Data)
		}
	}
}

// TestHelmChartCRDsFollowHelmsRules installs a chart whose crds/ holds a
// CRD and whose templates make a resource of it. The CRD is created when
// missing and then left as it is, until the AppSource opts in to updates;
// deleting the AppSource deletes the chart's resource but neither the CRD
// nor a resource of its kind made by someone else.
func TestHelmChartCRDsFollowHelmsRules(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	group := fmt.Sprintf("t%08x.example.com", rand.Uint32())
	crd := func(description string) string { return crdYAML(group, "Widget", description) }
	widget := func(name string) string {
		return "apiVersion: " + group + "/v1\nkind: Widget\nmetadata: {name: " + name + "}\n"
	}
	app.repo.WriteFile("chart/Chart.yaml", "apiVersion: v2\nname: widgets\nversion: 0.1.0\n")
	app.repo.WriteFile("chart/crds/widgets.yaml", crd("first"))
	app.repo.WriteFile("chart/templates/widget.yaml", widget("charted"))
	app.repo.Commit("a chart with a CRD")
	obj := app.appSource(t, "widgets", withPath("chart"))
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	description := func() string {
		live := &apiextensionsv1.CustomResourceDefinition{}
		if err := k8s.Get(t.Context(), client.ObjectKey{Name: "widgets." + group}, live); err != nil {
			t.Fatal(err)
		}
		return live.Spec.Versions[0].Schema.OpenAPIV3Schema.Description
	}
	if d := description(); d != "first" {
		t.Fatalf("the CRD's description is %q, want first", d)
	}
	theirs := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(widget("theirs")), &theirs.Object); err != nil {
		t.Fatal(err)
	}
	theirs.SetNamespace(app.ns)
	if err := k8s.Create(t.Context(), theirs); err != nil {
		t.Fatal(err)
	}

	// A new CRD in the chart: left alone by default (Create), applied with
	// CreateReplace.
	app.repo.WriteFile("chart/crds/widgets.yaml", crd("second"))
	commit := app.repo.Commit("the CRD changes")
	requestReconcile(t, obj)
	waitApplied(t, obj, commit)
	if d := description(); d != "first" {
		t.Errorf("with crds: Create, the CRD was updated to %q", d)
	}
	update(t, obj, func(o *v1alpha1.AppSource) {
		o.Spec.Render = &v1alpha1.Render{Helm: &v1alpha1.HelmRender{CRDs: v1alpha1.CRDsCreateReplace}}
	})
	eventually(t, time.Minute, "the CRD updated with crds: CreateReplace", func(context.Context) (bool, error) {
		return description() == "second", nil
	})

	deleteAppSource(t, obj)
	eventually(t, time.Minute, "the chart's Widget pruned", func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "charted"}, theirs.DeepCopy())
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if d := description(); d != "second" {
		t.Errorf("the CRD after the AppSource's deletion: %q", d)
	}
	if err := k8s.Get(t.Context(), client.ObjectKeyFromObject(theirs), theirs.DeepCopy()); err != nil {
		t.Errorf("the Widget made by someone else: %v", err)
	}
}
