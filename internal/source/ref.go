package source

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// Ref names what to fetch. Exactly one field is set.
type Ref struct {
	// Branch is a branch name, e.g. "main".
	Branch string
	// Tag is a tag name, e.g. "v1.2.0". A moved tag is followed.
	Tag string
	// SemVer is a constraint over the tags, e.g. ">=1.2 <2"; the highest
	// matching tag is fetched. Pre-releases match only when the constraint
	// names one.
	SemVer string
	// Commit is a full 40-hex-digit SHA-1 commit hash.
	Commit string
}

// String names the ref for messages, e.g. `branch "main"`; "" when unset.
func (r Ref) String() string {
	switch {
	case r.Branch != "":
		return fmt.Sprintf("branch %q", r.Branch)
	case r.Tag != "":
		return fmt.Sprintf("tag %q", r.Tag)
	case r.SemVer != "":
		return fmt.Sprintf("semver %q", r.SemVer)
	case r.Commit != "":
		return fmt.Sprintf("commit %q", r.Commit)
	}
	return ""
}

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

func (r Ref) validate() error {
	set := 0
	for _, v := range []string{r.Branch, r.Tag, r.SemVer, r.Commit} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("exactly one of branch, tag, semver and commit must be set, got %d", set)
	}
	switch {
	case r.Branch != "":
		return validRefName(plumbing.NewBranchReferenceName(r.Branch))
	case r.Tag != "":
		return validRefName(plumbing.NewTagReferenceName(r.Tag))
	case r.SemVer != "":
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return fmt.Errorf("invalid semver constraint: %w", err)
		}
	case !commitPattern.MatchString(r.Commit):
		return fmt.Errorf("commit must be 40 lowercase hex digits")
	}
	return nil
}

func validRefName(name plumbing.ReferenceName) error {
	if err := name.Validate(); err != nil {
		return fmt.Errorf("invalid ref name %q: %w", name, err)
	}
	return nil
}

// revision formats a revision: "name@sha1:<hash>", or "sha1:<hash>" when
// name is empty (a pinned commit).
func revision(name string, commit plumbing.Hash) string {
	if name == "" {
		return "sha1:" + commit.String()
	}
	return name + "@sha1:" + commit.String()
}

// CommitOf returns the commit hash of a revision ("main@sha1:<hash>",
// "sha1:<hash>") or of a bare 40-hex-digit hash.
func CommitOf(revision string) (string, error) {
	h := revision
	if i := strings.LastIndex(revision, "sha1:"); i >= 0 {
		h = revision[i+len("sha1:"):]
	}
	if !commitPattern.MatchString(h) {
		return "", fmt.Errorf("revision %q: no sha1 commit hash", revision)
	}
	return h, nil
}
