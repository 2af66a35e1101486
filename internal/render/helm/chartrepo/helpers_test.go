package chartrepo

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/driftless-dev/driftless/internal/reference"
)

// Test credentials; the password is a canary that no error may contain.
const (
	testUser     = "reader"
	testPassword = "canary-5f1e9c-secret"
)

// helmCLI is the pinned helm CLI that hack/build-tools.sh builds into
// bin/tools/ (once) or reuses, with HELM_* homes in a temporary directory so
// that nothing touches $HOME.
type helmCLI struct {
	path string
	env  []string
}

func newHelm(t *testing.T) *helmCLI {
	t.Helper()
	path := reference.Helm(t)
	home := t.TempDir()
	env := append(os.Environ(),
		"HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"HELM_REGISTRY_CONFIG="+filepath.Join(home, "registry.json"),
	)
	return &helmCLI{path: path, env: env}
}

// run runs helm with args and fails the test if it fails.
func (h *helmCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), h.path, args...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pack writes a small chart at version and packages it with `helm
// package` into dir; it returns the archive's path.
func (h *helmCLI) pack(t *testing.T, dir, name, version string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	writeFile(t, filepath.Join(src, "Chart.yaml"), "apiVersion: v2\nname: "+name+"\nversion: 0.0.1\n")
	writeFile(t, filepath.Join(src, "templates", "cm.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n")
	h.run(t, "package", src, "--version", version, "--destination", dir)
	return filepath.Join(dir, name+"-"+version+".tgz")
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tlsServer serves h over TLS on loopback with basic authentication
// (testUser, testPassword), counting requests by path. Its certificate, in
// PEM, is in caPEM and in the file caFile.
type tlsServer struct {
	*httptest.Server
	caPEM  []byte
	caFile string

	mu       sync.Mutex
	requests map[string]int
}

func newTLSServer(t *testing.T, h http.Handler, challenge bool) *tlsServer {
	t.Helper()
	s := &tlsServer{requests: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		s.mu.Unlock()
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(testUser)) != 1 || subtle.ConstantTimeCompare([]byte(pass), []byte(testPassword)) != 1 {
			if challenge {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			}
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	// Handshakes that tests make fail on purpose would be logged.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	s.caFile = filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, s.caFile, string(s.caPEM))
	return s
}

// count is the number of requests for path so far.
func (s *tlsServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// host is the server's host:port.
func (s *tlsServer) host() string {
	return strings.TrimPrefix(s.URL, "https://")
}

// creds are the right credentials for s.
func (s *tlsServer) creds() Credentials {
	return Credentials{Username: []byte(testUser), Password: []byte(testPassword), CA: s.caPEM}
}

// newTestClient is a client with its own cache and opts' bounds.
func newTestClient(t *testing.T, opts Options) *Client {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustNotLeak fails if err is nil or contains the password.
func mustNotLeak(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, testPassword) {
		t.Fatalf("error contains the password: %s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}
