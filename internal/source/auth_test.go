package source

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/driftless-dev/driftless/internal/source/gittest"
)

func sshFixture(t *testing.T) (*gittest.SSHServer, Request) {
	t.Helper()
	srv := gittest.NewSSH(t, gittest.SSHOptions{Passphrase: canary})
	repo := srv.NewRepo(t, "app.git")
	repo.WriteFile("app.yaml", "kind: ConfigMap\n")
	repo.Commit("first")
	return srv, Request{URL: srv.RepoURL(repo.Name), Ref: Ref{Branch: "main"},
		Credentials: Credentials{Identity: srv.Identity, Passphrase: []byte(canary), KnownHosts: srv.KnownHosts}}
}

func TestSSHHostKeys(t *testing.T) {
	srv, good := sshFixture(t)
	other, _ := gittest.NewKey(t, "")

	t.Run("unknown host", func(t *testing.T) {
		req := good
		req.Credentials.KnownHosts = gittest.KnownHostsLine("[git.example.com]:22", srv.HostKey)
		err := fetchFails(t, newClient(t), req, ErrSourceUnavailable)
		if !errors.Is(err, ErrUnknownHostKey) {
			t.Errorf("error %v does not match ErrUnknownHostKey", err)
		}
	})
	t.Run("changed host key", func(t *testing.T) {
		req := good
		req.Credentials.KnownHosts = gittest.KnownHostsLine(srv.Addr, other.PublicKey())
		err := fetchFails(t, newClient(t), req, ErrSourceUnavailable)
		if !errors.Is(err, ErrHostKeyChanged) {
			t.Errorf("error %v does not match ErrHostKeyChanged", err)
		}
	})
	t.Run("known host among others", func(t *testing.T) {
		req := good
		req.Credentials.KnownHosts = append(gittest.KnownHostsLine("[git.example.com]:22", other.PublicKey()),
			srv.KnownHosts...)
		fetchOK(t, newClient(t), req)
	})
	t.Run("server down", func(t *testing.T) {
		c := newClient(t)
		fetchOK(t, c, good)
		srv.Close()
		fetchFails(t, c, good, ErrSourceUnavailable)
	})
}

func TestSSHCredentialsRefused(t *testing.T) {
	_, good := sshFixture(t)
	_, wrongIdentity := gittest.NewKey(t, "")
	tests := []struct {
		name string
		mod  func(*Credentials)
		kind error
	}{
		{"no known_hosts", func(c *Credentials) { c.KnownHosts = nil }, ErrInvalidRequest},
		{"no identity", func(c *Credentials) { c.Identity = nil }, ErrInvalidRequest},
		{"wrong passphrase", func(c *Credentials) { c.Passphrase = []byte(canary + "x") }, ErrInvalidRequest},
		{"missing passphrase", func(c *Credentials) { c.Passphrase = nil }, ErrInvalidRequest},
		{"garbage identity", func(c *Credentials) { c.Identity = []byte(canary) }, ErrInvalidRequest},
		{"key the server does not know", func(c *Credentials) { c.Identity, c.Passphrase = wrongIdentity, nil }, ErrSourceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.mod(&req.Credentials)
			fetchFails(t, newClient(t), req, tt.kind)
		})
	}
}

func TestBearerToken(t *testing.T) {
	srv := gittest.NewHTTPS(t, gittest.HTTPSOptions{BearerToken: canary})
	repo := srv.NewRepo(t, "app.git")
	head := repo.Commit("first")
	req := Request{URL: srv.RepoURL(repo.Name), Ref: Ref{Branch: "main"},
		Credentials: Credentials{BearerToken: []byte(canary), CAFile: srv.CAPEM}}
	if res, _ := fetchOK(t, newClient(t), req); res.Commit != head {
		t.Errorf("commit = %s, want %s", res.Commit, head)
	}
	req.Credentials.BearerToken = []byte(canary + "-wrong")
	fetchFails(t, newClient(t), req, ErrSourceUnavailable)
	req.Credentials.Password = []byte("also")
	fetchFails(t, newClient(t), req, ErrInvalidRequest)
	req.Credentials = Credentials{BearerToken: []byte(canary), CAFile: []byte("not pem")}
	fetchFails(t, newClient(t), req, ErrInvalidRequest)
}

func TestCredentialFingerprint(t *testing.T) {
	a := Credentials{Username: []byte("ab"), Password: []byte("c")}
	b := Credentials{Username: []byte("a"), Password: []byte("bc")}
	if bytes.Equal(a.fingerprint(), b.fingerprint()) {
		t.Error("fields are not separated in the fingerprint")
	}
	if bytes.Contains(a.fingerprint(), []byte("ab")) {
		t.Error("fingerprint holds a credential")
	}
}

// A server that echoes the credentials it got in its error page must not
// make them part of our error.
func TestEchoedCredentialsRedacted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		http.Error(w, "denied "+user+":"+pass+" "+r.Header.Get("Authorization"), http.StatusUnauthorized)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for _, creds := range []Credentials{
		{Username: []byte("driftless"), Password: []byte(canary), CAFile: ca},
		{BearerToken: []byte(canary), CAFile: ca},
	} {
		req := Request{URL: srv.URL + "/app.git", Ref: Ref{Branch: "main"}, Credentials: creds}
		err := fetchFails(t, newClient(t), req, ErrSourceUnavailable)
		basic := base64.StdEncoding.EncodeToString([]byte("driftless:" + canary))
		if strings.Contains(err.Error(), basic) || !strings.Contains(err.Error(), "<redacted>") {
			t.Errorf("echoed credentials not redacted: %v", err)
		}
		_, err = newClient(t).Resolve(context.Background(), req)
		noCanary(t, err)
	}
}
