package rolling

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	base := Observation{
		Revision: "main@sha1:bbb", LastGood: "main@sha1:aaa", Message: "Deployment/shop/web: 1/3 ready",
		Started: start, Timeout: 5 * time.Minute, AutoRollback: true,
	}
	tests := []struct {
		name     string
		change   func(*Observation)
		phase    Phase
		rollback bool
		recheck  time.Duration
		message  string
	}{
		{"available", func(o *Observation) { o.Health, o.Now = Current, start.Add(time.Hour) }, Succeeded, false, 0, "is available"},
		{"rolling, before the timeout", func(o *Observation) { o.Health, o.Now = InProgress, start.Add(time.Minute) },
			Progressing, false, 4 * time.Minute, "1/3 ready"},
		{"still rolling at the timeout", func(o *Observation) { o.Health, o.Now = InProgress, start.Add(5*time.Minute) },
			RolledBack, true, 0, "not available after 5m0s"},
		{"progress deadline exceeded", func(o *Observation) { o.Health, o.Now = Failed, start.Add(time.Second) },
			RolledBack, true, 0, "rolled back to main@sha1:aaa and holding main@sha1:bbb"},
		{"no rollback without autoRollback", func(o *Observation) { o.Health, o.AutoRollback = Failed, false },
			FailedPhase, false, 0, "revision main@sha1:bbb failed"},
		{"no rollback without a good revision", func(o *Observation) { o.Health, o.LastGood = Failed, "" },
			FailedPhase, false, 0, "failed"},
		{"no rollback onto the failing revision", func(o *Observation) { o.Health, o.LastGood = Failed, o.Revision },
			FailedPhase, false, 0, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.Now = start
			tt.change(&o)
			d := Decide(o)
			if d.Phase != tt.phase || d.Rollback != tt.rollback || d.RecheckAfter != tt.recheck {
				t.Errorf("Decide = %+v, want phase %s, rollback %v, recheck %s", d, tt.phase, tt.rollback, tt.recheck)
			}
			if !strings.Contains(d.Message, tt.message) {
				t.Errorf("message %q does not say %q", d.Message, tt.message)
			}
		})
	}
}
