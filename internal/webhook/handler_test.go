package webhook

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// signedHeaders returns the headers of a provider's request signed with key.
func signedHeaders(p Provider, event string, body []byte, key string) map[string]string {
	switch p {
	case GitHub:
		return map[string]string{"X-GitHub-Event": event, "X-Hub-Signature-256": "sha256=" + sign(key, body)}
	case GitLab:
		return map[string]string{"X-Gitlab-Event": event, "X-Gitlab-Token": key}
	case Gitea:
		return map[string]string{"X-Gitea-Event": event, "X-Gitea-Signature": sign(key, body)}
	}
	return map[string]string{"X-Signature": "sha256=" + sign(key, body)}
}

var forgejoHeaders = func(event string, body []byte, key string) map[string]string {
	return map[string]string{"X-Forgejo-Event": event, "X-Forgejo-Signature": sign(key, body)}
}

func TestProviders(t *testing.T) {
	tests := []struct {
		name, path, file, event string
		provider                Provider
		headers                 func(event string, body []byte, key string) map[string]string
		urls                    []string
		ref, commit             string
	}{
		{"github", "/hook/gh", "github_push.json", "push", GitHub, nil,
			[]string{"https://github.com/driftless-dev/app.git", "git@github.com:driftless-dev/app.git", "https://github.com/driftless-dev/app"},
			"refs/heads/main", "4f2c8e1b9d7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},
		{"gitlab", "/hook/gl", "gitlab_push.json", "Push Hook", GitLab, nil,
			[]string{"https://gitlab.example.com/platform/team-a/app.git", "git@gitlab.example.com:platform/team-a/app.git", "https://gitlab.example.com/platform/team-a/app"},
			"refs/heads/main", "4f2c8e1b9d7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},
		{"gitlab tag", "/hook/gl", "gitlab_tag_push.json", "Tag Push Hook", GitLab, nil,
			[]string{"https://gitlab.example.com/platform/team-a/app.git", "git@gitlab.example.com:platform/team-a/app.git", "https://gitlab.example.com/platform/team-a/app"},
			"refs/tags/v1.4.2", "4f2c8e1b9d7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},
		{"gitea", "/hook/gitea", "gitea_push.json", "push", Gitea, nil,
			[]string{"https://git.example.com/ops/app.git", "ssh://git@git.example.com:2222/ops/app.git", "https://git.example.com/ops/app"},
			"refs/heads/main", "4f2c8e1b9d7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},
		{"forgejo", "/hook/gitea", "gitea_push.json", "push", Gitea, forgejoHeaders,
			[]string{"https://git.example.com/ops/app.git", "ssh://git@git.example.com:2222/ops/app.git", "https://git.example.com/ops/app"},
			"refs/heads/main", "4f2c8e1b9d7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},
		{"generic", "/hook/generic", "generic_push.json", "", Generic, nil,
			[]string{"https://git.internal.example.com/platform/app.git"},
			"refs/heads/main", "4f2c8e1b9d7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newTestHandler(t, time.Hour)
			body := payload(t, tt.file)
			headers := func(body []byte, key string) map[string]string {
				if tt.headers != nil {
					return tt.headers(tt.event, body, key)
				}
				return signedHeaders(tt.provider, tt.event, body, key)
			}
			expectStatus(t, post(h, tt.path, body, headers(body, "wrong-"+secret)), http.StatusUnauthorized)
			expectStatus(t, post(h, tt.path, body, nil), http.StatusUnauthorized)
			truncated := body[:len(body)/2]
			expectStatus(t, post(h, tt.path, truncated, headers(truncated, secret)), http.StatusBadRequest)
			if len(rec.all()) != 0 {
				t.Fatalf("invalid requests notified: %v", rec.all())
			}
			expectStatus(t, post(h, tt.path, body, headers(body, secret)), http.StatusOK)
			got := rec.all()
			want := Push{Receiver: strings.TrimPrefix(tt.path, "/hook/"), Provider: tt.provider,
				URLs: tt.urls, Ref: tt.ref, Commit: tt.commit}
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("notified %+v, want %+v", got, want)
			}
		})
	}
}

func expectStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status = %d, want %d (%s)", w.Code, status, strings.TrimSpace(w.Body.String()))
	}
	if strings.Contains(w.Body.String(), secret) {
		t.Errorf("response holds the secret: %q", w.Body.String())
	}
}

func TestNonPushEventsIgnored(t *testing.T) {
	h, rec := newTestHandler(t, time.Hour)
	ping := payload(t, "github_ping.json")
	expectStatus(t, post(h, "/hook/gh", ping, signedHeaders(GitHub, "ping", ping, secret)), http.StatusAccepted)
	issue := payload(t, "gitea_issue.json")
	expectStatus(t, post(h, "/hook/gitea", issue, signedHeaders(Gitea, "issues", issue, secret)), http.StatusAccepted)
	mr := payload(t, "gitlab_push.json")
	expectStatus(t, post(h, "/hook/gl", mr, signedHeaders(GitLab, "Merge Request Hook", mr, secret)), http.StatusAccepted)
	// An unsigned non-push event is still refused: the signature comes first.
	expectStatus(t, post(h, "/hook/gh", ping, map[string]string{"X-GitHub-Event": "ping"}), http.StatusUnauthorized)
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d callbacks for non-push events", n)
	}
}

