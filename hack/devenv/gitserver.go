package main

import (
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
)

// gitServer serves the bare repositories under root with `git http-backend`
// over HTTPS, as a Git host would; its certificate is signed for 127.0.0.1.
type gitServer struct {
	srv   *httptest.Server
	caPEM []byte
}

func startGitServer(root string) (*gitServer, error) {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, err
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewTLSServer(http.Handler(backend))
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return &gitServer{srv: srv, caPEM: ca}, nil
}

func (g *gitServer) url(repo string) string { return g.srv.URL + "/" + repo }

func (g *gitServer) Close() { g.srv.Close() }
