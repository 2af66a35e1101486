package webhook

import (
	"encoding/json"
	"net/http"
)

// genericPush is the payload of the generic provider.
type genericPush struct {
	URL    string `json:"url"`
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
}

// parseGeneric handles the generic sender: X-Signature "sha256=<hex>" over
// {"url": "...", "ref": "refs/heads/main"} (and an optional "commit").
// Every signed request is a push.
func parseGeneric(h http.Header, body, secret []byte) (Push, error) {
	if !validPrefixedHMAC(body, secret, h.Get("X-Signature")) {
		return Push{}, errUnauthorized
	}
	var p genericPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Push{}, errMalformed
	}
	return complete(Push{URLs: nonEmpty(p.URL), Ref: p.Ref, Commit: p.Commit})
}
