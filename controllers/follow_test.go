package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/source"
)

// A head is reused only for the same request, credentials included, and
// only while it is recent.
func TestHeadsAreReusedForTheSameRequestWhileRecent(t *testing.T) {
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	req := source.Request{URL: "https://git.example/app.git", Ref: source.Ref{Branch: "main"},
		Credentials: source.Credentials{Username: []byte("u"), Password: []byte("p")}}
	var h heads
	h.put(key, req, source.Result{Revision: "main@sha1:1111"})

	if res, ok := h.recent(key, req, time.Minute); !ok || res.Revision != "main@sha1:1111" {
		t.Errorf("same request: %v %v, want the head", res, ok)
	}
	rotated := req
	rotated.Credentials.Password = []byte("q")
	other := req
	other.Ref = source.Ref{Branch: "release"}
	for name, r := range map[string]source.Request{"other credentials": rotated, "other ref": other} {
		if _, ok := h.recent(key, r, time.Minute); ok {
			t.Errorf("%s: reused", name)
		}
	}
	if _, ok := h.recent(key, req, 0); ok {
		t.Error("an old head: reused")
	}
	h.forget(key)
	if _, ok := h.recent(key, req, time.Minute); ok {
		t.Error("a forgotten head: reused")
	}
}

// What woke a reconcile, and whether it asks Git: a spec change or a
// request wins over any wake; a push wins over the wakes that do not ask.
func TestTriggers(t *testing.T) {
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	obj := &v1alpha1.AppSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Generation: 1}}
	obj.Status.ObservedGeneration = 1
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
	}
	for _, tt := range tests {
		var w wakes
		for _, why := range tt.wakes {
			w.woke(key, why)
		}
		if got := w.trigger(obj); got != tt.trigger || asksGit(got) != tt.asks {
			t.Errorf("woken by %v: %s (asks Git: %v), want %s (%v)", tt.wakes, got, asksGit(got), tt.trigger, tt.asks)
		}
		if got := w.trigger(obj); got != "interval" {
			t.Errorf("woken by %v, the second time: %s, want interval", tt.wakes, got)
		}
	}
	var w wakes
	w.woke(key, byInput)
	changed := obj.DeepCopy()
	changed.Generation = 2
	if got := w.trigger(changed); got != "spec" || !asksGit(got) {
		t.Errorf("a spec change woken by an input: %s, want spec", got)
	}
}

// A wake that does not ask Git asks it when Git was not asked for a whole
// interval: the interval's poll may have been merged into it.
func TestMergedWakesKeepTheIntervalsPoll(t *testing.T) {
	key := client.ObjectKey{Namespace: "ns", Name: "web"}
	obj := &v1alpha1.AppSource{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	obj.Spec.Interval = metav1.Duration{Duration: time.Hour}
	r := &AppSourceReconciler{}
	for _, why := range []wake{byWorkload, byInput, byUpstream} {
		r.wakes.woke(key, why)
		if got := r.trigger(obj); got != "interval" {
			t.Errorf("woken by %v, Git never asked: %s, want interval", why, got)
		}
	}
	r.heads.put(key, source.Request{URL: "https://git.example.com/app.git"}, source.Result{})
	r.wakes.woke(key, byWorkload)
	if got := r.trigger(obj); got != "rollout" {
		t.Errorf("woken by a workload, Git just asked: %s, want rollout", got)
	}
	obj.Spec.Interval = metav1.Duration{Duration: time.Nanosecond}
	r.wakes.woke(key, byWorkload)
	if got := r.trigger(obj); got != "interval" {
		t.Errorf("woken by a workload, Git asked an interval ago: %s, want interval", got)
	}
}
