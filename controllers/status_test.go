package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

const (
	good = "main@sha1:1111111111111111111111111111111111111111"
	next = "main@sha1:2222222222222222222222222222222222222222"
)

// statusOf runs the status writer's decisions for one outcome of a
// reconcile of next, on an AppSource last good at good.
func statusOf(t *testing.T, runErr error, mod func(*state)) (*v1alpha1.AppSource, time.Duration) {
	t.Helper()
	obj := &v1alpha1.AppSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Generation: 2}}
	obj.Spec.Interval = metav1.Duration{Duration: time.Minute}
	obj.Status.LastGoodRevision, obj.Status.LastAppliedRevision = good, good
	st := &state{obj: obj, started: time.Now(), revision: next, trigger: "interval"}
	st.snapshot()
	if mod != nil {
		mod(st)
	}
	res := (&AppSourceReconciler{}).conditions(st, runErr)
	return obj, res.RequeueAfter
}

// TestConditions: each kind of outcome gives its Ready, Reconciling and
// Stalled, marks good only a success, and says when to look again.
func TestConditions(t *testing.T) {
	applied := apply.ChangeSet{{Object: "ConfigMap/ns/a", Action: apply.Created}}
	tests := []struct {
		name                      string
		err                       error
		mod                       func(*state)
		ready                     metav1.ConditionStatus
		reason                    string
		reconciling, stalled      bool
		lastGood, lastApplied     string
		requeueAtLeast, requeueAt time.Duration
	}{
		{name: "success", mod: func(st *state) { st.changes = applied },
			ready: metav1.ConditionTrue, reason: v1alpha1.ReconciliationSucceededReason,
			lastGood: next, lastApplied: next, requeueAtLeast: 54 * time.Second, requeueAt: 66 * time.Second},
		{name: "success with protected objects waiting", mod: func(st *state) { st.obj.Status.PendingPrune = []string{"Namespace/old"} },
			ready: metav1.ConditionTrue, reason: v1alpha1.PruneAwaitingConfirmationReason,
			lastGood: next, lastApplied: next, requeueAtLeast: 54 * time.Second, requeueAt: 66 * time.Second},
		{name: "transient failure", err: failed(v1alpha1.BuildFailedReason, errors.New("deploy/a.yaml: bad")),
			ready: metav1.ConditionFalse, reason: v1alpha1.BuildFailedReason, reconciling: true,
			lastGood: good, lastApplied: good, requeueAtLeast: time.Minute, requeueAt: time.Minute},
		{name: "stalled", err: stalled(v1alpha1.InvalidSpecReason, errors.New("spec.path: outside")),
			ready: metav1.ConditionFalse, reason: v1alpha1.InvalidSpecReason, stalled: true,
			lastGood: good, lastApplied: good},
		{name: "panic", err: failed(v1alpha1.ReconcilePanicReason, errors.New("panic in step render: boom")),
			ready: metav1.ConditionFalse, reason: v1alpha1.ReconcilePanicReason, reconciling: true,
			lastGood: good, lastApplied: good, requeueAtLeast: time.Minute, requeueAt: time.Minute},
		{name: "waiting, applied", err: waiting(v1alpha1.ProgressingReason, 2*time.Second, "waiting for Deployment/ns/web"),
			mod:   func(st *state) { st.changes, st.objects = applied, nil },
			ready: metav1.ConditionUnknown, reason: v1alpha1.ProgressingReason, reconciling: true,
			lastGood: good, lastApplied: good, requeueAtLeast: 2 * time.Second, requeueAt: 2 * time.Second},
		{name: "unknown error", err: errors.New("write status: conflict"),
			ready: metav1.ConditionFalse, reason: v1alpha1.ProgressingReason, reconciling: true,
			lastGood: good, lastApplied: good, requeueAtLeast: time.Minute, requeueAt: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, requeue := statusOf(t, tt.err, tt.mod)
			ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition)
			if ready == nil || ready.Status != tt.ready || ready.Reason != tt.reason {
				t.Fatalf("Ready = %+v, want %s %s", ready, tt.ready, tt.reason)
			}
			if got := apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ReconcilingCondition); got != tt.reconciling {
				t.Errorf("Reconciling = %v, want %v", got, tt.reconciling)
			}
			if got := apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.StalledCondition); got != tt.stalled {
				t.Errorf("Stalled = %v, want %v", got, tt.stalled)
			}
			if obj.Status.LastGoodRevision != tt.lastGood || obj.Status.LastAppliedRevision != tt.lastApplied {
				t.Errorf("lastGood %s, lastApplied %s; want %s, %s", obj.Status.LastGoodRevision, obj.Status.LastAppliedRevision, tt.lastGood, tt.lastApplied)
			}
			if requeue < tt.requeueAtLeast || requeue > tt.requeueAt {
				t.Errorf("requeue after %s, want %s to %s", requeue, tt.requeueAtLeast, tt.requeueAt)
			}
			if tt.reason == v1alpha1.PruneAwaitingConfirmationReason && !strings.Contains(ready.Message, "Namespace/old left Git") {
				t.Errorf("message %q does not name what waits", ready.Message)
			}
		})
	}
}

