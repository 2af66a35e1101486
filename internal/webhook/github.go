package webhook

import (
	"encoding/json"
	"net/http"
)

// hubPush is the part of a GitHub (and Gitea/Forgejo) push payload we use.
type hubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

func (h hubPush) push() (Push, error) {
	return complete(Push{
		URLs:   nonEmpty(h.Repository.CloneURL, h.Repository.SSHURL, h.Repository.HTMLURL),
		Ref:    h.Ref,
		Commit: h.After,
	})
}

// parseGitHub handles GitHub: X-Hub-Signature-256 and X-GitHub-Event.
func parseGitHub(h http.Header, body, secret []byte) (Push, error) {
	if !validPrefixedHMAC(body, secret, h.Get("X-Hub-Signature-256")) {
		return Push{}, errUnauthorized
	}
	switch h.Get("X-GitHub-Event") {
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
