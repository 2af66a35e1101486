package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/render/helm/chartrepo"
	"github.com/driftless-dev/driftless/internal/source"
)

// memory is everything the reconciler remembers of each AppSource between
// reconciles, in one place. Invariant: anything in it may be dropped at any
// moment and only costs work (a Git poll, a render, an apply), never
// correctness: the truth is in the AppSource's status and in the cluster.
// An AppSource's entry is forgotten when it is deleted. A forgetful memory
// keeps nothing, so every reconcile does all its work: the end-to-end suite
// runs that way too ($DRIFTLESS_FORGETFUL), to hold the invariant.
type memory struct {
	forgetful bool

	mu sync.Mutex
	m  map[client.ObjectKey]*remembered
}

// remembered is what memory keeps of one AppSource.
type remembered struct {
	// last is its last render, good the render of the last revision that
	// became healthy (a failed rollout rolls back to it without a fetch),
	// each with the inputs it came from (see inputsKey).
	last, good renderedEntry
	// head is what Git last reported for its ref, and when.
	head head
	// chart is what the chart's repository last reported, and when.
	chart chartHead
	// applied is what its last successful apply was given.
	applied appliedSet
	// wake is why it was woken since its last reconcile, when woken.
	wake  wake
	woken bool
	// written is the resourceVersion our last write of it returned, at
	// writtenAt.
	written   string
	writtenAt time.Time
	// following is how long its last reconcile that followed a rollout took.
	following time.Duration
}

type renderedEntry struct {
	inputs  string
	objects []*unstructured.Unstructured
}

type head struct {
	req source.Request
	res source.Result
	at  time.Time
}

type chartHead struct {
	src chartrepo.Source
	res chartrepo.Resolved
	at  time.Time
}

type appliedSet struct {
	revision    string
	inputs      string // the render's inputs, without the plan
	fingerprint string
	changes     apply.ChangeSet
}

// read calls fn with key's entry, if there is one.
func (m *memory) read(key client.ObjectKey, fn func(*remembered)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.m[key]; ok {
		fn(e)
	}
}

// write calls fn with key's entry, made if needed; a forgetful memory
// keeps nothing.
func (m *memory) write(key client.ObjectKey, fn func(*remembered)) {
	if m.forgetful {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[client.ObjectKey]*remembered{}
	}
	e, ok := m.m[key]
	if !ok {
		e = &remembered{}
		m.m[key] = e
	}
	fn(e)
}

// forget drops everything known of key.
func (m *memory) forget(key client.ObjectKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
}

// wrote remembers the resourceVersion a write of key returned.
func (m *memory) wrote(key client.ObjectKey, resourceVersion string) {
	m.write(key, func(e *remembered) { e.written, e.writtenAt = resourceVersion, time.Now() })
}

// wroteWithin is how much of d is left since our last write of key; zero
// when none was made within d.
func (m *memory) wroteWithin(key client.ObjectKey, d time.Duration) (left time.Duration) {
	m.read(key, func(e *remembered) {
		if !e.writtenAt.IsZero() {
			left = max(d-time.Since(e.writtenAt), 0)
		}
	})
	return left
}

// unknownVersion stands for a write whose outcome is unknown: its response
// was lost, so the server may hold it. No resourceVersion equals it.
const unknownVersion = "unknown"

// writeFailed remembers that a write of key failed without a refusal: the
// next read of it is from the API server.
func (m *memory) writeFailed(key client.ObjectKey) { m.wrote(key, unknownVersion) }

// stale reports whether resourceVersion, read from the cache, is not the
// one our last write of key returned: the cache may not have seen that
// write yet. Without a remembered write nothing is known to be stale; a
// forgetful memory, which remembers no write, takes everything as stale.
func (m *memory) stale(key client.ObjectKey, resourceVersion string) (stale bool) {
	if m.forgetful {
		return true
	}
	m.read(key, func(e *remembered) { stale = e.written != "" && e.written != resourceVersion })
	return stale
}

// rendered returns the objects rendered from inputs, or nil.
func (m *memory) rendered(key client.ObjectKey, inputs string) (objs []*unstructured.Unstructured) {
	m.read(key, func(e *remembered) { objs = e.render(inputs) })
	return objs
}

// render is the last or the last good render of inputs, or nil.
func (e *remembered) render(inputs string) []*unstructured.Unstructured {
	switch inputs {
	case e.last.inputs:
		return e.last.objects
	case e.good.inputs:
		return e.good.objects
	}
	return nil
}

// hasRender reports whether a render of key is remembered.
func (m *memory) hasRender(key client.ObjectKey) (ok bool) {
	m.read(key, func(e *remembered) { ok = e.last.inputs != "" })
	return ok
}

func (m *memory) putRender(key client.ObjectKey, inputs string, objs []*unstructured.Unstructured) {
	m.write(key, func(e *remembered) { e.last = renderedEntry{inputs: inputs, objects: objs} })
}

// markGood keeps the render of inputs as the one to roll back to.
func (m *memory) markGood(key client.ObjectKey, inputs string) {
	m.read(key, func(e *remembered) {
		if e.last.inputs == inputs && inputs != "" {
			e.good = e.last
		}
	})
}

