package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// target is a Ref resolved against the remote's advertised refs.
type target struct {
	// name is the revision's name: the branch or tag; "" for a commit.
	name string
	// remote is the ref on the server; "" for a pinned commit.
	remote plumbing.ReferenceName
	// local is where the fetch stores it in the cache.
	local plumbing.ReferenceName
	// hash is what the remote advertises (a tag object for annotated tags),
	// or the pinned commit.
	hash plumbing.Hash
	// commit is the commit hash, peeled from the advertisement.
	commit plumbing.Hash
}

// listRefs asks the remote for its refs ("git ls-remote"), peeled tags
// included as "refs/tags/x^{}".
func listRefs(ctx context.Context, r *request) (map[string]plumbing.Hash, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.ep.url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{
		Auth: r.acc.auth, CABundle: r.acc.caBundle, PeelingOption: git.AppendPeeled,
	})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[string]plumbing.Hash{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	out := make(map[string]plumbing.Hash, len(refs))
	for _, ref := range refs {
		if ref.Type() == plumbing.HashReference {
			out[ref.Name().String()] = ref.Hash()
		}
	}
	return out, nil
}

// resolveTarget lists the remote's refs and picks ref among them. A pinned
// commit needs no listing: it is immutable, and its absence shows at fetch.
func resolveTarget(ctx context.Context, r *request) (target, error) {
	if r.Ref.Commit != "" {
		h := plumbing.NewHash(r.Ref.Commit)
		return target{local: plumbing.ReferenceName("refs/pinned/" + r.Ref.Commit), hash: h, commit: h}, nil
	}
	refs, err := listRefs(ctx, r)
	if err != nil {
		return target{}, err
	}
	return pickTarget(refs, r.Ref)
}

func pickTarget(refs map[string]plumbing.Hash, ref Ref) (target, error) {
	switch {
	case ref.Branch != "":
		name := plumbing.NewBranchReferenceName(ref.Branch)
		h, ok := refs[name.String()]
		if !ok {
			return target{}, withKind(ErrRevisionNotFound, errors.New("no such branch on the remote"))
		}
		return target{name: ref.Branch, remote: name,
			local: plumbing.NewRemoteReferenceName("origin", ref.Branch), hash: h, commit: h}, nil
	case ref.Tag != "":
		return tagTarget(refs, ref.Tag)
	case ref.SemVer != "":
		tag, err := highestMatch(refs, ref.SemVer)
		if err != nil {
			return target{}, err
		}
		return tagTarget(refs, tag)
	}
	return target{}, withKind(ErrInvalidRequest, errors.New("no branch, tag or semver range"))
}

func tagTarget(refs map[string]plumbing.Hash, tag string) (target, error) {
	name := plumbing.NewTagReferenceName(tag)
	h, ok := refs[name.String()]
	if !ok {
		return target{}, withKind(ErrRevisionNotFound, errors.New("no such tag on the remote"))
	}
	commit := h
	if peeled, ok := refs[name.String()+"^{}"]; ok {
		commit = peeled
	}
	return target{name: tag, remote: name, local: name, hash: h, commit: commit}, nil
}

// highestMatch returns the tag with the highest version that satisfies the
// constraint; tags that are not versions are ignored.
func highestMatch(refs map[string]plumbing.Hash, constraint string) (string, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", withKind(ErrInvalidRequest, fmt.Errorf("semver constraint: %w", err))
	}
	var best *semver.Version
	var bestTag string
	for name := range refs {
		tag, ok := strings.CutPrefix(name, "refs/tags/")
		if !ok || strings.HasSuffix(tag, "^{}") {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		// Equal versions ("1.0.0" and "v1.0.0"): the lexically smaller tag
		// wins, so the choice does not depend on map order.
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && tag < bestTag) {
			best, bestTag = v, tag
		}
	}
	if best == nil {
		return "", withKind(ErrRevisionNotFound, errors.New("no tag matches the semver constraint"))
	}
	return bestTag, nil
}
