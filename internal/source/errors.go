package source

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode"
)

// Sentinel errors. Every error returned by this package is an *Error that
// matches exactly one of the first six with errors.Is.
var (
	// ErrInvalidRequest: the URL, ref, path or credentials are unusable as
	// given (scheme other than https/ssh, credentials in the URL, missing
	// known_hosts, malformed key). Only a change of the request fixes it.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrSourceUnavailable: the server could not be reached or refused us
	// (down, timeout, authentication failure, unknown or changed host key).
	ErrSourceUnavailable = errors.New("source unavailable")
	// ErrRevisionNotFound: the branch, tag, semver range or pinned commit
	// does not exist on the server.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrSymlinkOutOfBounds: the checkout holds a symlink whose target
	// resolves outside the checkout.
	ErrSymlinkOutOfBounds = errors.New("symlink out of bounds")
	// ErrPathOutOfBounds: a path (a tree entry or a requested path) would
	// leave the checkout or names .git.
	ErrPathOutOfBounds = errors.New("path out of bounds")
	// ErrLimitExceeded: a fetch or checkout went over a byte or file limit.
	ErrLimitExceeded = errors.New("limit exceeded")
	// ErrHistoryUnavailable: a revision needed to compare is not in the
	// cache (never fetched, evicted, or removed by a force-push).
	ErrHistoryUnavailable = errors.New("history unavailable")
	// ErrPathNotFound: the path does not exist in the revision.
	ErrPathNotFound = errors.New("path not found")
	// ErrUnknownHostKey: known_hosts has no key for the SSH server. Also
	// matches ErrSourceUnavailable.
	ErrUnknownHostKey = errors.New("host key not in known_hosts")
	// ErrHostKeyChanged: the SSH server presented a key other than the one
	// in known_hosts. Also matches ErrSourceUnavailable.
	ErrHostKeyChanged = errors.New("host key does not match known_hosts")
)

// Error describes a failed operation on a repository.
type Error struct {
	// Op is the verb: "fetch", "resolve", "changes", "tree hash" or
	// "contains".
	Op string
	// URL is the repository URL; it never holds credentials.
	URL string
	// Ref is the ref as written by Ref.String, or a revision.
	Ref string
	// Kind is one of the sentinel errors of this package.
	Kind error
	// Err is the cause, with every credential redacted; may be nil.
	Err error
}

// Error returns e.g. `fetch https://host/org/app.git, branch "main":
// source unavailable: authentication required`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(" ")
	b.WriteString(e.URL)
	if e.Ref != "" {
		b.WriteString(", ")
		b.WriteString(e.Ref)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause, so errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// kindError tags an internal error with its sentinel until it reaches the
// public boundary, where it becomes an *Error.
type kindError struct {
	kind error
	err  error
}

// Error is the cause's message; the kind shows once, at the boundary.
func (k *kindError) Error() string { return k.err.Error() }

// Unwrap returns the kind and the cause.
func (k *kindError) Unwrap() []error { return []error{k.kind, k.err} }

func withKind(kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: kind, err: err}
}

// kindOf picks the sentinel of err: an explicit tag wins, except the host
// key errors, which are a kind of unavailability; anything untagged (network,
// protocol, context deadline) is the server's side being unavailable.
func kindOf(err error) error {
	var k *kindError
	if errors.As(err, &k) && !errors.Is(k.kind, ErrUnknownHostKey) && !errors.Is(k.kind, ErrHostKeyChanged) {
		return k.kind
	}
	return ErrSourceUnavailable
}

// redactor replaces every credential in error messages.
type redactor struct{ secrets []string }

// minSecretLen keeps one- and two-byte values from turning every message
// into asterisks; a credential that short protects nothing anyway.
const minSecretLen = 3

func newRedactor(c Credentials) redactor {
	var r redactor
	add := func(b []byte) {
		if len(b) >= minSecretLen {
			r.secrets = append(r.secrets, string(b))
		}
	}
	add(c.Password)
	add(c.BearerToken)
	add(c.Passphrase)
	add(c.Identity)
	if len(c.Password) > 0 {
		userPass := append(append(append([]byte{}, c.Username...), ':'), c.Password...)
		add([]byte(base64.StdEncoding.EncodeToString(userPass)))
	}
	return r
}

// redact returns err unchanged when its message holds no credential and no
// control character, and otherwise a plain error with the credentials
// replaced and the control characters (a remote's sideband message may end
// in NUL, or carry terminal escapes) turned into spaces: the chain is
// dropped on purpose, so no wrapped value can print a secret later.
func (r redactor) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.string(msg)
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

func (r redactor) string(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "<redacted>")
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		s = strings.TrimSpace(strings.Map(func(c rune) rune {
			if unicode.IsControl(c) {
				return ' '
			}
			return c
		}, s))
	}
	return s
}
