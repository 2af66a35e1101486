package source

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// endpoint is a repository URL that passed validation.
type endpoint struct {
	// url is the URL to dial; it may hold an SSH user name, never a secret.
	url string
	// sshUser is the SSH login ("git" when the URL names none).
	sshUser string
	ssh     bool
	// identity is the URL used in the cache key: lower-case scheme and host,
	// no trailing slash.
	identity string
}

// parseURL accepts only https:// and ssh:// URLs without credentials: any
// other scheme (http, file, git, scp-like "host:path") could be abused or
// would send credentials in clear, and credentials in a URL end up in logs.
// Its errors never repeat the user information of the URL.
func parseURL(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, errors.New("url does not parse (use https://host/path or ssh://user@host/path)")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "ssh" {
		return endpoint{}, fmt.Errorf("url scheme %q is not allowed: only https:// and ssh://", u.Scheme)
	}
	if _, hasPassword := u.User.Password(); hasPassword || (scheme == "https" && u.User != nil) {
		return endpoint{}, errors.New("url must not hold credentials: give them as a secret")
	}
	host := u.Hostname()
	if host == "" || strings.HasPrefix(host, "-") {
		return endpoint{}, errors.New("url has no valid host")
	}
	if u.Fragment != "" || u.RawQuery != "" || strings.Trim(u.Path, "/") == "" {
		return endpoint{}, errors.New("url must name a repository path, without query or fragment")
	}
	if strings.ContainsAny(u.Path, "\x00\r\n\t ") {
		return endpoint{}, errors.New("url path holds whitespace or control characters")
	}
	e := endpoint{url: raw, ssh: scheme == "ssh"}
	if e.ssh {
		e.sshUser = u.User.Username()
		if e.sshUser == "" {
			e.sshUser = "git"
		}
	}
	id := *u
	id.Scheme = scheme
	id.Host = strings.ToLower(u.Host)
	id.Path = strings.TrimSuffix(u.Path, "/")
	e.identity = id.String()
	return e, nil
}

// displayURL is raw without any user information, for error messages.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	if u.Scheme == "ssh" && u.User != nil {
		if _, hasPassword := u.User.Password(); !hasPassword {
			return u.String()
		}
	}
	u.User = nil
	return u.String()
}
