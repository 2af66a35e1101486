package webhook

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
)

// labPush is the part of a GitLab push or tag push payload we use.
type labPush struct {
	ObjectKind  string `json:"object_kind"`
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	Project     struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
	} `json:"project"`
	Repository struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
}

// parseGitLab handles GitLab: X-Gitlab-Token is the secret itself.
func parseGitLab(h http.Header, body, secret []byte) (Push, error) {
	if err := gitLabToken(h, secret); err != nil {
		return Push{}, err
	}
	switch h.Get("X-Gitlab-Event") {
	case "Push Hook", "Tag Push Hook":
	case "":
		return Push{}, errMalformed
	default:
		return Push{}, errNotPush
	}
	var p labPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Push{}, errMalformed
	}
	if p.ObjectKind != "push" && p.ObjectKind != "tag_push" {
		return Push{}, errMalformed
	}
	commit := p.CheckoutSHA
	if commit == "" {
		commit = p.After
	}
	return complete(Push{
		URLs: nonEmpty(p.Project.GitHTTPURL, p.Project.GitSSHURL, p.Project.WebURL,
			p.Repository.GitHTTPURL, p.Repository.GitSSHURL, p.Repository.Homepage),
		Ref:    p.Ref,
		Commit: commit,
	})
}

// gitLabToken checks X-Gitlab-Token, the secret itself, in constant time.
func gitLabToken(h http.Header, secret []byte) error {
	token := h.Get("X-Gitlab-Token")
	if token == "" || subtle.ConstantTimeCompare([]byte(token), secret) != 1 {
		return errUnauthorized
	}
	return nil
}
