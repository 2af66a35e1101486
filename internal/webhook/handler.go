package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Handler is the http.Handler of the webhook receivers. It is safe for
// concurrent use.
type Handler struct {
	opts     Options
	coalesce *coalescer
	reading  chan struct{} // a slot per body being read: MaxConcurrent

	mu        sync.RWMutex
	receivers map[string]Receiver
}

// NewHandler returns a Handler serving receivers that calls notify for each
// coalesced push. notify is called from request and timer goroutines, maybe
// concurrently, and must return quickly (enqueue, do not reconcile).
func NewHandler(opts Options, receivers []Receiver, notify func(Push)) (*Handler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if notify == nil {
		return nil, errors.New("webhook: notify is required")
	}
	h := &Handler{opts: opts, coalesce: newCoalescer(opts.Window, opts.MaxPending, notify),
		reading: make(chan struct{}, opts.MaxConcurrent)}
	if err := h.SetReceivers(receivers); err != nil {
		return nil, err
	}
	return h, nil
}

// SetReceivers replaces the receivers, e.g. after their Secrets changed.
func (h *Handler) SetReceivers(receivers []Receiver) error {
	m := make(map[string]Receiver, len(receivers))
	for _, r := range receivers {
		if err := r.validate(); err != nil {
			return err
		}
		if _, dup := m[r.Name]; dup {
			return fmt.Errorf("webhook receiver %q: defined twice", r.Name)
		}
		r.Secret = append([]byte(nil), r.Secret...)
		m[r.Name] = r
	}
	h.mu.Lock()
	h.receivers = m
	h.mu.Unlock()
	return nil
}

// Close delivers the pushes still waiting for their window and stops the
// timers; pushes received afterwards call back at once.
func (h *Handler) Close() { h.coalesce.close() }

// ServeHTTP verifies one webhook request and notifies a valid push. Answers
// carry no detail beyond the status: nothing about secrets or payloads, and
// an unknown receiver is answered as a bad signature, so that an attacker
// cannot learn which names exist. What can be checked from the headers is
// checked before the body is read, and at most MaxConcurrent bodies are
// read at once: memory stays bounded under a flood.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, h.opts.PathPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.mu.RLock()
	recv, ok := h.receivers[name]
	h.mu.RUnlock()
	if !ok || preauth[recv.Provider](r.Header, recv.Secret) != nil {
		unauthorized(w)
		return
	}
	select {
	case h.reading <- struct{}{}:
		defer func() { <-h.reading }()
	default:
		w.Header().Set("Retry-After", "1")
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	body, status := h.readBody(w, r)
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	push, err := parsers[recv.Provider](r.Header, body, recv.Secret)
	switch {
	case errors.Is(err, errUnauthorized):
		unauthorized(w)
	case errors.Is(err, errNotPush):
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "ignored: not a push event\n")
	case err != nil:
		http.Error(w, "malformed payload", http.StatusBadRequest)
	default:
		push.Receiver, push.Provider = recv.Name, recv.Provider
		h.coalesce.submit(push)
		_, _ = io.WriteString(w, "accepted\n")
	}
}

// unauthorized is the one answer to an unknown receiver and a bad signature.
func unauthorized(w http.ResponseWriter) {
	http.Error(w, "invalid signature", http.StatusUnauthorized)
}

// readBody reads at most MaxBodyBytes, or says which status to answer.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		return nil, http.StatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, http.StatusRequestEntityTooLarge
	case err != nil:
		return nil, http.StatusBadRequest
	}
	return body, 0
}
