package apply_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/driftless-dev/driftless/internal/apply"
)

func testNamespace() string { return fmt.Sprintf("t-%08x", rand.Uint32()) }

func TestApplyStagesCRDBeforeItsCustomResource(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	objs := objects(t, `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: `+ns+`}
spec: {size: 3}`, namespace(ns), `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}`)
	// Apply order is the caller's; the engine still stages CRDs and Namespaces first.
	cs := mustApply(t, m, objs, opts)
	if got := cs.String(); !strings.Contains(got, "Widget/"+ns+"/w1 created") ||
		!strings.HasPrefix(got, "Namespace/"+ns+" created\nCustomResourceDefinition/widgets.example.com created") {
		t.Errorf("change set:\n%s", got)
	}
}

func TestApplyWritesOnlyWhatChanged(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	const n = 1000
	build := func(changed int) []*unstructured.Unstructured {
		docs := []string{namespace(ns)}
		for i := range n {
			value := "v1"
			if i < changed {
				value = "v2"
			}
			docs = append(docs, configMap(ns, fmt.Sprintf("cm-%04d", i), value))
		}
		return objects(t, docs...)
	}
	if cs := mustApply(t, m, build(0), opts); cs.Count(apply.Created) != n+1 {
		t.Fatalf("first apply: %s, want %d created", cs.Summary(), n+1)
	}
	versions := resourceVersions(t, ns)

	cs := mustApply(t, m, build(10), opts)
	if cs.Count(apply.Configured) != 10 || cs.Count(apply.Unchanged) != n-9 {
		t.Errorf("apply with 10 changes: %s, want 10 configured, %d unchanged", cs.Summary(), n-9)
	}
	after := resourceVersions(t, ns)
	written := 0
	for name, rv := range after {
		if versions[name] != rv {
			written++
		}
	}
	if written != 10 {
		t.Errorf("%d objects written, want exactly the 10 changed", written)
	}
	if cs := mustApply(t, m, build(10), opts); cs.Changed() {
		t.Errorf("repeated apply changed objects: %s", cs.Summary())
	}
}

func resourceVersions(t *testing.T, ns string) map[string]string {
	var list corev1.ConfigMapList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cm := range list.Items {
		out[cm.Name] = cm.ResourceVersion
	}
	return out
}

func TestApplyRevertsDriftAndKeepsForeignFields(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	objs := objects(t, namespace(ns), configMap(ns, "web", "from-git"))
	mustApply(t, m, objs, opts)

	// Someone edits our field and adds one of their own.
	cm := liveConfigMap(t, ns, "web")
	cm.Data["key"], cm.Data["theirs"] = "edited", "kept"
	editAs(t, cm, "kubectl-edit")

	cs := mustApply(t, m, objs, opts)
	if cs.Drifted() != 1 || cs.Count(apply.Configured) != 1 {
		t.Errorf("change set %q, want the ConfigMap configured with drift corrected", cs.String())
	}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["key"] != "from-git" || cm.Data["theirs"] != "kept" {
		t.Errorf("data = %v, want key reverted to from-git and theirs kept", cm.Data)
	}
}

// TestUntouchedSeesDriftFromTheCache: objects as the last apply left them,
// or changed only in fields that are not ours, are untouched; a change to a
// field we manage is not.
func TestUntouchedSeesDriftFromTheCache(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	objs := objects(t, namespace(ns), configMap(ns, "web", "from-git"))
	mustApply(t, m, objs, opts)
	cm := liveConfigMap(t, ns, "web")
	waitCached(t, cm)
	if !m.Untouched(context.Background(), objs) {
		t.Fatal("Untouched = false right after the apply")
	}

	cm.Labels["team"] = "theirs" // not a field we manage
	editAs(t, cm, "kubectl-label")
	if !m.Untouched(context.Background(), objs) {
		t.Error("Untouched = false after someone else added a label of their own")
	}

	cm.Data["key"] = "edited"
	editAs(t, cm, "kubectl-edit")
	if m.Untouched(context.Background(), objs) {
		t.Error("Untouched = true after someone edited a field we manage")
	}
	if cs := mustApply(t, m, objs, opts); cs.Drifted() != 1 {
		t.Errorf("change set %q, want the drift corrected", cs.String())
	}
}

