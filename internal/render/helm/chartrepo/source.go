package chartrepo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// repository is a parsed, checked Source.URL.
type repository struct {
	url *url.URL
	oci bool
}

// parseSource checks src: an https:// or oci:// URL without user
// information, and a chart name that is one path segment.
func parseSource(src Source) (repository, error) {
	u, err := url.Parse(src.URL)
	if err != nil {
		// url.Parse quotes the whole URL, user information included.
		return repository{}, errors.New("repository URL does not parse")
	}
	if u.User != nil {
		return repository{}, errors.New("repository URL carries user information: credentials belong in the secret")
	}
	if u.Host == "" || u.Opaque != "" {
		return repository{}, errors.New("repository URL has no host")
	}
	switch u.Scheme {
	case "https":
	case "oci":
		if u.RawQuery != "" || u.Fragment != "" {
			return repository{}, errors.New("oci:// repository URL has a query or fragment")
		}
	default:
		return repository{}, fmt.Errorf("repository URL scheme %q: only https:// and oci:// repositories are allowed", u.Scheme)
	}
	if src.Chart == "" || src.Chart == "." || src.Chart == ".." || strings.ContainsAny(src.Chart, "/\\:@?# \t\n") {
		return repository{}, fmt.Errorf("chart name %q is not one path segment", src.Chart)
	}
	return repository{url: u, oci: u.Scheme == "oci"}, nil
}

// display shows a URL in errors: no user information, query or fragment,
// where tokens hide.
func display(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// displayRaw is display for a URL given as a string.
func displayRaw(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return display(u)
}

// sameOrigin reports whether u is on the scheme and host of the repository:
// the only place its charts, and redirects, may lead.
func sameOrigin(u, repo *url.URL) bool {
	return u.Scheme == repo.Scheme && strings.EqualFold(u.Host, repo.Host) && u.User == nil
}

// describe names src in errors.
func describe(src Source) string {
	return fmt.Sprintf("chart %s version %q from %s", src.Chart, src.Version, displayRaw(src.URL))
}
