package source

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// maxAncestryCommits bounds the commits one Contains walks.
const maxAncestryCommits = 100_000

// ancestry is what a walk of the cached commit graph found out.
type ancestry int

const (
	// ancestryUnknown: descendant, or part of its history, is not cached.
	ancestryUnknown ancestry = iota
	// ancestryContained: ancestor is descendant's history.
	ancestryContained
	// ancestryNotContained: the whole history was walked without ancestor.
	ancestryNotContained
)

// Contains reports whether commit ancestor is descendant itself or one of its ancestors, in the
// repository of req (req.Ref is ignored; URL and credentials are used). Both are full 40-hex commit
// hashes. It is how environment promotion decides that an upstream environment, good at
// descendant, has proven ancestor.
//
// Revisions ("main@sha1:<hash>") are accepted as well. Equal hashes are
// true without any I/O. Otherwise the answer comes from the cache when it
// holds descendant's history (a hash names the same graph forever, so a
// commit force-pushed away since then still answers); else descendant is
// fetched with its whole history into the cache entry, once for concurrent
// callers. A descendant neither cached nor on the remote fails with
// ErrRevisionNotFound; an ancestor not in descendant's history, such as one
// removed by a force-push, is simply not contained.
func (c *Client) Contains(ctx context.Context, req Request, ancestor, descendant string) (bool, error) {
	r, err := c.prepare("contains", req, false)
	if err != nil {
		return false, err
	}
	at := ancestor + ".." + descendant
	a, d, err := commitPair(ancestor, descendant)
	if err != nil {
		return false, r.failAt("contains", at, withKind(ErrInvalidRequest, err))
	}
	if a == d {
		return true, nil
	}
	v, err := c.ancestryCached(ctx, r, a, d)
	if err == nil && v == ancestryUnknown {
		v, err = c.ancestryShared(ctx, r, a, d)
	}
	if err != nil {
		return false, r.failAt("contains", at, err)
	}
	return v == ancestryContained, nil
}

func commitPair(ancestor, descendant string) (a, d plumbing.Hash, err error) {
	ah, err := CommitOf(ancestor)
	if err != nil {
		return a, d, fmt.Errorf("ancestor: %w", err)
	}
	dh, err := CommitOf(descendant)
	if err != nil {
		return a, d, fmt.Errorf("descendant: %w", err)
	}
	return plumbing.NewHash(ah), plumbing.NewHash(dh), nil
}

// ancestryCached answers from the cache alone, under the read lock, so
// callers whose history is cached never wait for one another.
func (c *Client) ancestryCached(ctx context.Context, r *request, a, d plumbing.Hash) (ancestry, error) {
	v := ancestryUnknown
	err := c.withCache(r, func(sto *filesystem.Storage) error {
		var err error
		v, err = ancestryOf(ctx, sto, a, d, maxAncestryCommits)
		return err
	})
	if errors.Is(err, ErrHistoryUnavailable) || isCorrupt(err) {
		// Empty or damaged: the shared path fetches, or discards and fetches.
		return ancestryUnknown, nil
	}
	return v, err
}

// ancestryShared runs ancestry once for all concurrent callers with the same
// cache entry and commits, bounded by Options.Timeout like syncShared; each
// caller still returns when its own context ends.
func (c *Client) ancestryShared(ctx context.Context, r *request, a, d plumbing.Hash) (ancestry, error) {
	ch := c.group.DoChan(r.key+"\x00contains\x00"+a.String()+".."+d.String(), func() (any, error) {
		e := c.cache.acquire(r.key)
		defer c.cache.release(e)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
		return c.ancestry(sctx, r, e, a, d)
	})
	select {
	case <-ctx.Done():
		return ancestryUnknown, fmt.Errorf("waiting for the fetch: %w", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return ancestryUnknown, res.Err
		}
		return res.Val.(ancestry), nil
	}
}

// ancestry fetches d's history into e when it is missing and walks it.
func (c *Client) ancestry(ctx context.Context, r *request, e *entry, a, d plumbing.Hash) (ancestry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, err := c.ancestryLocked(ctx, r, e, a, d)
	if isCorrupt(err) {
		c.discardLocked(e)
		v, err = c.ancestryLocked(ctx, r, e, a, d)
	}
	return v, err
}

