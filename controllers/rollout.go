package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/health"
	"github.com/driftless-dev/driftless/internal/strategy/rolling"
)

// checkHeld keeps a revision whose rollout failed from being applied again:
// while the ref's head is the held revision, the last good revision stays
// applied (and is still drift-corrected). Git moving on releases the hold.
func (r *AppSourceReconciler) checkHeld(ctx context.Context, st *state) error {
	ro := st.obj.Status.Rollout
	if ro == nil || ro.HeldRevision == "" {
		return nil
	}
	_, head, err := r.head(ctx, st)
	if err != nil {
		return err
	}
	if head.Revision != ro.HeldRevision {
		ro.HeldRevision = ""
		return nil
	}
	if st.obj.Status.LastGoodRevision == "" {
		return failed(ro.Phase.Reason(), fmt.Errorf("revision %s failed and is held; no earlier revision was good", ro.HeldRevision))
	}
	st.pin, st.held = st.obj.Status.LastGoodRevision, ro.HeldRevision
	return nil
}

// checkHealth judges the rollout of the applied revision from the workloads'
// status in the informer cache. While they roll, the reconcile waits and is
// woken by their watches; a failed rollout is rolled back when asked.
func (r *AppSourceReconciler) checkHealth(ctx context.Context, st *state) error {
	rules, err := healthRules(st.obj)
	if err != nil {
		return err
	}
	report, err := r.health.Check(ctx, r.Cache, refsOf(st.objects, st.applied), rules)
	if err != nil {
		return failed(v1alpha1.HealthCheckFailedReason, err)
	}
	if unwatched(report) {
		st.recheckWithin(healthPoll)
	}
	obj := st.obj
	switch report.Status() {
	case health.Current:
		setCondition(obj, v1alpha1.HealthyCondition, metav1.ConditionTrue, v1alpha1.CurrentReason, report.Summary())
	case health.Failed:
		setCondition(obj, v1alpha1.HealthyCondition, metav1.ConditionFalse, v1alpha1.HealthCheckFailedReason, report.Summary())
	default:
		setCondition(obj, v1alpha1.HealthyCondition, metav1.ConditionUnknown, v1alpha1.ProgressingReason, report.Summary())
	}
	if st.blueGreen != nil {
		return r.advanceBlueGreen(ctx, st, report)
	}
	if st.held != "" {
		return r.reportHeld(ctx, st, report)
	}
	obs := rolling.Observation{
		Revision: st.revision, LastGood: obj.Status.LastGoodRevision,
		Health: rolling.Health(report.Status()), Message: report.Summary(),
		Started: rolloutStart(obj, st.revision), Now: time.Now(), Timeout: r.timeout(obj),
		AutoRollback: obj.Spec.Strategy.Rolling != nil && obj.Spec.Strategy.Rolling.AutoRollback,
	}
	d := rolling.Decide(obs)
	setRollout(obj, v1alpha1.RolloutPhase(d.Phase), st.revision, d.Message, workloads(report))
	if d.Phase == rolling.Succeeded {
		if err := r.postHooks(ctx, st); err != nil {
			// A failed post hook fails the revision: the strategy says
			// whether it is rolled back; if not, the hook's error stands.
			var hookErr *stepError
			if !errors.As(err, &hookErr) || hookErr.reason != v1alpha1.HookFailedReason {
				return err
			}
			obs.Health, obs.Message = rolling.Failed, err.Error()
			if d = rolling.Decide(obs); d.Phase != rolling.RolledBack {
				return err
			}
			setRollout(obj, v1alpha1.RolloutPhase(d.Phase), st.revision, d.Message, workloads(report))
		}
	}
	switch d.Phase {
	case rolling.Succeeded:
		r.memory.markGood(client.ObjectKeyFromObject(obj), st.inputs)
		if st.leavingBlueGreen {
			obj.Status.Rollout.ActiveColor, obj.Status.Rollout.PreviewColor = "", ""
			st.recheckWithin(time.Second) // the next pass prunes the colours
		}
		return nil
	case rolling.Progressing:
		return waiting(v1alpha1.ProgressingReason, d.RecheckAfter, "applied %s, waiting for %s", st.revision, report.Summary())
	case rolling.RolledBack:
		if err := r.rollBack(ctx, st); err != nil {
			obj.Status.Rollout.Phase = v1alpha1.RolloutFailed
			return failed(v1alpha1.HealthCheckFailedReason, fmt.Errorf("%s; the rollback failed: %w", d.Message, err))
		}
		obj.Status.Rollout.HeldRevision = obj.Status.Rollout.Revision
		return failed(v1alpha1.RolledBackReason, fmt.Errorf("%s", d.Message))
	}
	return failed(v1alpha1.HealthCheckFailedReason, fmt.Errorf("%s", d.Message))
}

// healthRules compiles spec.healthChecks; one that does not compile is an
// invalid spec.
func healthRules(obj *v1alpha1.AppSource) (*health.Rules, error) {
	rules := make([]health.Rule, len(obj.Spec.HealthChecks))
	for i, c := range obj.Spec.HealthChecks {
		rules[i] = health.Rule{APIVersion: c.APIVersion, Kind: c.Kind, Current: c.Current, InProgress: c.InProgress, Failed: c.Failed}
	}
	compiled, err := health.CompileRules(rules)
	if err != nil {
		return nil, stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.healthChecks%w", err))
	}
	return compiled, nil
}

