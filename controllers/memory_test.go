package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/source"
)

var memoryKey = client.ObjectKey{Namespace: "ns", Name: "web"}

// A head is reused only for the same request, credentials included, and
// only while it is recent.
func TestHeadsAreReusedForTheSameRequestWhileRecent(t *testing.T) {
	req := source.Request{URL: "https://git.example/app.git", Ref: source.Ref{Branch: "main"},
		Credentials: source.Credentials{Username: []byte("u"), Password: []byte("p")}}
	var m memory
	m.putHead(memoryKey, req, source.Result{Revision: "main@sha1:1111"})

	if res, ok := m.recentHead(memoryKey, req, time.Minute); !ok || res.Revision != "main@sha1:1111" {
		t.Errorf("same request: %v %v, want the head", res, ok)
	}
	rotated := req
	rotated.Credentials.Password = []byte("q")
	other := req
	other.Ref = source.Ref{Branch: "release"}
	for name, r := range map[string]source.Request{"other credentials": rotated, "other ref": other} {
		if _, ok := m.recentHead(memoryKey, r, time.Minute); ok {
			t.Errorf("%s: reused", name)
		}
	}
	if _, ok := m.recentHead(memoryKey, req, 0); ok {
		t.Error("an old head: reused")
	}
	m.forget(memoryKey)
	if _, ok := m.recentHead(memoryKey, req, time.Minute); ok {
		t.Error("a forgotten head: reused")
	}
}

// What woke a reconcile, and whether it asks Git: a spec change or a
// request wins over any wake; a push wins over the wakes that do not ask,
// and any wake over a workload's, which reads no input.
func TestTriggers(t *testing.T) {
	obj := &v1alpha1.AppSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Generation: 1}}
	obj.Status.ObservedGeneration = 1
	obj.Spec.Interval = metav1.Duration{Duration: time.Hour}
	tests := []struct {
		wakes   []wake
		trigger string
		asks    bool
	}{
		{nil, "interval", true},
		{[]wake{byWorkload}, "rollout", false},
		{[]wake{byInput}, "input", false},
		{[]wake{byUpstream}, "upstream", false},
		{[]wake{byInput, byPush}, "webhook", true},
		{[]wake{byPush, byWorkload}, "webhook", true},
		{[]wake{byWorkload, byInput}, "input", false},
		{[]wake{byWorkload, byUpstream, byWorkload}, "upstream", false},
	}
	for _, tt := range tests {
		var m memory
		m.putHead(memoryKey, source.Request{}, source.Result{}) // Git was just asked
		for _, why := range tt.wakes {
			m.woke(memoryKey, why)
		}
		if got := m.trigger(obj); got != tt.trigger || asksGit(got) != tt.asks {
			t.Errorf("woken by %v: %s (asks Git: %v), want %s (%v)", tt.wakes, got, asksGit(got), tt.trigger, tt.asks)
		}
		if got := m.trigger(obj); got != "interval" {
			t.Errorf("woken by %v, the second time: %s, want interval", tt.wakes, got)
		}
	}
	var m memory
	m.woke(memoryKey, byInput)
	changed := obj.DeepCopy()
	changed.Generation = 2
	if got := m.trigger(changed); got != "spec" || !asksGit(got) {
		t.Errorf("a spec change woken by an input: %s, want spec", got)
	}
}

// A wake that does not ask Git asks it when Git was not asked for a whole
// interval: the interval's poll may have been merged into it.
func TestMergedWakesKeepTheIntervalsPoll(t *testing.T) {
	obj := &v1alpha1.AppSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	obj.Spec.Interval = metav1.Duration{Duration: time.Hour}
	var m memory
	for _, why := range []wake{byWorkload, byInput, byUpstream} {
		m.woke(memoryKey, why)
		if got := m.trigger(obj); got != "interval" {
			t.Errorf("woken by %v, Git never asked: %s, want interval", why, got)
		}
	}
	m.putHead(memoryKey, source.Request{URL: "https://git.example.com/app.git"}, source.Result{})
	m.woke(memoryKey, byWorkload)
	if got := m.trigger(obj); got != "rollout" {
		t.Errorf("woken by a workload, Git just asked: %s, want rollout", got)
	}
	obj.Spec.Interval = metav1.Duration{Duration: time.Nanosecond}
	m.woke(memoryKey, byWorkload)
	if got := m.trigger(obj); got != "interval" {
		t.Errorf("woken by a workload, Git asked an interval ago: %s, want interval", got)
	}
}

