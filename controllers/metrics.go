package controllers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

// Metrics on /metrics, RED style: how many reconciles, how they ended, how
// long each step took, and what they did to the cluster.
var (
	reconcilesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftless_reconciles_total",
		Help: "Reconciles of AppSources by result: the Ready reason they ended with.",
	}, []string{"result"})
	stepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "driftless_reconcile_step_duration_seconds",
		Help:    "Duration of each reconcile step: dependencies, held, promotion, fetch, decrypt, render, plan, apply, prune, health.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"step"})
	reconcilePanics = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftless_reconcile_panics_total",
		Help: "Reconciles that panicked, by step: each is a defect to report.",
	}, []string{"step"})
	objectsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftless_objects_total",
		Help: "Objects handled by apply and prune, by action.",
	}, []string{"action"})
	driftTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "driftless_drift_corrections_total",
		Help: "Objects rewritten because someone else changed fields Driftless manages.",
	})
	lastApplied = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "driftless_last_applied_timestamp_seconds",
		Help: "When each AppSource last applied a revision successfully.",
	}, []string{"namespace", "name"})
	gitFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftless_git_fetches_total",
		Help: "Reconciles by how they got their revision: network (objects fetched), cache (checked out from the cached repository) or reused (the last render of the same inputs, no checkout).",
	}, []string{"source"})
	gitFetchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "driftless_git_fetch_duration_seconds",
		Help:    "Duration of Git fetches and checkouts, cache hits included.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	chartFetchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "driftless_chart_fetch_duration_seconds",
		Help:    "Duration of getting the archive of a chart of a repository: a download, or a read of the manager's cache of charts.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	promotionLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "driftless_promotion_lag_seconds",
		Help:    "Seconds from the upstreams of spec.promotion.after being good at a revision to this AppSource applying it healthy.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
	})
	statusConflicts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "driftless_status_conflicts_total",
		Help: "Status writes refused because the AppSource changed since it was read; each reconciles again at once.",
	})
	rolloutPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "driftless_rollout_phase",
		Help: "1 for the phase each AppSource's rollout is in, 0 for the others.",
	}, []string{"namespace", "name", "phase"})
	reconcileSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "driftless_reconcile_duration_seconds",
		Help:    "Duration of whole reconciles, status write included, by the Ready reason they ended with.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"result"})
	conditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "driftless_appsource_condition",
		Help: "1 for the status and reason each condition (Ready, Stalled, Promoted) of each AppSource has now; one series per AppSource and condition.",
	}, []string{"namespace", "name", "type", "status", "reason"})
	rolloutsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftless_rollouts_failed_total",
		Help: "Releases that failed and were undone, by AppSource and reason: RolledBack (rolling, to the last good revision) or Aborted (blue-green, the active colour kept).",
	}, []string{"namespace", "name", "reason"})
	promotionWaitingSince = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "driftless_promotion_waiting_since_timestamp_seconds",
		Help: "When each AppSource's pending promotion started waiting (Promoted False, AwaitingPromotion); absent when none waits. time() minus it is the wait.",
	}, []string{"namespace", "name"})
	pushesForwarded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "driftless_webhook_pushes_forwarded_total",
		Help: "AppSources a push received by this replica was forwarded to with the reconcile-request annotation: it is not their shard's leader.",
	})
	gitFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driftless_git_fetch_failures_total",
		Help: "Reconciles that could not get their revision from Git, by AppSource and reason (SourceUnavailable, RevisionNotFound).",
	}, []string{"namespace", "name", "reason"})
)

func init() {
	metrics.Registry.MustRegister(reconcilesTotal, stepSeconds, reconcilePanics, objectsTotal, driftTotal, lastApplied, rolloutPhase, promotionLag,
		gitFetches, gitFetchSeconds, chartFetchSeconds, statusConflicts, reconcileSeconds, conditionGauge, rolloutsFailed, promotionWaitingSince, gitFailures, pushesForwarded)
}

// observedConditions are the conditions exported per AppSource.
var observedConditions = []string{v1alpha1.ReadyCondition, v1alpha1.StalledCondition, v1alpha1.PromotedCondition}

// conditionSeries remembers the labels of each AppSource's condition
// series, so that a change replaces one series rather than scanning all.
type conditionSeries struct {
	mu   sync.Mutex
	last map[types.NamespacedName]map[string][2]string // condition type → status, reason
}

var conditionLabels = conditionSeries{last: map[types.NamespacedName]map[string][2]string{}}

