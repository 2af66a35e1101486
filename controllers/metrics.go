package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
)

func init() {
	metrics.Registry.MustRegister(reconcilesTotal, stepSeconds, reconcilePanics, objectsTotal, driftTotal, lastApplied, rolloutPhase, promotionLag,
		gitFetches, gitFetchSeconds, statusConflicts)
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

// forgetMetrics drops the series of a deleted AppSource.
func forgetMetrics(obj *v1alpha1.AppSource) {
	labels := prometheus.Labels{"namespace": obj.Namespace, "name": obj.Name}
	lastApplied.DeletePartialMatch(labels)
	rolloutPhase.DeletePartialMatch(labels)
}

// timed runs a step as name: its duration is recorded, and a panic in it
// is reported under that name.
func (r *AppSourceReconciler) timed(name string, s step) step {
	return func(ctx context.Context, st *state) error {
		st.step = name
		start := time.Now()
		defer func() { stepSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds()) }()
		r.Failpoints.hit(name)
		return s(ctx, st)
	}
}
