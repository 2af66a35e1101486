package webhook

import (
	"net/url"
	"strings"
)

// NormalizeURL reduces a repository URL to "host/path" so that the forms a
// host uses for one repository compare equal: https://Host/Org/Repo.git,
// https://host/org/repo, ssh://git@host:22/org/repo.git, git@host:org/repo
// and git://host/org/repo all give "host/org/repo". Scheme, user, port, a
// trailing ".git" and letter case are dropped; a false match only costs an
// extra refresh. An unparsable URL is returned trimmed and lower-cased.
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		// scp-like syntax: [user@]host:path
		if at := strings.Index(s, "@"); at >= 0 && at < strings.Index(s, ":") {
			s = s[at+1:]
		}
		if host, path, ok := strings.Cut(s, ":"); ok && !strings.Contains(host, "/") {
			return join(host, path)
		}
		return strings.ToLower(s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return strings.ToLower(s)
	}
	return join(u.Hostname(), u.Path)
}

func join(host, path string) string {
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimSuffix(path, "/")
	return strings.ToLower(host + "/" + path)
}
