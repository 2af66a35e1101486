package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const secret = "webhook-canary-9d1e"

// recorder collects the pushes a Handler notifies.
type recorder struct {
	mu     sync.Mutex
	pushes []Push
}

func (r *recorder) notify(p Push) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes = append(r.pushes, p)
}

func (r *recorder) all() []Push {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Push(nil), r.pushes...)
}

func newTestHandler(t *testing.T, window time.Duration) (*Handler, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts := DefaultOptions()
	opts.Window = window
	h, err := NewHandler(opts, []Receiver{
		{Name: "gh", Provider: GitHub, Secret: []byte(secret)},
		{Name: "gl", Provider: GitLab, Secret: []byte(secret)},
		{Name: "gitea", Provider: Gitea, Secret: []byte(secret)},
		{Name: "generic", Provider: Generic, Secret: []byte(secret)},
	}, rec.notify)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, rec
}

func payload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func post(h http.Handler, path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
