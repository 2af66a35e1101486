package bluegreen

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	base := Observation{
		Now: now, Active: Blue, NewRelease: true, Health: Current, Message: "Deployment/shop/web-green: 2/3 ready",
		AutoPromotion: true, ScaleDownDelay: 30 * time.Second, AbortScaleDownDelay: 10 * time.Second, Timeout: 5 * time.Minute,
	}
	tests := []struct {
		name   string
		change func(*Observation)
		want   Decision
		says   string
	}{
		{"first release waits for blue", func(o *Observation) { o.Active, o.Health = "", InProgress },
			Decision{Phase: Progressing, Color: Blue, PreviewColor: Blue, RecheckAfter: 5 * time.Minute}, "waiting for blue"},
		{"first release switches once blue is available", func(o *Observation) { o.Active = "" },
			Decision{Phase: Succeeded, Color: Blue, ActiveColor: Blue, PreviewColor: Blue, Switch: true, RecheckAfter: time.Second}, "select it"},
		{"first release that fails is held", func(o *Observation) { o.Active, o.Health = "", Failed },
			Decision{Phase: Aborted, Color: Blue, PreviewColor: Blue, Hold: true}, "did not become available"},
		{"new release rolls in the idle colour", func(o *Observation) {
			o.Health, o.Phase, o.Since = InProgress, Progressing, now.Add(-time.Minute)
		}, Decision{Phase: Progressing, Color: Green, ActiveColor: Blue, PreviewColor: Green, RecheckAfter: 4 * time.Minute}, "2/3 ready"},
		{"available: auto-promotion at once", func(*Observation) {},
			Decision{Phase: ScalingDown, Color: Green, ActiveColor: Green, PreviewColor: Green, Switch: true, RecheckAfter: 30 * time.Second},
			"promoted green"},
		{"available: auto-promotion after its delay", func(o *Observation) {
			o.AutoPromotionDelay, o.Phase, o.Since = time.Minute, Previewing, now.Add(-20*time.Second)
		}, Decision{Phase: Previewing, Color: Green, ActiveColor: Blue, PreviewColor: Green, RecheckAfter: 40 * time.Second}, "promoting in 40s"},
		{"previewing: the delay has passed", func(o *Observation) {
			o.AutoPromotionDelay, o.Phase, o.Since = time.Minute, Previewing, now.Add(-time.Minute)
		}, Decision{Phase: ScalingDown, Color: Green, ActiveColor: Green, PreviewColor: Green, Switch: true, RecheckAfter: 30 * time.Second}, "promoted"},
		{"promotion without a scale-down delay looks again soon", func(o *Observation) { o.ScaleDownDelay = 0 },
			Decision{Phase: ScalingDown, Color: Green, ActiveColor: Green, PreviewColor: Green, Switch: true, RecheckAfter: time.Second}, "promoted"},
		{"manual promotion waits", func(o *Observation) { o.AutoPromotion = false },
			Decision{Phase: Previewing, Color: Green, ActiveColor: Blue, PreviewColor: Green}, "waiting for the promote annotation"},
		{"manual promotion", func(o *Observation) { o.AutoPromotion, o.PromoteRequested = false, true },
			Decision{Phase: ScalingDown, Color: Green, ActiveColor: Green, PreviewColor: Green, Switch: true, RecheckAfter: 30 * time.Second}, "promoted"},
		{"abort on request switches nothing", func(o *Observation) { o.AutoPromotion, o.AbortRequested = false, true },
			Decision{Phase: Aborted, Color: Green, ActiveColor: Blue, PreviewColor: Green, Hold: true}, "aborted on request; nothing was switched"},
		{"a failed new colour aborts", func(o *Observation) { o.Health = Failed },
			Decision{Phase: Aborted, Color: Green, ActiveColor: Blue, PreviewColor: Green, Hold: true}, "green failed"},
		{"a new colour never available aborts at the timeout", func(o *Observation) {
			o.Health, o.Phase, o.Since = InProgress, Progressing, now.Add(-5*time.Minute)
		}, Decision{Phase: Aborted, Color: Green, ActiveColor: Blue, PreviewColor: Green, Hold: true}, "not available after 5m0s"},
		{"a superseded release starts its clock again", func(o *Observation) { o.Health, o.Phase = InProgress, "" },
			Decision{Phase: Progressing, Color: Green, ActiveColor: Blue, PreviewColor: Green, RecheckAfter: 5 * time.Minute}, "rolling out"},
		{"a cut-short switch is finished", func(o *Observation) { o.Switching, o.Target = true, Green },
			Decision{Phase: ScalingDown, Color: Green, ActiveColor: Green, PreviewColor: Green, Switch: true, RecheckAfter: 30 * time.Second}, "finishing"},
		{"steady: the old colour waits for its delay", func(o *Observation) {
			o.NewRelease, o.Active, o.Phase, o.Since, o.IdleReplicas = false, Green, ScalingDown, now.Add(-10*time.Second), 3
		}, Decision{Phase: ScalingDown, Color: Green, ActiveColor: Green, PreviewColor: Green, RecheckAfter: 20 * time.Second}, "blue scales down in 20s"},
		{"steady: the old colour scales down", func(o *Observation) {
			o.NewRelease, o.Active, o.Phase, o.Since, o.IdleReplicas = false, Green, ScalingDown, now.Add(-30*time.Second), 3
		}, Decision{Phase: Succeeded, Color: Green, ActiveColor: Green, PreviewColor: Green, ScaleDownIdle: true}, "green is active"},
		{"steady, scaled down", func(o *Observation) { o.NewRelease, o.Phase = false, Succeeded },
			Decision{Phase: Succeeded, Color: Blue, ActiveColor: Blue, PreviewColor: Blue}, "blue is active"},
		{"held: the aborted colour scales down after the abort delay", func(o *Observation) {
			o.NewRelease, o.Held, o.Phase, o.Since, o.IdleReplicas = false, true, Aborted, now.Add(-10*time.Second), 3
		}, Decision{Phase: Aborted, Color: Blue, ActiveColor: Blue, PreviewColor: Blue, ScaleDownIdle: true}, ""},
		{"held: the aborted colour keeps running until then", func(o *Observation) {
			o.NewRelease, o.Held, o.Phase, o.Since, o.IdleReplicas = false, true, Aborted, now.Add(-4*time.Second), 3
		}, Decision{Phase: Aborted, Color: Blue, ActiveColor: Blue, PreviewColor: Blue, RecheckAfter: 6 * time.Second}, "green scales down in 6s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(&o)
			got := Decide(o)
			msg := got.Message
			got.Message = ""
			if got != tt.want {
				t.Errorf("Decide =\n  %+v\nwant\n  %+v", got, tt.want)
			}
			if !strings.Contains(msg, tt.says) {
				t.Errorf("message %q does not say %q", msg, tt.says)
			}
		})
	}
}
