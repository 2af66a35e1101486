package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

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
		Help:    "Duration of each reconcile step: fetch, decrypt, render, apply, prune, health.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
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
)

func init() {
	metrics.Registry.MustRegister(reconcilesTotal, stepSeconds, objectsTotal, driftTotal, lastApplied)
}

// observeChanges counts what a change set did.
func observeChanges(cs apply.ChangeSet) {
	for _, c := range cs {
		objectsTotal.WithLabelValues(string(c.Action)).Inc()
	}
	driftTotal.Add(float64(cs.Drifted()))
}

// timed runs a step and records its duration under name.
func timed(name string, s step) step {
	return func(ctx context.Context, st *state) error {
		start := time.Now()
		defer func() { stepSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds()) }()
		return s(ctx, st)
	}
}