func TestBodyLimit(t *testing.T) {
	h, rec := newTestHandler(t, time.Hour)
	big := bytes.Repeat([]byte(" "), 3<<20+1)
	// With a Content-Length, refused before reading.
	expectStatus(t, post(h, "/hook/generic", big, signedHeaders(Generic, "", big, secret)), http.StatusRequestEntityTooLarge)
	// Without one (chunked), refused while reading.
	req := httptest.NewRequest(http.MethodPost, "/hook/generic", struct{ *bytes.Reader }{bytes.NewReader(big)})
	req.ContentLength = -1
	req.Header.Set("X-Signature", "sha256="+sign(secret, big))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	expectStatus(t, w, http.StatusRequestEntityTooLarge)
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d callbacks for oversized bodies", n)
	}
}

// TestUnauthenticatedFlood sends 200 concurrent 3 MiB requests with a bad
// or missing signature, through a real HTTP server: every answer is 401 or
// 503, at most MaxConcurrent bodies are read at once, and requests whose
// headers already fail (GitLab's token, a missing signature) read no body.
func TestUnauthenticatedFlood(t *testing.T) {
	h, rec := newTestHandler(t, time.Hour)
	var reading, most, read atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &countingBody{ReadCloser: r.Body, reading: &reading, most: &most, read: &read}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	big := bytes.Repeat([]byte("x"), 3<<20-1)
	requests := []struct {
		path    string
		headers map[string]string
	}{
		{"/hook/gh", map[string]string{"X-Hub-Signature-256": "sha256=" + sign("wrong", big), "X-GitHub-Event": "push"}},
		{"/hook/gl", map[string]string{"X-Gitlab-Token": "wrong", "X-Gitlab-Event": "Push Hook"}},
		{"/hook/generic", nil},
		{"/hook/nobody", map[string]string{"X-Signature": "sha256=" + sign(secret, big)}},
	}
	var wg sync.WaitGroup
	codes := make(chan int, 200)
	for i := range 200 {
		wg.Go(func() {
			rq := requests[i%len(requests)]
			req, _ := http.NewRequest(http.MethodPost, srv.URL+rq.path, bytes.NewReader(big))
			for k, v := range rq.headers {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusUnauthorized && code != http.StatusServiceUnavailable {
			t.Errorf("answer %d, want 401 or 503", code)
		}
	}
	if m := most.Load(); m > int64(DefaultOptions().MaxConcurrent) {
		t.Errorf("%d bodies read at once, want at most %d", m, DefaultOptions().MaxConcurrent)
	}
	// Only the GitHub quarter has a well-formed signature worth reading for.
	if n, limit := read.Load(), int64(50*len(big)); n > limit {
		t.Errorf("%d bytes read, want at most %d: requests failing on their headers read no body", n, limit)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d callbacks from unauthenticated requests", n)
	}
}

// countingBody tracks the bodies being read at once and the bytes read.
type countingBody struct {
	io.ReadCloser
	reading, most, read *atomic.Int64
	started             bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		n := b.reading.Add(1)
		for m := b.most.Load(); n > m && !b.most.CompareAndSwap(m, n); m = b.most.Load() {
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	if err != nil && b.started {
		b.reading.Add(-1)
		b.started = false
	}
	return n, err
}

func TestRouting(t *testing.T) {
	h, _ := newTestHandler(t, time.Hour)
	body := payload(t, "generic_push.json")
	// An unknown receiver is answered as a bad signature is, word for word.
	unknown := post(h, "/hook/nobody", body, signedHeaders(Generic, "", body, secret))
	badSig := post(h, "/hook/generic", body, signedHeaders(Generic, "", body, "wrong"))
	if unknown.Code != http.StatusUnauthorized || unknown.Code != badSig.Code || unknown.Body.String() != badSig.Body.String() {
		t.Errorf("unknown receiver: %d %q; bad signature: %d %q; want the same 401", unknown.Code, unknown.Body, badSig.Code, badSig.Body)
	}
	expectStatus(t, post(h, "/hook/generic/x", body, signedHeaders(Generic, "", body, secret)), http.StatusNotFound)
	expectStatus(t, post(h, "/other/generic", body, signedHeaders(Generic, "", body, secret)), http.StatusNotFound)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hook/generic", nil))
	expectStatus(t, w, http.StatusMethodNotAllowed)
}

func TestReceiversValidatedAndReplaced(t *testing.T) {
	h, rec := newTestHandler(t, time.Hour)
	for _, bad := range [][]Receiver{
		{{Name: "x", Provider: GitHub}},
		{{Name: "a/b", Provider: GitHub, Secret: []byte("s")}},
		{{Name: "x", Provider: "bitbucket", Secret: []byte("s")}},
		{{Name: "x", Provider: GitHub, Secret: []byte("s")}, {Name: "x", Provider: GitLab, Secret: []byte("s")}},
	} {
		if h.SetReceivers(bad) == nil {
			t.Errorf("receivers %+v accepted", bad)
		}
	}
	if err := h.SetReceivers([]Receiver{{Name: "generic", Provider: Generic, Secret: []byte("rotated")}}); err != nil {
		t.Fatal(err)
	}
	body := payload(t, "generic_push.json")
	expectStatus(t, post(h, "/hook/generic", body, signedHeaders(Generic, "", body, secret)), http.StatusUnauthorized)
	expectStatus(t, post(h, "/hook/generic", body, signedHeaders(Generic, "", body, "rotated")), http.StatusOK)
	expectStatus(t, post(h, "/hook/gh", body, nil), http.StatusUnauthorized)
	if n := len(rec.all()); n != 1 {
		t.Errorf("callbacks = %d, want 1", n)
	}
}

func FuzzHandler(f *testing.F) {
	f.Add("gh", "push", []byte(`{"ref":"refs/heads/main","repository":{"clone_url":"https://h/r"}}`), true)
	f.Add("gl", "Push Hook", []byte(`{"object_kind":"push","ref":"refs/heads/x","project":{"web_url":"https://h/r"}}`), true)
	f.Add("gitea", "push", []byte(`{"ref":`), true)
	f.Add("generic", "", []byte(`{"url":"u","ref":"refs/tags/v1"}`), false)
	f.Fuzz(func(t *testing.T, receiver, event string, body []byte, signed bool) {
		h, _ := newTestHandler(t, time.Hour)
		providers := map[string]Provider{"gh": GitHub, "gl": GitLab, "gitea": Gitea, "generic": Generic}
		key := "wrong"
		if signed {
			key = secret
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.URL.Path = "/hook/" + receiver
		for k, v := range signedHeaders(providers[receiver], event, body, key) {
			req.Header[k] = []string{v}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code == http.StatusInternalServerError {
			t.Errorf("500 for %q", body)
		}
	})
}
