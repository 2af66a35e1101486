package controllers

import (
	"slices"
	"testing"
	"time"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
)

func TestUnionKeepsOrderAndDropsDuplicates(t *testing.T) {
	a := []apply.Entry{{ID: "ns_a__ConfigMap", Version: "v1"}, {ID: "ns_b__ConfigMap", Version: "v1"}}
	b := []apply.Entry{{ID: "ns_b__ConfigMap", Version: "v1"}, {ID: "ns_c__ConfigMap", Version: "v1"}}
	got := union(a, b)
	want := []apply.Entry{a[0], a[1], b[1]}
	if !slices.Equal(got, want) {
		t.Errorf("union = %v, want %v", got, want)
	}
}

func TestJitterStaysWithinTenPercent(t *testing.T) {
	for range 1000 {
		if d := jitter(time.Minute); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %s, want within ±10%%", d)
		}
	}
}

func TestRecordFoldsARepeatedOutcome(t *testing.T) {
	r := &AppSourceReconciler{}
	st := &state{obj: &v1alpha1.AppSource{}, revision: "main@sha1:1", started: time.Now()}
	for range 3 {
		r.record(st, v1alpha1.BuildFailedReason, "broken.yaml: bad", true)
	}
	st.revision = "main@sha1:2"
	r.record(st, v1alpha1.ReconciliationSucceededReason, "Applied", true)
	if h := st.obj.Status.History; len(h) != 2 || h[0].Revision != "main@sha1:2" || h[1].Result != v1alpha1.BuildFailedReason {
		t.Errorf("history = %+v, want the success after one folded failure", h)
	}
}
