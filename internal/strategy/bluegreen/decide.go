package bluegreen

import (
	"fmt"
	"time"
)

// Health is what the new colour's objects show, together.
type Health string

// Healths, as kstatus reports them.
const (
	Current    Health = "Current"
	InProgress Health = "InProgress"
	Failed     Health = "Failed"
)

// Phase is where a blue-green release stands; the names are the API's.
type Phase string

// Phases.
const (
	Progressing Phase = "Progressing"
	Previewing  Phase = "Previewing"
	ScalingDown Phase = "ScalingDown"
	Succeeded   Phase = "Succeeded"
	Aborted     Phase = "Aborted"
)

// Observation is what the cluster and the AppSource show: every decision is
// made again from it, so a controller restarted at any point resumes.
type Observation struct {
	Now time.Time
	// Active is the colour every active Service selects; "" when none
	// selects a colour yet (the first release, or a switch from Rolling).
	Active string
	// Switching: the active Services select different colours, so a
	// promotion was cut short; it is finished towards Target.
	Switching bool
	// Target is the colour the release goes to when Switching.
	Target string
	// NewRelease: the render differs from what the active colour runs.
	NewRelease bool
	// Held: the head revision failed before and the last good one is
	// rendered; the phase that holds it (Aborted) stays.
	Held bool
	// Phase and Since are the rollout status: its phase and when it began.
	Phase Phase
	Since time.Time
	// Health of the objects applied for the release, and what they say.
	Health  Health
	Message string
	// IdleReplicas is how many replicas the idle colour still asks for.
	IdleReplicas int32

	PromoteRequested, AbortRequested bool
	AutoPromotion                    bool
	AutoPromotionDelay               time.Duration
	ScaleDownDelay                   time.Duration
	AbortScaleDownDelay              time.Duration
	// Timeout bounds how long the new colour may take to become available.
	Timeout time.Duration
}

// Decision says which colour the render goes to, what the Services select,
// and what to do now.
type Decision struct {
	Phase Phase
	// Color the render is applied to.
	Color string
	// ActiveColor and PreviewColor are what the active and preview Services
	// select after this reconcile; ActiveColor "" leaves them as rendered.
	ActiveColor, PreviewColor string
	// Switch the active Services to ActiveColor now, one by one.
	Switch bool
	// ScaleDownIdle scales the idle colour to zero now.
	ScaleDownIdle bool
	// Hold the revision: it aborted and is not released again.
	Hold bool
	// RecheckAfter is when to look again if nothing wakes the reconcile
	// first: a promotion delay, a scale-down delay, the timeout.
	RecheckAfter time.Duration
	Message      string
}

// afterSwitch is the soonest look after a switch: the next pass prunes what
// the release left behind and scales the old colour down.
const afterSwitch = time.Second

// Decide makes one step of a blue-green release.
func Decide(o Observation) Decision {
	switch {
	case o.Switching:
		return Decision{Phase: ScalingDown, Color: o.Target, ActiveColor: o.Target, PreviewColor: o.Target, Switch: true,
			RecheckAfter: max(o.ScaleDownDelay, afterSwitch), Message: "finishing the switch of the active Services to " + o.Target}
	case o.Active == "":
		return first(o)
	case o.NewRelease:
		return release(o)
	}
	return steady(o)
}

// first releases to blue while nothing selects a colour: the Services keep
// their rendered selectors until blue is available, then switch to it.
func first(o Observation) Decision {
	d := Decision{Color: Blue, PreviewColor: Blue}
	switch {
	case o.Health == Current:
		d.Phase, d.ActiveColor, d.Switch, d.RecheckAfter = Succeeded, Blue, true, afterSwitch
		d.Message = "blue is available; the active Services select it"
	case o.Health == Failed || o.Now.Sub(o.started()) >= o.Timeout:
		d.Phase, d.Hold = Aborted, true
		d.Message = "blue did not become available: " + o.Message
	default:
		d.Phase, d.RecheckAfter = Progressing, o.started().Add(o.Timeout).Sub(o.Now)
		d.Message = "waiting for blue: " + o.Message
	}
	return d
}

// release takes a new render through the idle colour: progress, preview,
// then promote or abort.
func release(o Observation) Decision {
	idle := Other(o.Active)
	d := Decision{Color: idle, ActiveColor: o.Active, PreviewColor: idle}
	timedOut := o.Health == InProgress && o.Now.Sub(o.started()) >= o.Timeout
	switch {
	case o.AbortRequested:
		return abort(d, "aborted on request")
	case o.Health == Failed:
		return abort(d, fmt.Sprintf("%s failed: %s", idle, o.Message))
	case timedOut:
		return abort(d, fmt.Sprintf("%s not available after %s: %s", idle, o.Timeout, o.Message))
	case o.Health == InProgress:
		d.Phase, d.RecheckAfter = Progressing, o.started().Add(o.Timeout).Sub(o.Now)
		d.Message = fmt.Sprintf("%s is rolling out: %s", idle, o.Message)
		return d
	}
	previewing := o.Now
	if o.Phase == Previewing {
		previewing = o.Since
	}
	promoteAt := previewing.Add(o.AutoPromotionDelay)
	switch {
	case o.PromoteRequested || (o.AutoPromotion && !o.Now.Before(promoteAt)):
		d.Phase, d.ActiveColor, d.Switch, d.RecheckAfter = ScalingDown, idle, true, max(o.ScaleDownDelay, afterSwitch)
		d.Message = fmt.Sprintf("promoted %s: the active Services select it; %s scales down in %s", idle, o.Active, o.ScaleDownDelay)
	case o.AutoPromotion:
		d.Phase, d.RecheckAfter = Previewing, promoteAt.Sub(o.Now)
		d.Message = fmt.Sprintf("%s is available on the preview Services; promoting in %s", idle, d.RecheckAfter.Round(time.Second))
	default:
		d.Phase = Previewing
		d.Message = fmt.Sprintf("%s is available on the preview Services; waiting for the promote annotation", idle)
	}
	return d
}

func abort(d Decision, why string) Decision {
	d.Phase, d.Hold = Aborted, true
	d.Message = why + "; nothing was switched"
	return d
}

// steady keeps the render on the active colour and scales the idle colour
// down once its delay has passed.
func steady(o Observation) Decision {
	d := Decision{Phase: Succeeded, Color: o.Active, ActiveColor: o.Active, PreviewColor: o.Active,
		Message: o.Active + " is active"}
	delay := o.ScaleDownDelay
	if o.Held {
		d.Phase, d.Message, delay = o.Phase, "", o.AbortScaleDownDelay
	}
	if o.IdleReplicas == 0 {
		return d
	}
	if wait := o.Since.Add(delay).Sub(o.Now); wait > 0 {
		if !o.Held {
			d.Phase = ScalingDown
		}
		d.RecheckAfter = wait
		d.Message = fmt.Sprintf("%s is active; %s scales down in %s", o.Active, Other(o.Active), wait.Round(time.Second))
		return d
	}
	d.ScaleDownIdle = true
	return d
}

// started is when the release began progressing.
func (o Observation) started() time.Time {
	if o.Phase == Progressing {
		return o.Since
	}
	return o.Now
}
