package controllers

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

// wakes remembers the AppSources woken because a workload they manage
// changed status. Such a reconcile follows a rollout, and must be quick: a
// blue-green switch follows the last new pod's readiness. It reuses the
// revision it last resolved instead of asking Git for the head again; a
// push, a request, a spec change or the interval ask Git.
type wakes struct{ m sync.Map }

// Why an AppSource was woken, as far as Git is concerned.
type wake int

const (
	byWorkload wake = iota // a managed workload's status changed
	byPush                 // a push: Git's head must be asked for
)

// workloadChanged records a workload's wake, unless a push is pending.
func (w *wakes) workloadChanged(key client.ObjectKey) { w.m.LoadOrStore(key, byWorkload) }

func (w *wakes) pushed(key client.ObjectKey) { w.m.Store(key, byPush) }

// trigger says, once, what woke obj: "spec", "request", "webhook",
// "rollout" (a managed workload's status) or "interval" (a timed requeue,
// or a change to something it reads).
func (w *wakes) trigger(obj *v1alpha1.AppSource) string {
	why, woken := w.m.LoadAndDelete(client.ObjectKeyFromObject(obj))
	switch {
	case obj.Generation != obj.Status.ObservedGeneration:
		return "spec"
	case obj.Annotations[v1alpha1.ReconcileRequestAnnotation] != obj.Status.LastHandledReconcileAt:
		return "request"
	case woken && why == byPush:
		return "webhook"
	case woken:
		return "rollout"
	}
	return "interval"
}

// appliedSets remembers, per AppSource, what its last successful apply was
// given and the generations it produced. A reconcile with the same inputs
// and plan does not apply again when the cache shows the objects as that
// apply left them, or when it only follows a rollout: nothing it would
// write has changed, and the interval still corrects drift.
type appliedSets struct {
	mu sync.Mutex
	m  map[client.ObjectKey]appliedSet
}

type appliedSet struct {
	revision    string
	fingerprint string
	changes     apply.ChangeSet
}

// get returns the changes of the last apply with fingerprint, if that is
// what was last applied.
func (a *appliedSets) get(key client.ObjectKey, fingerprint string) (apply.ChangeSet, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[key]
	return s.changes, ok && s.fingerprint == fingerprint
}

// revision is the revision last applied; the cached AppSource's status
// may not show it yet.
func (a *appliedSets) revision(key client.ObjectKey) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[key].revision
}

func (a *appliedSets) put(key client.ObjectKey, s appliedSet) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[client.ObjectKey]appliedSet{}
	}
	a.m[key] = s
}

func (a *appliedSets) forget(key client.ObjectKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, key)
}
