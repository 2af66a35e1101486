package webhook

import "strings"

// Push is a valid push event.
type Push struct {
	// Receiver is the name of the receiver that got it.
	Receiver string
	// Provider is the receiver's provider.
	Provider Provider
	// URLs are the repository's URLs as the provider sent them (clone,
	// SSH and web URLs); compare them with NormalizeURL.
	URLs []string
	// Ref is the full ref that moved, e.g. "refs/heads/main" or
	// "refs/tags/v1.2.0".
	Ref string
	// Commit is the new head when the provider says; may be empty.
	Commit string
}

// Branch returns the branch name of the ref, or "" for another kind of ref.
func (p Push) Branch() string {
	b, _ := strings.CutPrefix(p.Ref, "refs/heads/")
	if b == p.Ref {
		return ""
	}
	return b
}

// Tag returns the tag name of the ref, or "" for another kind of ref.
func (p Push) Tag() string {
	t, _ := strings.CutPrefix(p.Ref, "refs/tags/")
	if t == p.Ref {
		return ""
	}
	return t
}

// Matches reports whether the push is for the repository url (in any of
// its forms).
func (p Push) Matches(url string) bool {
	want := NormalizeURL(url)
	for _, u := range p.URLs {
		if NormalizeURL(u) == want {
			return true
		}
	}
	return false
}

// key identifies the push for coalescing: one repository and one ref.
func (p Push) key() string {
	repo := p.Receiver
	if len(p.URLs) > 0 {
		repo = NormalizeURL(p.URLs[0])
	}
	return repo + "\x00" + p.Ref
}
