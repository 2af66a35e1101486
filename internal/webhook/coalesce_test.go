package webhook

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestBurstIsCoalesced(t *testing.T) {
	const window = 200 * time.Millisecond
	h, rec := newTestHandler(t, window)
	start := time.Now()
	var last string
	for i := range 1000 {
		last = fmt.Sprintf("%040x", i)
		body := fmt.Appendf(nil, `{"url":"https://git.example.com/org/app.git","ref":"refs/heads/main","commit":%q}`, last)
		if w := post(h, "/hook/generic", body, signedHeaders(Generic, "", body, secret)); w.Code != http.StatusOK {
			t.Fatalf("push %d: status %d", i, w.Code)
		}
	}
	elapsed := time.Since(start)
	h.Close()
	got := rec.all()
	// One leading callback, then at most one per window that elapsed, plus
	// the flush on Close: a bound derived from the measured time, so a slow
	// machine loosens it instead of failing.
	bound := 2 + int(elapsed/window)
	if len(got) < 2 || len(got) > bound {
		t.Errorf("1000 pushes in %s made %d callbacks, want 2..%d", elapsed, len(got), bound)
	}
	if got[0].Commit != fmt.Sprintf("%040x", 0) || got[len(got)-1].Commit != last {
		t.Errorf("first/last callbacks = %s/%s, want the first and the last push", got[0].Commit, got[len(got)-1].Commit)
	}
	t.Logf("1000 pushes in %s: %d callbacks", elapsed, len(got))
}

func TestCoalescingIsPerRepositoryAndRef(t *testing.T) {
	h, rec := newTestHandler(t, time.Hour)
	for _, p := range []struct{ url, ref string }{
		{"https://git.example.com/org/app.git", "refs/heads/main"},
		{"git@git.example.com:org/app.git", "refs/heads/main"}, // same repository: folded
		{"https://git.example.com/org/app.git", "refs/heads/dev"},
		{"https://git.example.com/org/other.git", "refs/heads/main"},
	} {
		body := fmt.Appendf(nil, `{"url":%q,"ref":%q}`, p.url, p.ref)
		post(h, "/hook/generic", body, signedHeaders(Generic, "", body, secret))
	}
	if n := len(rec.all()); n != 3 {
		t.Errorf("leading callbacks = %d, want 3", n)
	}
	h.Close()
	if n := len(rec.all()); n != 4 {
		t.Errorf("callbacks after close = %d, want 4 (the folded push delivered)", n)
	}
}

func TestCoalescerWindowEnds(t *testing.T) {
	done := make(chan Push, 10)
	c := newCoalescer(10*time.Millisecond, 10, func(p Push) { done <- p })
	c.submit(Push{Ref: "refs/heads/main", Commit: "a"})
	c.submit(Push{Ref: "refs/heads/main", Commit: "b"})
	c.submit(Push{Ref: "refs/heads/main", Commit: "c"})
	for _, want := range []string{"a", "c"} {
		select {
		case p := <-done:
			if p.Commit != want {
				t.Errorf("callback %s, want %s", p.Commit, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no callback for %s", want)
		}
	}
	// After a quiet window the key is forgotten: the next push is leading.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.slots)
		c.mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.submit(Push{Ref: "refs/heads/main", Commit: "d"})
	if p := <-done; p.Commit != "d" {
		t.Errorf("callback %s, want d", p.Commit)
	}
	c.close()
}

func TestCoalescerBound(t *testing.T) {
	var n int
	c := newCoalescer(time.Hour, 2, func(Push) { n++ })
	for i := range 5 {
		c.submit(Push{Ref: fmt.Sprintf("refs/heads/b%d", i)})
		c.submit(Push{Ref: fmt.Sprintf("refs/heads/b%d", i)})
	}
	// Two keys tracked (their repeats folded), three untracked (each call goes through).
	if n != 2+3*2 {
		t.Errorf("callbacks = %d, want 8", n)
	}
	c.close()
}
