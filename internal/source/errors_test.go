package source

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	creds := Credentials{Username: []byte("user"), Password: []byte(canary), BearerToken: []byte("tok-" + canary),
		Passphrase: []byte("pass-" + canary)}
	r := newRedactor(creds)
	basic := base64.StdEncoding.EncodeToString([]byte("user:" + canary))
	for _, leak := range []string{canary, "tok-" + canary, "pass-" + canary, "Basic " + basic} {
		err := r.redact(fmt.Errorf("server said %q: %w", leak, errors.New("x")))
		if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), basic) {
			t.Errorf("not redacted: %v", err)
		}
	}
	clean := errors.New("nothing secret")
	if r.redact(clean) != clean { //nolint:errorlint // the very same error must come back
		t.Error("a clean error was replaced")
	}
	if newRedactor(Credentials{Password: []byte("ab")}).string("abc") != "abc" {
		t.Error("a two-byte password redacts everything")
	}
	// A remote's sideband message, as a corrupt repository sends it.
	remote := errors.New("unexpected error: corruption on the remote side.\x00\x1b[31mred\x1b[0m\n")
	if got, want := r.redact(remote).Error(), "unexpected error: corruption on the remote side.  [31mred [0m"; got != want {
		t.Errorf("control characters kept: %q, want %q", got, want)
	}
}

func TestErrorMatchesKindAndCause(t *testing.T) {
	cause := fmt.Errorf("%w: host presented another key", ErrHostKeyChanged)
	err := error(&Error{Op: "fetch", URL: "ssh://git@h/r.git", Ref: `branch "main"`, Kind: kindOf(cause), Err: cause})
	if !errors.Is(err, ErrSourceUnavailable) || !errors.Is(err, ErrHostKeyChanged) {
		t.Errorf("%v does not match both its kind and its cause", err)
	}
	want := `fetch ssh://git@h/r.git, branch "main": source unavailable: host key does not match known_hosts: host presented another key`
	if err.Error() != want {
		t.Errorf("message = %q", err.Error())
	}
	if !errors.Is(kindOf(withKind(ErrRevisionNotFound, errors.New("x"))), ErrRevisionNotFound) {
		t.Error("explicit kind lost")
	}
}
