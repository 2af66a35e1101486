package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// watched are the labels of a Secret or ConfigMap whose changes reconcile
// the AppSources that read it at once.
var watched = map[string]string{v1alpha1.WatchLabel: "enabled"}

// newNamespace creates a namespace for one test and deletes it afterwards.
func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("test-%08x", rand.Uint32())}}
	if err := k8s.Create(t.Context(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), ns) })
	return ns.Name
}

// eventually polls cond every 50ms until it is true, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, timeout, true, cond)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// appSource builds a valid AppSource; options change it.
func appSource(name, namespace string, opts ...func(*v1alpha1.AppSource)) *v1alpha1.AppSource {
	obj := &v1alpha1.AppSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: v1alpha1.AppSourceSpec{
			Interval: metav1.Duration{Duration: 5 * time.Minute},
			Source: v1alpha1.Source{
				Git: v1alpha1.GitSource{
					URL: "https://git.example.com/org/app.git",
					Ref: v1alpha1.GitRef{Branch: "main"},
				},
				Path: "deploy/overlays/prod",
			},
		},
	}
	for _, o := range opts {
		o(obj)
	}
	return obj
}

func withURL(url string) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) { a.Spec.Source.Git.URL = url }
}

func withRef(ref v1alpha1.GitRef) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) { a.Spec.Source.Git.Ref = ref }
}

func withPath(path string) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) { a.Spec.Source.Path = path }
}

func withInterval(d time.Duration) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) { a.Spec.Interval = metav1.Duration{Duration: d} }
}

func withStrategy(s v1alpha1.Strategy) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) { a.Spec.Strategy = s }
}

func withRender(r *v1alpha1.Render) func(*v1alpha1.AppSource) {
	return func(a *v1alpha1.AppSource) { a.Spec.Render = r }
}

// get reads obj back from the cluster.
func get(ctx context.Context, obj client.Object) error {
	return k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)
}

// createAppSource creates obj, to be deleted when the test ends.
func createAppSource(t testing.TB, obj *v1alpha1.AppSource) {
	t.Helper()
	if err := k8s.Create(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteAppSource(t, obj) })
}

// deleteAppSource deletes obj and waits until it is gone: the test's
// manager, while one runs, prunes and releases it. Without one the test
// releases it itself, so that no namespace is left waiting on a finalizer
// for another test's manager.
func deleteAppSource(t testing.TB, obj *v1alpha1.AppSource) {
	t.Helper()
	ctx := context.Background()
	gone := func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), &v1alpha1.AppSource{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}
	if err := k8s.Delete(ctx, obj); apimeta.IsNoMatchError(err) {
		return // uninstalled with its CRD
	} else if client.IgnoreNotFound(err) != nil {
		t.Errorf("delete AppSource %s/%s: %v", obj.Namespace, obj.Name, err)
		return
	}
	if wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, gone) == nil {
		return
	}
	release := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
	if err := k8s.Patch(ctx, obj, release); client.IgnoreNotFound(err) != nil {
		t.Errorf("release AppSource %s/%s: %v", obj.Namespace, obj.Name, err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, gone); err != nil {
		t.Errorf("AppSource %s/%s not gone: %v", obj.Namespace, obj.Name, err)
	}
}

// crdYAML is a namespaced CustomResourceDefinition of kind (plural: kind in
// lower case and "s") in group, version v1, with any fields and a status
// subresource; description describes its schema.
func crdYAML(group, kind, description string) string {
	plural := strings.ToLower(kind) + "s"
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ` + plural + "." + group + `}
spec:
  group: ` + group + `
  names: {kind: ` + kind + `, plural: ` + plural + `}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        description: ` + description + `
        x-kubernetes-preserve-unknown-fields: true
`
}
