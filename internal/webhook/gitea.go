package webhook

import (
	"encoding/json"
	"net/http"
)

// parseGitea handles Gitea and Forgejo: X-Forgejo-Signature or
// X-Gitea-Signature (plain hex HMAC-SHA256), X-Forgejo-Event or
// X-Gitea-Event. The payload has GitHub's shape.
func parseGitea(h http.Header, body, secret []byte) (Push, error) {
	sig := h.Get("X-Forgejo-Signature")
	if sig == "" {
		sig = h.Get("X-Gitea-Signature")
	}
	if !validHMAC(body, secret, sig) {
		return Push{}, errUnauthorized
	}
	event := h.Get("X-Forgejo-Event")
	if event == "" {
		event = h.Get("X-Gitea-Event")
	}
	switch event {
	case "push":
	case "":
		return Push{}, errMalformed
	default:
		return Push{}, errNotPush
	}
	var p hubPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Push{}, errMalformed
	}
	return p.push()
}