// recentHead returns the head Git reported for req less than maxAge ago.
func (m *memory) recentHead(key client.ObjectKey, req source.Request, maxAge time.Duration) (res source.Result, ok bool) {
	m.read(key, func(e *remembered) {
		res, ok = e.head.res, !e.head.at.IsZero() && time.Since(e.head.at) < maxAge && e.head.req.Equal(req)
	})
	return res, ok
}

// recentChart returns the version the chart's repository reported for src
// less than maxAge ago.
func (m *memory) recentChart(key client.ObjectKey, src chartrepo.Source, maxAge time.Duration) (res chartrepo.Resolved, ok bool) {
	m.read(key, func(e *remembered) {
		res, ok = e.chart.res, !e.chart.at.IsZero() && time.Since(e.chart.at) < maxAge && e.chart.src == src
	})
	return res, ok
}

func (m *memory) putChart(key client.ObjectKey, src chartrepo.Source, res chartrepo.Resolved) {
	m.write(key, func(e *remembered) { e.chart = chartHead{src: src, res: res, at: time.Now()} })
}

// askedWithin reports whether Git was asked for key's head less than d ago.
func (m *memory) askedWithin(key client.ObjectKey, d time.Duration) (ok bool) {
	m.read(key, func(e *remembered) { ok = !e.head.at.IsZero() && time.Since(e.head.at) < d })
	return ok
}

func (m *memory) putHead(key client.ObjectKey, req source.Request, res source.Result) {
	m.write(key, func(e *remembered) { e.head = head{req: req, res: res, at: time.Now()} })
}

// applied returns the changes of the last apply with fingerprint, if that
// is what was last applied.
func (m *memory) applied(key client.ObjectKey, fingerprint string) (cs apply.ChangeSet, ok bool) {
	m.read(key, func(e *remembered) {
		cs, ok = e.applied.changes, e.applied.fingerprint != "" && e.applied.fingerprint == fingerprint
	})
	return cs, ok
}

// appliedRevision is the revision last applied; the cached AppSource's
// status may not show it yet.
func (m *memory) appliedRevision(key client.ObjectKey) (rev string) {
	m.read(key, func(e *remembered) { rev = e.applied.revision })
	return rev
}

// lastApplied is the revision last applied and the render that was, when
// it is still remembered.
func (m *memory) lastApplied(key client.ObjectKey) (rev, inputs string, objs []*unstructured.Unstructured) {
	m.read(key, func(e *remembered) {
		rev, inputs = e.applied.revision, e.applied.inputs
		if inputs != "" {
			objs = e.render(inputs)
		}
	})
	return rev, inputs, objs
}

func (m *memory) putApplied(key client.ObjectKey, s appliedSet) {
	m.write(key, func(e *remembered) { e.applied = s })
}

// forgetApplied drops what the last apply was given: an apply failed.
func (m *memory) forgetApplied(key client.ObjectKey) {
	m.read(key, func(e *remembered) { e.applied = appliedSet{} })
}

// woke records why key was woken. Requests merged by the work queue keep
// the strongest reason: a push, which asks Git, over any other, and any
// over a workload's status, which reads no input.
func (m *memory) woke(key client.ObjectKey, why wake) {
	m.write(key, func(e *remembered) {
		if !e.woken || why > e.wake {
			e.wake, e.woken = why, true
		}
	})
}

// trigger says, once, what woke obj: "spec", "request", "webhook",
// "rollout" (a managed workload's status), "input" (a Secret or ConfigMap
// it reads), "upstream" or "interval" (a timed requeue). A wake that does
// not ask Git stands for the interval's poll when Git was not asked for a
// whole interval: that poll may have been merged into it, and a rollout
// wake never skips a due poll, nor the drift check that goes with it.
func (m *memory) trigger(obj *v1alpha1.AppSource) string {
	key := client.ObjectKeyFromObject(obj)
	var why wake
	var woken bool
	m.read(key, func(e *remembered) { why, woken, e.woken = e.wake, e.woken, false })
	var t string
	switch {
	case obj.Generation != obj.Status.ObservedGeneration:
		return "spec"
	case obj.Annotations[v1alpha1.ReconcileRequestAnnotation] != obj.Status.LastHandledReconcileAt:
		return "request"
	case !woken:
		return "interval"
	default:
		t = map[wake]string{byWorkload: "rollout", byInput: "input", byUpstream: "upstream", byPush: "webhook"}[why]
	}
	if !asksGit(t) && !m.askedWithin(key, obj.Spec.Interval.Duration) {
		return "interval"
	}
	return t
}

// maxFollowDelay bounds how long a workload's wake waits (see followDelay).
const maxFollowDelay = time.Second

// followed remembers how long a reconcile that followed a rollout took.
func (m *memory) followed(key client.ObjectKey, took time.Duration) {
	m.write(key, func(e *remembered) { e.following = took })
}

// followDelay is how long a workload's wake of key waits: as long as its
// last reconcile that followed a rollout took, at most maxFollowDelay.
func (m *memory) followDelay(key client.ObjectKey) (d time.Duration) {
	m.read(key, func(e *remembered) { d = min(e.following, maxFollowDelay) })
	return d
}