// ancestryLocked is ancestry with e.mu write-locked.
func (c *Client) ancestryLocked(ctx context.Context, r *request, e *entry, a, d plumbing.Hash) (v ancestry, err error) {
	// go-git may panic on a damaged pack; that is a corrupt cache, not a crash.
	defer func() {
		if p := recover(); p != nil {
			v, err = ancestryUnknown, corrupt(fmt.Errorf("panic reading the cache: %v", p))
		}
	}()
	sto, err := openStorage(e.dir, c.opts.ObjectCacheBytes)
	if err != nil {
		return ancestryUnknown, corrupt(err)
	}
	defer sto.Close() //nolint:errcheck // closes pack files that were only read
	// Another caller may have fetched the history since this one looked.
	if v, err := ancestryOf(ctx, sto, a, d, maxAncestryCommits); err != nil || v != ancestryUnknown {
		return v, err
	}
	if e.files > maxEntryFiles {
		return ancestryUnknown, corrupt(fmt.Errorf("%d files in the cached repository", e.files))
	}
	hadPacks := hasPacks(e.dir)
	err = fetchHistory(ctx, sto, r, d, c.opts.MaxFetchBytes)
	c.cache.measure(e)
	if err != nil {
		if hadPacks && ctx.Err() == nil && !errors.Is(err, ErrLimitExceeded) {
			// As in syncLocked: the failure may be the cache's fault.
			return ancestryUnknown, corrupt(err)
		}
		return ancestryUnknown, err
	}
	if err := dropUnshallowed(sto); err != nil {
		return ancestryUnknown, corrupt(err)
	}
	if _, err := object.GetCommit(sto, d); err != nil {
		return ancestryUnknown, withKind(ErrRevisionNotFound,
			fmt.Errorf("descendant commit %s is not on any branch or tag of the remote", d))
	}
	v, err = ancestryOf(ctx, sto, a, d, maxAncestryCommits)
	if err == nil && v == ancestryUnknown {
		// Cached from an earlier fetch, but its history is gone from the remote.
		return v, withKind(ErrRevisionNotFound,
			fmt.Errorf("history of descendant commit %s is not on any branch or tag of the remote", d))
	}
	return v, err
}

// ancestryOf walks the cached history of d, breadth first, looking for a.
// A commit whose object is missing (the shallow boundary) makes the walk
// incomplete: ancestryUnknown unless a is found through another path.
func ancestryOf(ctx context.Context, sto storer.EncodedObjectStorer, a, d plumbing.Hash, limit int) (ancestry, error) {
	seen := map[plumbing.Hash]bool{d: true}
	queue := []plumbing.Hash{d}
	incomplete := false
	for visited := 0; len(queue) > 0; visited++ {
		if visited >= limit {
			return ancestryUnknown, withKind(ErrLimitExceeded,
				fmt.Errorf("history of %s has more than %d commits", d, limit))
		}
		if visited%1024 == 0 && ctx.Err() != nil {
			return ancestryUnknown, ctx.Err()
		}
		h := queue[0]
		queue = queue[1:]
		commit, err := object.GetCommit(sto, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			incomplete = true
			continue
		}
		if err != nil {
			return ancestryUnknown, corrupt(fmt.Errorf("commit %s: %w", h, err))
		}
		for _, p := range commit.ParentHashes {
			if p == a {
				return ancestryContained, nil
			}
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	if incomplete {
		return ancestryUnknown, nil
	}
	return ancestryNotContained, nil
}

// fetchHistory downloads commit h with its whole history: by hash when the
// server allows it, else every branch and tag with theirs, as fetch does for
// a pinned commit. Never a thin pack: a history stored as loose objects
// would be thousands of files.
func fetchHistory(ctx context.Context, sto *filesystem.Storage, r *request, h plumbing.Hash, maxBytes int64) error {
	lim := &fetchLimits{max: maxBytes, left: maxBytes}
	opts := &git.FetchOptions{
		RemoteName: "origin",
		Depth:      infiniteDepth,
		Tags:       git.NoTags,
		Force:      true,
		Auth:       r.acc.auth,
		CABundle:   r.acc.caBundle,
		RefSpecs:   []config.RefSpec{config.RefSpec(h.String() + ":refs/pinned/" + h.String())},
	}
	err := fetchWith(ctx, sto, r, opts, lim, false)
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) || lim.exceeded || ctx.Err() != nil {
		return fetchErr(err, lim)
	}
	opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}
	return fetchErr(fetchWith(ctx, sto, r, opts, lim, false), lim)
}

// dropUnshallowed removes from the shallow list the commits whose parents
// are now stored. go-git records the server's "shallow" lines but ignores
// its "unshallow" ones, so after a deepen the list still names the old
// boundaries, and later deepening fetches would tell the server so.
func dropUnshallowed(sto *filesystem.Storage) error {
	shallows, err := sto.Shallow()
	if err != nil || len(shallows) == 0 {
		return err
	}
	kept := make([]plumbing.Hash, 0, len(shallows))
	for _, h := range shallows {
		if !parentsStored(sto, h) {
			kept = append(kept, h)
		}
	}
	if len(kept) == len(shallows) {
		return nil
	}
	return sto.SetShallow(kept)
}

func parentsStored(sto *filesystem.Storage, h plumbing.Hash) bool {
	commit, err := object.GetCommit(sto, h)
	if err != nil {
		return false
	}
	for _, p := range commit.ParentHashes {
		if _, err := sto.EncodedObject(plumbing.CommitObject, p); err != nil {
			return false
		}
	}
	return true
}
