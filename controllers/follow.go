package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/health"
)

// Why an AppSource was woken, as far as Git is concerned. A reconcile woken
// by something other than Git (a managed workload's status, a Secret or
// ConfigMap it reads, an upstream AppSource) does not ask Git for the head
// again when it asked recently: a push, a request, a spec change and the
// interval do. A rollout is followed by the first kind, and must be quick:
// a blue-green switch follows the last new pod's readiness.
type wake int

// Stronger reasons come later: merged wakes keep the strongest.
const (
	byWorkload wake = iota // a managed workload's status changed
	byInput                // a Secret or ConfigMap it reads changed
	byUpstream             // an AppSource it depends on changed
	byPush                 // a push: Git's head must be asked for
)

// woken records why each of objs is woken, and returns their requests.
func (r *AppSourceReconciler) woken(objs []v1alpha1.AppSource, why wake) []reconcile.Request {
	out := make([]reconcile.Request, len(objs))
	for i := range objs {
		key := client.ObjectKeyFromObject(&objs[i])
		r.memory.woke(key, why)
		out[i] = reconcile.Request{NamespacedName: key}
	}
	return out
}

// asksGit reports whether a reconcile with trigger must ask Git for the head.
func asksGit(trigger string) bool {
	return trigger != "rollout" && trigger != "input" && trigger != "upstream"
}

// follow wakes the AppSource of workload o, whose status changed, once as
// long has passed as the last reconcile that followed a rollout of it took:
// the workloads of a large app change far more often than it can be
// reconciled, and following them then costs at most about half a core
// rather than all of it, while a small app's wake waits a millisecond.
func (r *AppSourceReconciler) follow(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	for _, req := range r.wokenByWorkload(o) {
		q.AddAfter(req, r.memory.followDelay(req.NamespacedName))
	}
}

// wokenByWorkload wakes the AppSource named by the labels of o, one of
// its workloads.
func (r *AppSourceReconciler) wokenByWorkload(o client.Object) []reconcile.Request {
	name, ns := o.GetLabels()[v1alpha1.NameLabel], o.GetLabels()[v1alpha1.NamespaceLabel]
	if name == "" || ns == "" {
		return nil
	}
	key := client.ObjectKey{Namespace: ns, Name: name}
	r.memory.woke(key, byWorkload)
	return []reconcile.Request{{NamespacedName: key}}
}

// podOwner wakes the AppSource of a colour pod's Deployment, found through
// its ReplicaSet (the pod carries none of our labels), when the pod makes
// the Deployment Ready by its pods: the Deployment's status follows the
// others, and a reconcile per pod would only slow the one that switches.
func (r *AppSourceReconciler) podOwner(ctx context.Context, pod client.Object) []reconcile.Request {
	owner := metav1.GetControllerOf(pod)
	if owner == nil || owner.Kind != "ReplicaSet" {
		return nil
	}
	rs := &appsv1.ReplicaSet{}
	if err := r.Cache.Get(ctx, client.ObjectKey{Namespace: pod.GetNamespace(), Name: owner.Name}, rs, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	if owner = metav1.GetControllerOf(rs); owner == nil || owner.Kind != "Deployment" {
		return nil
	}
	d := workload("Deployment")
	if err := r.Cache.Get(ctx, client.ObjectKey{Namespace: pod.GetNamespace(), Name: owner.Name}, d, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	if ready, err := health.ReadyByPods(ctx, r.Cache, d); err != nil || !ready {
		return nil
	}
	return r.wokenByWorkload(d)
}

// podBecameReady wakes the AppSource of a colour pod that became Ready, when
// the pod makes its Deployment Ready by its pods (see podOwner).
func (r *AppSourceReconciler) podBecameReady(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if podIsReady(e.ObjectOld) || !podIsReady(e.ObjectNew) {
		return
	}
	for _, req := range r.podOwner(ctx, e.ObjectNew) {
		q.Add(req)
	}
}

func podIsReady(o client.Object) bool {
	p, ok := o.(*corev1.Pod)
	return ok && health.PodReady(p)
}
