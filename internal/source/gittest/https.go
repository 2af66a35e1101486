package gittest

import (
	"crypto/subtle"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// HTTPSOptions configures NewHTTPS.
type HTTPSOptions struct {
	// Root is the directory of bare repositories to serve; empty means a new
	// temporary directory.
	Root string
	// Username and Password, when Username is set, are required as basic auth.
	Username, Password string
	// BearerToken, when set, is accepted as "Authorization: Bearer <token>".
	BearerToken string
}

// HTTPSServer is `git http-backend` served over TLS with a certificate
// signed by a CA generated for the test.
type HTTPSServer struct {
	// URL is the server's base URL, e.g. https://127.0.0.1:41234.
	URL string
	// CAPEM is the PEM certificate of the CA that signed the server's
	// certificate (for 127.0.0.1 and localhost).
	CAPEM []byte
	// Root is the directory of bare repositories served.
	Root string
	// Username, Password and BearerToken are the credentials accepted.
	Username, Password, BearerToken string

	srv         *httptest.Server
	closeOnce   sync.Once
	uploadPacks atomic.Int64
	requests    atomic.Int64
	down        atomic.Bool
}

// NewHTTPS starts the server; it is closed when the test ends.
func NewHTTPS(t testing.TB, opts HTTPSOptions) *HTTPSServer {
	t.Helper()
	s := &HTTPSServer{Root: opts.Root, Username: opts.Username, Password: opts.Password,
		BearerToken: opts.BearerToken}
	if s.Root == "" {
		s.Root = t.TempDir()
	}
	backend := &cgi.Handler{
		Path:   filepath.Join(Git(t, s.Root, "--exec-path"), "git-http-backend"),
		Env:    append(Env(), "GIT_PROJECT_ROOT="+s.Root, "GIT_HTTP_EXPORT_ALL=1"),
		Stderr: io.Discard,
	}
	s.srv = httptest.NewUnstartedServer(s.handler(backend))
	// Clients that refuse the certificate are part of the tests: keep the log quiet.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	cert, caPEM := newTLS(t)
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	s.CAPEM = caPEM
	t.Cleanup(s.Close)
	return s
}

func (s *HTTPSServer) handler(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.down.Load() {
			// As a server that dies mid-request: the connection closes with
			// no response.
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
			return
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			s.uploadPacks.Add(1)
		}
		backend.ServeHTTP(w, r)
	})
}

func (s *HTTPSServer) authorized(r *http.Request) bool {
	if s.Username == "" && s.BearerToken == "" {
		return true
	}
	if s.BearerToken != "" {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.BearerToken)) == 1 {
			return true
		}
	}
	user, pass, ok := r.BasicAuth()
	return ok && s.Username != "" &&
		subtle.ConstantTimeCompare([]byte(user), []byte(s.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.Password)) == 1
}

// RepoURL returns the clone URL of the repository name (e.g. "app.git").
func (s *HTTPSServer) RepoURL(name string) string { return s.URL + "/" + name }

// NewRepo creates a bare repository name under the server's root.
func (s *HTTPSServer) NewRepo(t testing.TB, name string) *Repo { return NewRepo(t, s.Root, name) }

// UploadPacks counts the fetches served (POST .../git-upload-pack); ref
// advertisements (ls-remote) are not counted.
func (s *HTTPSServer) UploadPacks() int64 { return s.uploadPacks.Load() }

// Requests counts every HTTP request received, authorized or not.
func (s *HTTPSServer) Requests() int64 { return s.requests.Load() }

// SetDown makes the server close every connection without a response while
// down is true, as a Git server going away would; false serves again.
func (s *HTTPSServer) SetDown(down bool) { s.down.Store(down) }

// Close stops the server; later requests are refused. It is idempotent.
func (s *HTTPSServer) Close() {
	s.closeOnce.Do(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}
