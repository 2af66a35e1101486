package webhook

import (
	"sync"
	"time"
)

// coalescer folds bursts of pushes per repository and ref: the first push
// is delivered at once and opens a window; pushes inside the window are
// kept (the latest wins) and delivered once when it ends, which opens a new
// window. So a steady stream of pushes makes one callback per window, and
// the last push of a burst is always delivered.
type coalescer struct {
	window     time.Duration
	maxPending int
	notify     func(Push)

	mu     sync.Mutex
	slots  map[string]*slot
	closed bool
}

type slot struct {
	timer   *time.Timer
	pending *Push
}

func newCoalescer(window time.Duration, maxPending int, notify func(Push)) *coalescer {
	return &coalescer{window: window, maxPending: maxPending, notify: notify, slots: map[string]*slot{}}
}

func (c *coalescer) submit(p Push) {
	key := p.key()
	c.mu.Lock()
	if s, ok := c.slots[key]; ok {
		s.pending = &p
		c.mu.Unlock()
		return
	}
	if !c.closed && len(c.slots) < c.maxPending {
		s := &slot{}
		s.timer = time.AfterFunc(c.window, func() { c.flush(key) })
		c.slots[key] = s
	}
	c.mu.Unlock()
	c.notify(p)
}

// flush ends the window of key: it delivers the pending push and keeps the
// window open, or forgets the key when nothing came in.
func (c *coalescer) flush(key string) {
	c.mu.Lock()
	s, ok := c.slots[key]
	if !ok {
		c.mu.Unlock()
		return
	}
	p := s.pending
	s.pending = nil
	if p == nil || c.closed {
		delete(c.slots, key)
	} else {
		s.timer.Reset(c.window)
	}
	c.mu.Unlock()
	if p != nil {
		c.notify(*p)
	}
}

func (c *coalescer) close() {
	c.mu.Lock()
	c.closed = true
	var pending []Push
	for key, s := range c.slots {
		s.timer.Stop()
		if s.pending != nil {
			pending = append(pending, *s.pending)
		}
		delete(c.slots, key)
	}
	c.mu.Unlock()
	for _, p := range pending {
		c.notify(p)
	}
}
