package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestProtectedKindsWaitForConfirmation removes a Namespace, a
// PersistentVolumeClaim and a ConfigMap from Git: the ConfigMap is pruned,
// the other two stay, listed in status.pendingPrune with Ready reason
// PruneAwaitingConfirmation, until the confirm-prune annotation deletes
// exactly them.
func TestProtectedKindsWaitForConfirmation(t *testing.T) {
	startManager(t)
	app := newGitApp(t)
	extra := "extra-" + app.ns
	app.repo.WriteFile("deploy/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+extra+"}\n")
	// A volume for the claim, so that it binds and is healthy.
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-" + app.ns}, Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + app.ns}},
	}}
	if err := k8s.Create(t.Context(), pv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), pv) })
	app.repo.WriteFile("deploy/pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n"+
		"spec: {accessModes: [ReadWriteOnce], storageClassName: \"\", volumeName: "+pv.Name+", resources: {requests: {storage: 1Gi}}}\n")
	app.repo.WriteFile("deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
	app.repo.Commit("namespace, claim and settings")
	obj := app.appSource(t, "web")
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	for _, f := range []string{"deploy/ns.yaml", "deploy/pvc.yaml", "deploy/cm.yaml"} {
		app.repo.Remove(f)
	}
	app.repo.Commit("all three gone")
	requestReconcile(t, obj)
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.PruneAwaitingConfirmationReason)
	want := []string{"Namespace/" + extra, "PersistentVolumeClaim/" + app.ns + "/data"}
	if got := slices.Sorted(slices.Values(obj.Status.PendingPrune)); !slices.Equal(got, want) {
		t.Errorf("pendingPrune %v, want %v", got, want)
	}
	cm, ns, pvc := &corev1.ConfigMap{}, &corev1.Namespace{}, &corev1.PersistentVolumeClaim{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "settings"}, cm); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap settings: %v, want it pruned", err)
	}
	for _, o := range []struct {
		key client.ObjectKey
		obj client.Object
	}{{client.ObjectKey{Name: extra}, ns}, {client.ObjectKey{Namespace: app.ns, Name: "data"}, pvc}} {
		if err := k8s.Get(t.Context(), o.key, o.obj); err != nil || o.obj.GetDeletionTimestamp() != nil {
			t.Errorf("%s: %v, deleting %v; want it kept until confirmed", o.key, err, o.obj.GetDeletionTimestamp())
		}
	}

	update(t, obj, func(a *v1alpha1.AppSource) {
		a.Annotations[v1alpha1.ConfirmPruneAnnotation] = time.Now().Format(time.RFC3339Nano)
	})
	waitReady(t, obj, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if len(obj.Status.PendingPrune) != 0 || len(obj.Status.Inventory.Entries) != 1 {
		t.Errorf("after confirmation: pendingPrune %v, inventory %v; want none and the Deployment", obj.Status.PendingPrune, obj.Status.Inventory.Entries)
	}
	eventually(t, time.Minute, "the Namespace and the claim deleted", func(ctx context.Context) (bool, error) {
		nsErr, pvcErr := k8s.Get(ctx, client.ObjectKey{Name: extra}, ns), k8s.Get(ctx, client.ObjectKey{Namespace: app.ns, Name: "data"}, pvc)
		gone := func(err error, o client.Object) bool {
			return apierrors.IsNotFound(err) || (err == nil && o.GetDeletionTimestamp() != nil)
		}
		return gone(nsErr, ns) && gone(pvcErr, pvc), nil
	})
}
