package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

const historyLimit = 10

// writeStatus turns the outcome of a reconcile into conditions, history and
// an event, patches the status once, and says when to reconcile again.
func (r *AppSourceReconciler) writeStatus(ctx context.Context, st *state, runErr error) (ctrl.Result, error) {
	obj := st.obj
	obj.Status.ObservedGeneration = obj.Generation
	if v, ok := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]; ok {
		obj.Status.LastHandledReconcileAt = v
	}
	if st.inventory != nil {
		obj.Status.Inventory = toInventory(st.inventory)
	}
	result := r.conditions(st, runErr)
	observeChanges(st.changes)
	if ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition); ready != nil && !obj.Spec.Suspend {
		reconcilesTotal.WithLabelValues(ready.Reason).Inc()
		if ready.Status == metav1.ConditionTrue {
			lastApplied.WithLabelValues(obj.Namespace, obj.Name).SetToCurrentTime()
		}
	}
	before := st.before
	if equality.Semantic.DeepEqual(before, &obj.Status) {
		observeStatus(obj, before, st.started)
		return result, nil // a reconcile that changed nothing writes nothing
	}
	if wait := r.memory.wroteWithin(client.ObjectKeyFromObject(obj), progressWrites); wait > 0 && st.trigger == "rollout" && progressOnly(before, &obj.Status) {
		// A rollout's progress alone is written at most once per
		// progressWrites: a large rollout wakes the AppSource hundreds of
		// times, and each write is one more request for the API server
		// that the rollout's own writes wait behind.
		observeStatus(obj, before, st.started)
		if result.RequeueAfter == 0 || wait < result.RequeueAfter {
			result.RequeueAfter = wait
		}
		return result, nil
	}
	if err := r.patchStatus(ctx, st); apierrors.IsConflict(err) {
		// Someone else wrote the AppSource since it was read: this run's
		// outcome is computed again from what they wrote.
		statusConflicts.Inc()
		log.FromContext(ctx).V(1).Info("the AppSource changed while it was reconciled; reconciling again", "error", err.Error())
		return ctrl.Result{RequeueAfter: time.Millisecond}, nil
	} else if err != nil {
		return ctrl.Result{}, errors.Join(runErr, fmt.Errorf("write status: %w", err))
	}
	// Once written: a run whose write was refused runs again, and would
	// count its failure twice.
	observeStatus(obj, before, st.started)
	return result, nil
}

// progressWrites is how often a rollout's progress alone is written.
const progressWrites = time.Second

// progressOnly reports whether after differs from before only in what a
// rollout's progress changes: messages and workload counts.
func progressOnly(before, after *v1alpha1.AppSourceStatus) bool {
	b, a := before.DeepCopy(), after.DeepCopy()
	for _, s := range []*v1alpha1.AppSourceStatus{b, a} {
		for i := range s.Conditions {
			s.Conditions[i].Message = ""
		}
		if s.Rollout != nil {
			s.Rollout.Message, s.Rollout.Workloads = "", nil
		}
	}
	return equality.Semantic.DeepEqual(b, a)
}

// patchStatus writes the status changed since st's snapshot, refused if the
// AppSource changed since it was read, and remembers what it wrote, or that
// a write whose response was lost may have landed.
func (r *AppSourceReconciler) patchStatus(ctx context.Context, st *state) error {
	if err := r.Status().Patch(ctx, st.obj, st.statusPatch()); err != nil {
		if !apierrors.IsConflict(err) {
			r.memory.writeFailed(client.ObjectKeyFromObject(st.obj))
		}
		return err
	}
	r.memory.wrote(client.ObjectKeyFromObject(st.obj), st.obj.ResourceVersion)
	st.snapshot()
	return nil
}

// conditions sets Ready, Reconciling and Stalled from runErr.
func (r *AppSourceReconciler) conditions(st *state, runErr error) ctrl.Result {
	obj := st.obj
	var step *stepError
	var wait *waitingError
	switch {
	case obj.Spec.Suspend:
		r.setReady(obj, metav1.ConditionUnknown, v1alpha1.SuspendedReason, "suspended: nothing is fetched, applied or pruned")
		return ctrl.Result{}
	case runErr == nil:
		msg := fmt.Sprintf("Applied revision %s: %s", st.revision, st.changes.Summary())
		if h := obj.Status.History; !st.changes.Changed() && len(h) > 0 && h[0].Revision == st.revision &&
			(h[0].Result == v1alpha1.ReconciliationSucceededReason || h[0].Result == v1alpha1.ProgressingReason) {
			// A run that changed nothing keeps the summary of the one that applied the revision.
			msg = h[0].Message
		}
		reason, readyMsg := v1alpha1.ReconciliationSucceededReason, msg
		if pending := obj.Status.PendingPrune; len(pending) > 0 {
			reason = v1alpha1.PruneAwaitingConfirmationReason
			readyMsg += "; " + pendingPrune(obj)
		}
		r.setReady(obj, metav1.ConditionTrue, reason, readyMsg)
		r.promoted(st)
		if obj.Status.LastGoodRevision != st.revision || obj.Status.LastGoodTime == nil {
			now := metav1.Now()
			obj.Status.LastGoodTime = &now
		}
		obj.Status.LastAppliedRevision, obj.Status.LastGoodRevision = st.revision, st.revision
		r.record(st, v1alpha1.ReconciliationSucceededReason, msg, st.changes.Changed())
		return ctrl.Result{RequeueAfter: st.soonest(jitter(obj.Spec.Interval.Duration))}
	case errors.As(runErr, &wait):
		if st.changes.Changed() {
			r.record(st, v1alpha1.ProgressingReason, fmt.Sprintf("Applied revision %s: %s", st.revision, st.changes.Summary()), true)
		}
		if st.revision != "" && st.objects != nil {
			obj.Status.LastAppliedRevision = st.revision
		}
		setCondition(obj, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, wait.reason, wait.msg)
		setCondition(obj, v1alpha1.ReadyCondition, metav1.ConditionUnknown, wait.reason, wait.msg)
		apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.StalledCondition)
		return ctrl.Result{RequeueAfter: st.soonest(wait.after)}
	case errors.As(runErr, &step):
		r.setFailed(obj, step.reason, runErr.Error(), step.stalled)
		r.record(st, step.reason, runErr.Error(), true)
		if step.stalled {
			return ctrl.Result{}
		}
	default:
		r.setFailed(obj, v1alpha1.ProgressingReason, runErr.Error(), false)
		r.record(st, v1alpha1.ProgressingReason, runErr.Error(), true)
	}
	return ctrl.Result{RequeueAfter: st.soonest(retryInterval(obj))}
}