// Renders: the last and the last good are found by their inputs; a
// forgotten or forgetful memory finds nothing, and every wake is an
// interval's, which asks Git.
func TestMemoryRendersAndForgetting(t *testing.T) {
	objs := []*unstructured.Unstructured{{Object: map[string]any{"kind": "ConfigMap"}}}
	var m memory
	m.putRender(memoryKey, "rev1", objs)
	m.markGood(memoryKey, "rev1")
	m.putRender(memoryKey, "rev2", nil)
	if !m.hasRender(memoryKey) || m.rendered(memoryKey, "rev1") == nil {
		t.Error("the good render of rev1 is not found after rev2's")
	}
	m.putApplied(memoryKey, appliedSet{revision: "main@rev1", inputs: "rev1", fingerprint: "f"})
	if _, ok := m.applied(memoryKey, "f"); !ok || m.appliedRevision(memoryKey) != "main@rev1" {
		t.Error("the last apply is not found")
	}
	if rev, _, objs := m.lastApplied(memoryKey); rev != "main@rev1" || objs == nil {
		t.Error("the render last applied is not found")
	}
	m.forgetApplied(memoryKey)
	if _, ok := m.applied(memoryKey, "f"); ok {
		t.Error("a forgotten apply is found")
	}
	m.forget(memoryKey)
	if m.hasRender(memoryKey) || m.rendered(memoryKey, "rev1") != nil {
		t.Error("a forgotten AppSource's render is found")
	}

	forgetful := memory{forgetful: true}
	forgetful.putRender(memoryKey, "rev1", objs)
	forgetful.putHead(memoryKey, source.Request{}, source.Result{})
	forgetful.woke(memoryKey, byWorkload)
	obj := &v1alpha1.AppSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	obj.Spec.Interval = metav1.Duration{Duration: time.Hour}
	if forgetful.hasRender(memoryKey) || forgetful.trigger(obj) != "interval" {
		t.Error("a forgetful memory remembered")
	}
}

// A cached AppSource is stale when its resourceVersion is not the one our
// last write returned; a forgetful memory takes every read as stale.
func TestStaleReadsAreThoseOlderThanOurLastWrite(t *testing.T) {
	var m memory
	if m.stale(memoryKey, "5") {
		t.Error("nothing written: stale")
	}
	m.wrote(memoryKey, "7")
	for rv, want := range map[string]bool{"7": false, "5": true, "9": true} {
		if got := m.stale(memoryKey, rv); got != want {
			t.Errorf("wrote 7, read %s: stale = %v, want %v", rv, got, want)
		}
	}
	m.writeFailed(memoryKey)
	if !m.stale(memoryKey, "7") {
		t.Error("after a write whose outcome is unknown: not stale")
	}
	m.forget(memoryKey)
	if m.stale(memoryKey, "5") {
		t.Error("forgotten: stale")
	}
	forgetful := memory{forgetful: true}
	forgetful.wrote(memoryKey, "7")
	if !forgetful.stale(memoryKey, "7") {
		t.Error("forgetful: not stale")
	}
}

// A workload's wake waits as long as the last reconcile that followed a
// rollout took, at most maxFollowDelay; nothing when none is known.
func TestFollowDelay(t *testing.T) {
	var m memory
	if d := m.followDelay(memoryKey); d != 0 {
		t.Errorf("nothing followed yet: %s", d)
	}
	m.followed(memoryKey, 30*time.Millisecond)
	if d := m.followDelay(memoryKey); d != 30*time.Millisecond {
		t.Errorf("followed in 30ms: %s", d)
	}
	m.followed(memoryKey, time.Minute)
	if d := m.followDelay(memoryKey); d != maxFollowDelay {
		t.Errorf("followed in a minute: %s, want %s", d, maxFollowDelay)
	}
}
