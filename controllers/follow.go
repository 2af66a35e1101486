package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
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