// observeStatus exports what a reconcile of obj ended with, its status
// before it being before: the condition series, a failed release, a
// promotion waiting, a Git failure, and the reconcile's duration.
func observeStatus(obj *v1alpha1.AppSource, before *v1alpha1.AppSourceStatus, started time.Time) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	conditionLabels.set(key, obj.Status.Conditions)
	ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition)
	if ready == nil {
		return
	}
	reconcileSeconds.WithLabelValues(ready.Reason).Observe(time.Since(started).Seconds())
	// Every counter of the AppSource exists from its first reconcile, at 0,
	// so that increase() sees its first failure. A release undone holds its
	// revision: a newly held one is counted.
	newlyHeld := held(&obj.Status) != "" && held(&obj.Status) != held(before)
	for _, reason := range []string{v1alpha1.RolledBackReason, v1alpha1.AbortedReason} {
		c := rolloutsFailed.WithLabelValues(obj.Namespace, obj.Name, reason)
		if newlyHeld && ready.Reason == reason {
			c.Inc()
		}
	}
	for _, reason := range []string{v1alpha1.SourceUnavailableReason, v1alpha1.RevisionNotFoundReason} {
		c := gitFailures.WithLabelValues(obj.Namespace, obj.Name, reason)
		if ready.Reason == reason {
			c.Inc()
		}
	}
	if p := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.PromotedCondition); p != nil &&
		p.Status == metav1.ConditionFalse && p.Reason == v1alpha1.AwaitingPromotionReason {
		promotionWaitingSince.WithLabelValues(obj.Namespace, obj.Name).Set(float64(p.LastTransitionTime.Unix()))
	} else {
		promotionWaitingSince.DeleteLabelValues(obj.Namespace, obj.Name)
	}
}

// held is the revision a failed release holds, if any.
func held(s *v1alpha1.AppSourceStatus) string {
	if s.Rollout == nil {
		return ""
	}
	return s.Rollout.HeldRevision
}

// set exports conds of key, replacing the series of a condition whose
// status or reason changed and dropping those of conditions gone.
func (c *conditionSeries) set(key types.NamespacedName, conds []metav1.Condition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := c.last[key]
	if last == nil {
		last = map[string][2]string{}
		c.last[key] = last
	}
	for _, t := range observedConditions {
		var now [2]string
		if cond := apimeta.FindStatusCondition(conds, t); cond != nil {
			now = [2]string{string(cond.Status), cond.Reason}
		}
		was, had := last[t]
		if had && was == now {
			continue
		}
		if had {
			conditionGauge.DeleteLabelValues(key.Namespace, key.Name, t, was[0], was[1])
			delete(last, t)
		}
		if now != ([2]string{}) {
			conditionGauge.WithLabelValues(key.Namespace, key.Name, t, now[0], now[1]).Set(1)
			last[t] = now
		}
	}
}

// forget drops every condition series of key.
func (c *conditionSeries) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.last, key)
	conditionGauge.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "name": key.Name})
}

// observeChanges counts what a change set did.
func observeChanges(cs apply.ChangeSet) {
	for _, c := range cs {
		objectsTotal.WithLabelValues(string(c.Action)).Inc()
	}
	driftTotal.Add(float64(cs.Drifted()))
}

// observePhase sets the rollout phase series of obj, one per phase, so that
// a query for any phase finds every AppSource.
func observePhase(obj *v1alpha1.AppSource, phase v1alpha1.RolloutPhase) {
	for _, p := range v1alpha1.RolloutPhases {
		v := 0.0
		if p == phase {
			v = 1
		}
		rolloutPhase.WithLabelValues(obj.Namespace, obj.Name, string(p)).Set(v)
	}
}

// forgetMetrics drops the series of an AppSource that was deleted or left
// this manager's shard.
func forgetMetrics(key types.NamespacedName) {
	labels := prometheus.Labels{"namespace": key.Namespace, "name": key.Name}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		lastApplied, rolloutPhase, rolloutsFailed, promotionWaitingSince, gitFailures,
	} {
		v.DeletePartialMatch(labels)
	}
	conditionLabels.forget(key)
}

// timed runs a step as name: its duration is recorded, and a panic in it
// is reported under that name.
func (r *AppSourceReconciler) timed(name string, s step) step {
	return func(ctx context.Context, st *state) error {
		st.step = name
		start := time.Now()
		defer func() {
			took := time.Since(start)
			stepSeconds.WithLabelValues(name).Observe(took.Seconds())
			st.took = append(st.took, stepTime{name, took})
		}()
		r.Failpoints.hit(name)
		return s(ctx, st)
	}
}

// stepTime is how long one step of a reconcile took.
type stepTime struct {
	name string
	took time.Duration
}

// stepTimes reads "fetch=12.3ms render=40ms …", for the debug log.
func stepTimes(steps []stepTime) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = s.name + "=" + s.took.Round(10*time.Microsecond).String()
	}
	return strings.Join(parts, " ")
}