// pendingPrune says what waits for a person's confirmation, and how to give it.
func pendingPrune(obj *v1alpha1.AppSource) string {
	p := obj.Status.PendingPrune
	verb := "are"
	if len(p) == 1 {
		verb = "is"
	}
	return fmt.Sprintf("%s left Git and %s kept until confirmed: driftless prune --confirm %s", strings.Join(p, ", "), verb, obj.Name)
}

// snapshot remembers the status as written last, the base of the next
// status patch.
func (st *state) snapshot() {
	st.before = st.obj.Status.DeepCopy()
}

// statusPatch patches the status as written last into the status now; a
// reconcile changes nothing else of the AppSource. The lock fails the write
// of a reconcile that read an AppSource older than its last status write;
// the retry reads it afresh.
func (st *state) statusPatch() client.Patch {
	base := st.obj.DeepCopy()
	base.Status = *st.before
	return client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
}

// recheckWithin asks to look again within d, when d is positive.
func (st *state) recheckWithin(d time.Duration) {
	if d > 0 && (st.recheck == 0 || d < st.recheck) {
		st.recheck = d
	}
}

// soonest is d, or sooner when the rollout asked to look again sooner.
func (st *state) soonest(d time.Duration) time.Duration {
	if st.recheck > 0 {
		return min(d, st.recheck)
	}
	return d
}

// promoted reports a revision that promotion let through, the first time it
// is applied and healthy: an event, and the lag behind its upstreams.
func (r *AppSourceReconciler) promoted(st *state) {
	if st.promotedSince.IsZero() || st.obj.Status.LastGoodRevision == st.revision {
		return
	}
	lag := time.Since(st.promotedSince)
	promotionLag.Observe(lag.Seconds())
	r.event(st.obj, corev1.EventTypeNormal, v1alpha1.PromotedReason, "promoted %s, %s after its upstreams were good at it",
		st.revision, lag.Round(time.Second))
}

func (r *AppSourceReconciler) setReady(obj *v1alpha1.AppSource, status metav1.ConditionStatus, reason, msg string) {
	setCondition(obj, v1alpha1.ReadyCondition, status, reason, msg)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ReconcilingCondition)
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.StalledCondition)
}

func (r *AppSourceReconciler) setFailed(obj *v1alpha1.AppSource, reason, msg string, isStalled bool) {
	setCondition(obj, v1alpha1.ReadyCondition, metav1.ConditionFalse, reason, msg)
	if isStalled {
		setCondition(obj, v1alpha1.StalledCondition, metav1.ConditionTrue, reason, msg)
		apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.ReconcilingCondition)
		return
	}
	apimeta.RemoveStatusCondition(&obj.Status.Conditions, v1alpha1.StalledCondition)
	setCondition(obj, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, reason, "retrying: "+msg)
}

func setCondition(obj *v1alpha1.AppSource, kind string, status metav1.ConditionStatus, reason, msg string) {
	const maxMessage = 1024
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type: kind, Status: status, Reason: reason, Message: msg, ObservedGeneration: obj.Generation,
	})
}

// record adds a history entry and an event when something changed or failed.
func (r *AppSourceReconciler) record(st *state, result, msg string, notable bool) {
	if !notable {
		return
	}
	kind := corev1.EventTypeNormal
	if result != v1alpha1.ReconciliationSucceededReason {
		kind = corev1.EventTypeWarning
	}
	if r.Recorder != nil {
		r.Recorder.Eventf(st.obj, nil, kind, result, "Reconcile", "%s", msg)
	}
	entry := v1alpha1.HistoryEntry{
		Revision: st.revision, Result: result, Message: truncate(msg, 256), TriggeredBy: st.trigger,
		StartedAt: metav1.NewTime(st.started), FinishedAt: metav1.Now(),
	}
	h := st.obj.Status.History
	if len(h) > 0 && h[0].Revision == entry.Revision && h[0].Result == entry.Result && h[0].Message == entry.Message {
		// A failure retried with the same outcome extends its entry, so that
		// one broken commit does not push every other entry out.
		h[0].FinishedAt = entry.FinishedAt
		return
	}
	h = append([]v1alpha1.HistoryEntry{entry}, h...)
	st.obj.Status.History = h[:min(len(h), historyLimit)]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// jitter spreads periodic reconciles of many AppSources over ±10% of d.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

func retryInterval(obj *v1alpha1.AppSource) time.Duration {
	if obj.Spec.RetryInterval != nil {
		return obj.Spec.RetryInterval.Duration
	}
	return obj.Spec.Interval.Duration
}