// TestHistory: newest first, a failure retried with the same outcome
// extends its entry, bounded at historyLimit, a success that changed
// nothing records nothing.
func TestHistory(t *testing.T) {
	obj := &v1alpha1.AppSource{}
	st := &state{obj: obj, started: time.Now(), trigger: "interval"}
	r := &AppSourceReconciler{}
	r.record(st, v1alpha1.BuildFailedReason, "bad", true)
	r.record(st, v1alpha1.BuildFailedReason, "bad", true)
	if len(obj.Status.History) != 1 {
		t.Fatalf("a failure retried: %d entries, want 1", len(obj.Status.History))
	}
	r.record(st, v1alpha1.ReconciliationSucceededReason, "nothing changed", false)
	if len(obj.Status.History) != 1 {
		t.Errorf("an unchanged success was recorded")
	}
	for i := range 2 * historyLimit {
		st.revision = fmt.Sprintf("main@sha1:%040d", i)
		r.record(st, v1alpha1.ReconciliationSucceededReason, "applied", true)
	}
	h := obj.Status.History
	if len(h) != historyLimit || h[0].Revision != fmt.Sprintf("main@sha1:%040d", 2*historyLimit-1) {
		t.Errorf("history of %d entries, newest %s: want %d, newest first", len(h), h[0].Revision, historyLimit)
	}
	r.record(st, v1alpha1.BuildFailedReason, strings.Repeat("x", 1000), true)
	if n := len(obj.Status.History[0].Message); n > 256 {
		t.Errorf("a message of %d bytes kept, want at most 256", n)
	}
}

// A rollout's progress is messages and workload counts; anything else is
// written at once.
func TestProgressOnly(t *testing.T) {
	before := &v1alpha1.AppSourceStatus{LastAppliedRevision: next,
		Conditions: []metav1.Condition{{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionUnknown, Reason: v1alpha1.ProgressingReason, Message: "1/5"}},
		Rollout:    &v1alpha1.RolloutStatus{Phase: v1alpha1.RolloutProgressing, Message: "1/5", Workloads: []v1alpha1.WorkloadStatus{{Name: "web"}}}}
	tests := []struct {
		name   string
		change func(*v1alpha1.AppSourceStatus)
		want   bool
	}{
		{"messages and counts", func(s *v1alpha1.AppSourceStatus) {
			s.Conditions[0].Message, s.Rollout.Message, s.Rollout.Workloads = "3/5", "3/5", nil
		}, true},
		{"a condition's reason", func(s *v1alpha1.AppSourceStatus) { s.Conditions[0].Reason = v1alpha1.ReconciliationSucceededReason }, false},
		{"the phase", func(s *v1alpha1.AppSourceStatus) { s.Rollout.Phase = v1alpha1.RolloutSucceeded }, false},
		{"the revision applied", func(s *v1alpha1.AppSourceStatus) { s.LastAppliedRevision = good }, false},
	}
	for _, tt := range tests {
		after := before.DeepCopy()
		tt.change(after)
		if got := progressOnly(before, after); got != tt.want {
			t.Errorf("%s changed: progress only = %v, want %v", tt.name, got, tt.want)
		}
	}
}
