package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// The outcomes of parsing a request, mapped to status codes by the Handler.
var (
	errUnauthorized = errors.New("missing or invalid signature")
	errNotPush      = errors.New("event ignored: not a push")
	errMalformed    = errors.New("malformed payload")
)

// parser verifies a request against the secret and extracts the push.
type parser func(h http.Header, body, secret []byte) (Push, error)

var parsers = map[Provider]parser{
	GitHub:  parseGitHub,
	GitLab:  parseGitLab,
	Gitea:   parseGitea,
	Generic: parseGeneric,
}

// preauth checks, per provider, what the headers alone can prove before the
// body is read: GitLab's token itself, and that an HMAC signature is there
// and well formed.
var preauth = map[Provider]func(h http.Header, secret []byte) error{
	GitHub: func(h http.Header, _ []byte) error {
		return wellFormed(strings.TrimPrefix(h.Get("X-Hub-Signature-256"), "sha256="))
	},
	GitLab: gitLabToken,
	Gitea: func(h http.Header, _ []byte) error {
		sig := h.Get("X-Forgejo-Signature")
		if sig == "" {
			sig = h.Get("X-Gitea-Signature")
		}
		return wellFormed(sig)
	},
	Generic: func(h http.Header, _ []byte) error {
		return wellFormed(strings.TrimPrefix(h.Get("X-Signature"), "sha256="))
	},
}

// wellFormed accepts a hex HMAC-SHA256, the only signature worth reading a
// body for.
func wellFormed(sigHex string) error {
	if sig, err := hex.DecodeString(strings.TrimSpace(sigHex)); err != nil || len(sig) != sha256.Size {
		return errUnauthorized
	}
	return nil
}

// validHMAC reports whether sigHex is the hex HMAC-SHA256 of body under
// secret, compared in constant time.
func validHMAC(body, secret []byte, sigHex string) bool {
	sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil || len(sig) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), sig)
}

// validPrefixedHMAC checks a "sha256=<hex>" header value.
func validPrefixedHMAC(body, secret []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	return ok && validHMAC(body, secret, hexSig)
}

// nonEmpty returns the non-empty values, deduplicated, in order.
func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" && !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// complete checks what every push must carry.
func complete(p Push) (Push, error) {
	if p.Ref == "" || !strings.HasPrefix(p.Ref, "refs/") || len(p.URLs) == 0 {
		return Push{}, errMalformed
	}
	return p, nil
}
