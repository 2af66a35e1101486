package webhook

import (
	"fmt"
	"strings"
	"time"
)

// Provider names the sender of a webhook and so its headers and payload.
type Provider string

// The providers understood.
const (
	// GitHub verifies X-Hub-Signature-256 ("sha256=<hex>" HMAC-SHA256 of
	// the body) and accepts X-GitHub-Event "push".
	GitHub Provider = "github"
	// GitLab compares X-Gitlab-Token with the secret and accepts
	// X-Gitlab-Event "Push Hook" and "Tag Push Hook".
	GitLab Provider = "gitlab"
	// Gitea verifies X-Forgejo-Signature or X-Gitea-Signature (hex
	// HMAC-SHA256 of the body) and accepts X-Forgejo-Event or X-Gitea-Event
	// "push". Forgejo is the same provider.
	Gitea Provider = "gitea"
	// Generic verifies X-Signature ("sha256=<hex>" HMAC-SHA256 of the body)
	// over the payload {"url": "...", "ref": "refs/heads/main"}.
	Generic Provider = "generic"
)

// Receiver is one webhook endpoint.
type Receiver struct {
	// Name is the last path segment of the endpoint: /hook/<Name>.
	Name string
	// Provider says how requests are signed and what they hold.
	Provider Provider
	// Secret is the shared token; it must not be empty.
	Secret []byte
}

func (r Receiver) validate() error {
	switch {
	case r.Name == "" || strings.ContainsAny(r.Name, "/?#"):
		return fmt.Errorf("webhook receiver %q: name must be one path segment", r.Name)
	case len(r.Secret) == 0:
		return fmt.Errorf("webhook receiver %q: secret is required", r.Name)
	}
	if _, ok := parsers[r.Provider]; !ok {
		return fmt.Errorf("webhook receiver %q: unknown provider %q", r.Name, r.Provider)
	}
	return nil
}

// Options configures a Handler. Start from DefaultOptions.
type Options struct {
	// PathPrefix is the path before the receiver name.
	PathPrefix string
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64
	// Window is the coalescing window per repository and ref: after a
	// callback, pushes within Window make one more callback at its end.
	Window time.Duration
	// MaxPending bounds the repository/ref pairs tracked at once; past it,
	// pushes call back at once without coalescing.
	MaxPending int
	// MaxConcurrent bounds the request bodies read at once; past it,
	// requests get 503 with Retry-After. Memory for bodies stays under
	// MaxConcurrent × MaxBodyBytes.
	MaxConcurrent int
}

// DefaultOptions returns a 3 MiB body limit, 8 bodies read at once (24 MiB
// at most) and a 500 ms window.
func DefaultOptions() Options {
	return Options{PathPrefix: "/hook/", MaxBodyBytes: 3 << 20, Window: 500 * time.Millisecond, MaxPending: 10_000, MaxConcurrent: 8}
}

func (o Options) validate() error {
	switch {
	case !strings.HasPrefix(o.PathPrefix, "/") || !strings.HasSuffix(o.PathPrefix, "/"):
		return fmt.Errorf("webhook options: path prefix must start and end with /")
	case o.MaxBodyBytes <= 0 || o.Window <= 0 || o.MaxPending <= 0 || o.MaxConcurrent <= 0:
		return fmt.Errorf("webhook options: body limit, window, pending and concurrency bounds must be positive")
	}
	return nil
}
