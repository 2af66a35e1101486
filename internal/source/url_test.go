package source

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw, identity, user string
		ok                  bool
	}{
		{"https://Git.Example.com/org/app.git/", "https://git.example.com/org/app.git", "", true},
		{"ssh://git.example.com:2222/org/app.git", "ssh://git.example.com:2222/org/app.git", "git", true},
		{"ssh://deploy@git.example.com/org/app", "ssh://deploy@git.example.com/org/app", "deploy", true},
		{"http://git.example.com/org/app.git", "", "", false},
		{"file:///etc/passwd", "", "", false},
		{"git@github.com:org/app.git", "", "", false},
		{"-oProxyCommand=x", "", "", false},
		{"https://git.example.com", "", "", false},
		{"https://git.example.com/app.git#frag", "", "", false},
		{"ssh://-oProxyCommand=x/app", "", "", false},
	}
	for _, tt := range tests {
		e, err := parseURL(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.raw, err, tt.ok)
			continue
		}
		if tt.ok && (e.identity != tt.identity || e.sshUser != tt.user) {
			t.Errorf("%s: identity %q user %q", tt.raw, e.identity, e.sshUser)
		}
	}
}

func TestCredentialsInURLRefused(t *testing.T) {
	c := newClient(t)
	for _, raw := range []string{
		"https://user:" + canary + "@git.example.com/org/app.git",
		"https://" + canary + "@git.example.com/org/app.git",
		"ssh://git:" + canary + "@git.example.com/org/app.git",
		"https://user:" + canary + "@git.example.com/org/app.git%zz",
	} {
		_, err := c.Fetch(context.Background(), Request{URL: raw, Ref: Ref{Branch: "main"}}, t.TempDir())
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("fetch %q: %v, want ErrInvalidRequest", strings.ReplaceAll(raw, canary, "***"), err)
		}
		noCanary(t, err)
		_, err = c.Resolve(context.Background(), Request{URL: raw, Ref: Ref{Branch: "main"}})
		noCanary(t, err)
	}
}
