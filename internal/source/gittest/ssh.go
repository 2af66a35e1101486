package gittest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	gssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// SSHOptions configures NewSSH.
type SSHOptions struct {
	// Root is the directory of bare repositories to serve; empty means a new
	// temporary directory.
	Root string
	// Passphrase, when set, encrypts the generated client identity.
	Passphrase string
}

// SSHServer serves `git upload-pack` over SSH, authenticating one generated
// client key and presenting one generated host key.
type SSHServer struct {
	// URL is the base URL, e.g. ssh://git@127.0.0.1:41234.
	URL string
	// Addr is the listening host:port.
	Addr string
	// Root is the directory of bare repositories served.
	Root string
	// Identity is the client's private key (OpenSSH PEM), encrypted with
	// SSHOptions.Passphrase when one was given.
	Identity []byte
	// KnownHosts is a known_hosts line for the server's host key at Addr.
	KnownHosts []byte
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey

	srv      *gssh.Server
	sessions atomic.Int64
}

// NewSSH starts the server; it is closed when the test ends.
func NewSSH(t testing.TB, opts SSHOptions) *SSHServer {
	t.Helper()
	s := &SSHServer{Root: opts.Root}
	if s.Root == "" {
		s.Root = t.TempDir()
	}
	host, _ := NewKey(t, "")
	client, identity := NewKey(t, opts.Passphrase)
	s.Identity = identity
	s.HostKey = host.PublicKey()
	s.srv = &gssh.Server{
		Handler: s.serve,
		PublicKeyHandler: func(_ gssh.Context, key gssh.PublicKey) bool {
			return gssh.KeysEqual(key, client.PublicKey())
		},
	}
	s.srv.AddHostKey(host)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "ssh://git@" + s.Addr
	s.KnownHosts = KnownHostsLine(s.Addr, s.HostKey)
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.Close)
	return s
}

func (s *SSHServer) serve(sess gssh.Session) {
	args := sess.Command()
	if len(args) != 2 || args[0] != "git-upload-pack" {
		fmt.Fprintln(sess.Stderr(), "gittest: only git-upload-pack is served")
		_ = sess.Exit(1)
		return
	}
	dir, err := s.repoDir(args[1])
	if err != nil {
		fmt.Fprintln(sess.Stderr(), err)
		_ = sess.Exit(1)
		return
	}
	s.sessions.Add(1)
	_ = sess.Exit(uploadPack(sess, dir))
}

// uploadPack runs git upload-pack for one session and returns its exit code.
func uploadPack(sess gssh.Session, dir string) int {
	cmd := exec.Command("git", "upload-pack", dir)
	cmd.Env = Env()
	cmd.Stdout, cmd.Stderr = sess, sess.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	if err := cmd.Start(); err != nil {
		return 1
	}
	// Not waited for: the client may keep its side open after the pack is sent.
	go func() {
		_, _ = io.Copy(stdin, sess)
		_ = stdin.Close()
	}()
	var exit *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &exit) {
		return exit.ExitCode()
	} else if err != nil {
		return 1
	}
	return 0
}

func (s *SSHServer) repoDir(p string) (string, error) {
	clean := path.Clean("/" + p)
	if clean == "/" || strings.Contains(p, "..") {
		return "", fmt.Errorf("gittest: invalid repository path %q", p)
	}
	return filepath.Join(s.Root, filepath.FromSlash(clean)), nil
}

// RepoURL returns the clone URL of the repository name (e.g. "app.git").
func (s *SSHServer) RepoURL(name string) string { return s.URL + "/" + name }

// NewRepo creates a bare repository name under the server's root.
func (s *SSHServer) NewRepo(t testing.TB, name string) *Repo { return NewRepo(t, s.Root, name) }

// Sessions counts the upload-pack sessions served; over SSH both ref
// listings and fetches are one session each.
func (s *SSHServer) Sessions() int64 { return s.sessions.Load() }

// Close stops the server; later connections are refused.
func (s *SSHServer) Close() { _ = s.srv.Close() }