func TestApplyLeavesReplicasToAnAutoscaler(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	deployment := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ` + ns + `}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: example.com/web:1}]}`
	hpa := `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: ` + ns + `}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10`
	mustApply(t, m, objects(t, namespace(ns), deployment, hpa), opts)

	// The autoscaler scales out.
	d := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: ns, Name: "web"}
	if err := k8s.Get(context.Background(), key, d); err != nil {
		t.Fatal(err)
	}
	scaleOut := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":5}}`))
	if err := k8s.SubResource("scale").Patch(context.Background(), d, scaleOut, client.FieldOwner("horizontal-pod-autoscaler")); err != nil {
		t.Fatal(err)
	}

	mustApply(t, m, objects(t, namespace(ns), strings.Replace(deployment, "example.com/web:1", "example.com/web:2", 1), hpa), opts)
	if err := k8s.Get(context.Background(), key, d); err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 5 || d.Spec.Template.Spec.Containers[0].Image != "example.com/web:2" {
		t.Errorf("replicas %d image %s, want 5 kept from the autoscaler and the new image", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
}

func TestApplyImmutableFieldNamesObjectAndForceRecreates(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	secret := func(value, annotations string) string {
		return fmt.Sprintf(`{apiVersion: v1, kind: ConfigMap, immutable: true, metadata: {name: frozen, namespace: %s, annotations: {%s}}, data: {key: %s}}`, ns, annotations, value)
	}
	mustApply(t, m, objects(t, namespace(ns), secret("one", "")), opts)

	_, err := m.Apply(context.Background(), objects(t, namespace(ns), secret("two", "")), opts)
	var immutable *apply.ImmutableFieldError
	if !errors.As(err, &immutable) || immutable.Object != "ConfigMap/"+ns+"/frozen" {
		t.Fatalf("error = %v, want an ImmutableFieldError naming ConfigMap/%s/frozen", err, ns)
	}

	cs := mustApply(t, m, objects(t, namespace(ns), secret("two", "deploy.driftless.dev/force: enabled")), opts)
	if cs.Count(apply.Recreated) != 1 {
		t.Errorf("change set %q, want the ConfigMap recreated", cs.String())
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "frozen"}, cm); err != nil || cm.Data["key"] != "two" {
		t.Errorf("after force: %v %v, want data key=two", err, cm.Data)
	}
}

// editAs writes obj as field manager owner, as a person or another tool
// would, and waits until the cache shows the change.
func editAs(t *testing.T, obj client.Object, owner string) {
	t.Helper()
	if err := k8s.Update(context.Background(), obj, client.FieldOwner(owner)); err != nil {
		t.Fatal(err)
	}
	waitCached(t, obj)
}

// waitCached waits until the informer cache holds obj at its resourceVersion:
// drift is seen from the cache, once its watch has delivered the change.
func waitCached(t *testing.T, obj client.Object) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cached := &unstructured.Unstructured{}
		gvk, err := apiutil.GVKForObject(obj, k8s.Scheme())
		if err != nil {
			return false, err
		}
		cached.SetGroupVersionKind(gvk)
		err = live.Get(ctx, client.ObjectKeyFromObject(obj), cached)
		return err == nil && cached.GetResourceVersion() == obj.GetResourceVersion(), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("cache never showed %s at resourceVersion %s: %v", obj.GetName(), obj.GetResourceVersion(), err)
	}
}

// TestApplyIfNotPresentOnlyCreates applies objects annotated IfNotPresent:
// the missing one is created, and neither it nor one made by someone else
// is changed afterwards.
func TestApplyIfNotPresentOnlyCreates(t *testing.T) {
	ns := testNamespace()
	m, opts := newManager(t, ns)
	mustApply(t, m, objects(t, namespace(ns)), opts)
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: ns}, Data: map[string]string{"key": "theirs"}}
	if err := k8s.Create(context.Background(), theirs); err != nil {
		t.Fatal(err)
	}
	createOnly := func(value string) []*unstructured.Unstructured {
		objs := objects(t, configMap(ns, "theirs", value), configMap(ns, "ours", value))
		for _, o := range objs {
			o.SetAnnotations(map[string]string{apply.ApplyAnnotation: apply.IfNotPresent})
		}
		return objs
	}
	value := func(name string) string {
		cm := &corev1.ConfigMap{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
			t.Fatal(err)
		}
		return cm.Data["key"]
	}
	cs := mustApply(t, m, createOnly("first"), opts)
	if got := strings.TrimSpace(cs.String()); got != "ConfigMap/"+ns+"/theirs unchanged\nConfigMap/"+ns+"/ours created" {
		t.Errorf("change set:\n%s", got)
	}
	mustApply(t, m, createOnly("second"), opts)
	if got, want := value("theirs")+" "+value("ours"), "theirs first"; got != want {
		t.Errorf("values %q, want %q", got, want)
	}
}
