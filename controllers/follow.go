package controllers

import (
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/source"
)

// wakes remembers why AppSources were woken, as far as Git is concerned.
// A reconcile woken by something other than Git (a managed workload's
// status, a Secret or ConfigMap it reads, an upstream AppSource) does not
// ask Git for the head again when it asked recently (see heads): a push, a
// request, a spec change and the interval do. A rollout is followed by the
// first kind, and must be quick: a blue-green switch follows the last new
// pod's readiness.
type wakes struct{ m sync.Map }

// Why an AppSource was woken.
type wake int

const (
	byWorkload wake = iota // a managed workload's status changed
	byInput                // a Secret or ConfigMap it reads changed
	byUpstream             // an AppSource it depends on changed
	byPush                 // a push: Git's head must be asked for
)

// woke records why key was woken; a pending push is kept.
func (w *wakes) woke(key client.ObjectKey, why wake) {
	if why == byPush {
		w.m.Store(key, why)
		return
	}
	w.m.LoadOrStore(key, why)
}

// forget drops what is known of key.
func (w *wakes) forget(key client.ObjectKey) { w.m.Delete(key) }

// trigger says, once, what woke obj: "spec", "request", "webhook",
// "rollout" (a managed workload's status), "input" (a Secret or ConfigMap
// it reads), "upstream" or "interval" (a timed requeue).
func (w *wakes) trigger(obj *v1alpha1.AppSource) string {
	why, woken := w.m.LoadAndDelete(client.ObjectKeyFromObject(obj))
	switch {
	case obj.Generation != obj.Status.ObservedGeneration:
		return "spec"
	case obj.Annotations[v1alpha1.ReconcileRequestAnnotation] != obj.Status.LastHandledReconcileAt:
		return "request"
	case !woken:
		return "interval"
	}
	return map[wake]string{byWorkload: "rollout", byInput: "input", byUpstream: "upstream", byPush: "webhook"}[why.(wake)]
}

// trigger is what woke obj (see wakes.trigger), except that a wake that
// does not ask Git stands for the interval's poll when Git was not asked
// for a whole interval: the work queue merges requests, so that poll may
// have been merged into it, and the strongest reason wins. A rollout wake
// never skips a due poll, nor the drift check that goes with it.
func (r *AppSourceReconciler) trigger(obj *v1alpha1.AppSource) string {
	t := r.wakes.trigger(obj)
	if !asksGit(t) && !r.heads.askedWithin(client.ObjectKeyFromObject(obj), obj.Spec.Interval.Duration) {
		return "interval"
	}
	return t
}

// woken records why each of objs is woken, and returns their requests.
func (r *AppSourceReconciler) woken(objs []v1alpha1.AppSource, why wake) []reconcile.Request {
	out := make([]reconcile.Request, len(objs))
	for i := range objs {
		key := client.ObjectKeyFromObject(&objs[i])
		r.wakes.woke(key, why)
		out[i] = reconcile.Request{NamespacedName: key}
	}
	return out
}

// asksGit reports whether a reconcile with trigger must ask Git for the head.
func asksGit(trigger string) bool {
	return trigger != "rollout" && trigger != "input" && trigger != "upstream"
}

// heads remembers, per AppSource, the head Git last reported for its ref
// and the request that asked.
type heads struct {
	mu sync.Mutex
	m  map[client.ObjectKey]head
}

type head struct {
	req source.Request
	res source.Result
	at  time.Time
}

// recent returns the head Git reported for req less than maxAge ago.
func (h *heads) recent(key client.ObjectKey, req source.Request, maxAge time.Duration) (source.Result, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	last, ok := h.m[key]
	return last.res, ok && time.Since(last.at) < maxAge && last.req.Equal(req)
}

// askedWithin reports whether Git was asked for key's head less than d ago.
func (h *heads) askedWithin(key client.ObjectKey, d time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	last, ok := h.m[key]
	return ok && time.Since(last.at) < d
}

func (h *heads) put(key client.ObjectKey, req source.Request, res source.Result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[client.ObjectKey]head{}
	}
	h.m[key] = head{req: req, res: res, at: time.Now()}
}

func (h *heads) forget(key client.ObjectKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, key)
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