// reportHeld reports the last good revision running while the head is held.
func (r *AppSourceReconciler) reportHeld(ctx context.Context, st *state, report health.Report) error {
	ro := st.obj.Status.Rollout
	ro.Workloads = workloads(report)
	switch report.Status() {
	case health.InProgress:
		return waiting(v1alpha1.ProgressingReason, 5*time.Second, "rolling back to %s, waiting for %s", st.revision, report.Summary())
	case health.Failed:
		return failed(v1alpha1.HealthCheckFailedReason, fmt.Errorf("holding %s, and %s is not healthy either: %s",
			st.held, st.revision, report.Summary()))
	}
	return failed(ro.Phase.Reason(), fmt.Errorf("revision %s failed and is held until Git moves past it; running %s: %s",
		st.held, st.revision, ro.Message))
}

// rollBack applies the last good revision's objects, rendered again only
// when they are no longer remembered, and prunes what the failed revision
// added. The state then describes the cluster after the rollback.
func (r *AppSourceReconciler) rollBack(ctx context.Context, st *state) error {
	// Prune must see what the failed revision created, even in this reconcile.
	st.obj.Status.Inventory = toInventory(st.inventory)
	// A rollback runs no hook (see releaseHooks): Helm would run rollback
	// hooks, which are not run.
	good := &state{obj: st.obj, started: st.started, pin: st.obj.Status.LastGoodRevision, held: st.revision}
	defer func() {
		if good.workDir != "" {
			os.RemoveAll(good.workDir)
		}
	}()
	for _, s := range []step{r.fetch, r.decrypt, r.render, r.separateHooks, r.apply, r.prune} {
		err := s(ctx, good)
		st.changes = append(st.changes, good.changes...)
		good.changes = nil
		if err != nil {
			return err
		}
	}
	st.inventory = good.inventory
	st.obj.Status.LastAppliedRevision = good.revision
	return nil
}

// setRollout records the rollout's phase; the transition time moves only
// when the phase or the revision does, so it tells how long a phase lasts.
func setRollout(obj *v1alpha1.AppSource, phase v1alpha1.RolloutPhase, revision, msg string, workloads []v1alpha1.WorkloadStatus) {
	ro := obj.Status.Rollout
	if ro == nil {
		ro = &v1alpha1.RolloutStatus{}
		obj.Status.Rollout = ro
	}
	if ro.Phase != phase || ro.Revision != revision || ro.LastTransitionTime == nil {
		now := metav1.Now()
		ro.LastTransitionTime = &now
	}
	ro.Phase, ro.Revision, ro.Message, ro.Workloads = phase, revision, truncate(msg, 512), workloads
	observePhase(obj, phase)
}

// rolloutStart is when the rollout of revision began: now, unless the status
// already shows it progressing.
func rolloutStart(obj *v1alpha1.AppSource, revision string) time.Time {
	ro := obj.Status.Rollout
	if ro != nil && ro.Revision == revision && ro.Phase == v1alpha1.RolloutProgressing && ro.LastTransitionTime != nil {
		return ro.LastTransitionTime.Time
	}
	return time.Now()
}

// workloads is the progress of each Deployment, StatefulSet and DaemonSet
// of a health report, from the objects it read.
func workloads(report health.Report) []v1alpha1.WorkloadStatus {
	var out []v1alpha1.WorkloadStatus
	for _, res := range report {
		gvk := res.Ref.GroupVersionKind
		if res.Object == nil || gvk.Group != "apps" || !isWorkload(gvk.Kind) || len(out) == 256 {
			continue
		}
		out = append(out, workloadStatus(res.Object))
	}
	return out
}

// healthPoll is how soon health is checked again while an object whose
// changes wake no reconcile (anything but a workload) is on its way.
const healthPoll = 2 * time.Second

// unwatched reports whether an object is InProgress whose changes no watch
// reports: only polling sees it become Current.
func unwatched(report health.Report) bool {
	for _, res := range report {
		if gvk := res.Ref.GroupVersionKind; res.Status == health.InProgress && (gvk.Group != "apps" || !isWorkload(gvk.Kind)) {
			return true
		}
	}
	return false
}

func isWorkload(kind string) bool {
	return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet"
}

func workloadStatus(live *unstructured.Unstructured) v1alpha1.WorkloadStatus {
	count := func(fields ...string) int32 {
		n, _, _ := unstructured.NestedInt64(live.Object, fields...)
		return int32(n)
	}
	w := v1alpha1.WorkloadStatus{
		Name:              live.GetKind() + "/" + live.GetNamespace() + "/" + live.GetName(),
		Replicas:          count("spec", "replicas"),
		UpdatedReplicas:   count("status", "updatedReplicas"),
		ReadyReplicas:     count("status", "readyReplicas"),
		AvailableReplicas: count("status", "availableReplicas"),
	}
	if live.GetKind() == "DaemonSet" {
		w.Replicas = count("status", "desiredNumberScheduled")
		w.UpdatedReplicas = count("status", "updatedNumberScheduled")
		w.ReadyReplicas = count("status", "numberReady")
		w.AvailableReplicas = count("status", "numberAvailable")
	}
	return w
}

// refsOf names objs for a health check, with the generation and the object
// each got from the changes that applied them.
func refsOf(objs []*unstructured.Unstructured, changes apply.ChangeSet) []health.Ref {
	applied := make(map[apply.Entry]apply.Change, len(changes))
	for _, c := range changes {
		if c.Generation >= applied[c.Entry].Generation {
			applied[c.Entry] = c
		}
	}
	refs := make([]health.Ref, 0, len(objs))
	for _, o := range objs {
		c := applied[apply.EntryFor(o)]
		// Only the colours' pods are cached.
		byPods := o.GetKind() == "Deployment" && o.GetLabels()[v1alpha1.ColorLabel] != ""
		refs = append(refs, health.Ref{GroupVersionKind: o.GroupVersionKind(), Namespace: o.GetNamespace(), Name: o.GetName(),
			Generation: c.Generation, Applied: c.Applied, ByPods: byPods})
	}
	return refs
}
