// Package rolling decides the outcome of a rolling update: Kubernetes rolls
// the workloads, and this package only judges, from what their status shows
// and how long it has taken, whether the revision is done, still on its
// way, or failed, and whether to roll back.
package rolling

import (
	"fmt"
	"time"
)

// Health is what the workloads of a revision show, together.
type Health string

// Healths, as kstatus reports them.
const (
	Current    Health = "Current"
	InProgress Health = "InProgress"
	Failed     Health = "Failed"
)

// Phase is where a rolling update stands; the names are the API's.
type Phase string

// Phases.
const (
	Progressing Phase = "Progressing"
	Succeeded   Phase = "Succeeded"
	FailedPhase Phase = "Failed"
	RolledBack  Phase = "RolledBack"
)

// Observation is everything a decision depends on.
type Observation struct {
	Revision string // being rolled out
	LastGood string // last revision that became healthy; "" when none did
	Health   Health
	Message  string    // what the workloads say, for the decision's message
	Started  time.Time // when the rollout of Revision began
	Now      time.Time
	// Timeout bounds the whole rollout: pods that never become ready fail
	// the revision even when no progress deadline is set.
	Timeout      time.Duration
	AutoRollback bool
}

// Decision is what to do next.
type Decision struct {
	Phase Phase
	// Rollback asks to re-apply LastGood and hold Revision.
	Rollback bool
	// RecheckAfter is when to look again if nothing wakes the reconcile
	// first: the moment the rollout would time out.
	RecheckAfter time.Duration
	Message      string
}

// Decide judges one rollout.
func Decide(o Observation) Decision {
	deadline := o.Started.Add(o.Timeout)
	switch {
	case o.Health == Current:
		return Decision{Phase: Succeeded, Message: fmt.Sprintf("revision %s is available", o.Revision)}
	case o.Health == InProgress && o.Now.Before(deadline):
		return Decision{Phase: Progressing, RecheckAfter: deadline.Sub(o.Now),
			Message: fmt.Sprintf("rolling out %s: %s", o.Revision, o.Message)}
	}
	why := o.Message
	if o.Health == InProgress {
		why = fmt.Sprintf("not available after %s: %s", o.Timeout, o.Message)
	}
	if !o.AutoRollback || o.LastGood == "" || o.LastGood == o.Revision {
		return Decision{Phase: FailedPhase, Message: fmt.Sprintf("revision %s failed: %s", o.Revision, why)}
	}
	return Decision{Phase: RolledBack, Rollback: true,
		Message: fmt.Sprintf("revision %s failed: %s; rolled back to %s and holding %s until Git moves past it",
			o.Revision, why, o.LastGood, o.Revision)}
}
