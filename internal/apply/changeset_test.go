package apply

import "testing"

// A drift check that found every object as applied reports the last apply's
// objects unchanged, and keeps the skipped ones skipped.
func TestUnchangedIsWhatADriftCheckReports(t *testing.T) {
	last := ChangeSet{
		{Object: "Deployment/ns/web", Action: Configured, Drift: true},
		{Object: "Service/ns/web", Action: Created},
		{Object: "ConfigMap/ns/app", Action: Unchanged},
		{Object: "Secret/ns/kept", Action: Skipped, Reason: "protected"},
	}
	got := last.Unchanged()
	if s := got.Summary(); s != "3 unchanged, 1 skipped" {
		t.Errorf("summary %q, want %q", s, "3 unchanged, 1 skipped")
	}
	if got.Changed() || got.Drifted() != 0 {
		t.Errorf("changed %v, drifted %d: want neither", got.Changed(), got.Drifted())
	}
	if last[0].Action != Configured {
		t.Error("the last apply's change set was modified")
	}
}
