package source

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Changes lists the files (slash-separated paths, sorted) that differ between
// the revisions from and to of req's repository; req.Ref is not used. It
// compares the two trees, so it is exact whatever happened in between, but
// both revisions must be in the cache (fetched earlier, not evicted):
// otherwise it fails with ErrHistoryUnavailable and the caller should treat
// every path as changed.
func (c *Client) Changes(ctx context.Context, req Request, from, to string) ([]string, error) {
	r, err := c.prepare("changes", req, false)
	if err != nil {
		return nil, err
	}
	at := from + ".." + to
	var out []string
	err = c.withCache(r, func(sto *filesystem.Storage) error {
		a, err := treeAt(sto, from)
		if err != nil {
			return err
		}
		b, err := treeAt(sto, to)
		if err != nil {
			return err
		}
		changes, err := object.DiffTreeWithOptions(ctx, a, b, nil)
		if err != nil {
			return corrupt(err)
		}
		out = changedPaths(changes)
		return nil
	})
	if err != nil {
		return nil, r.failAt("changes", at, err)
	}
	return out, nil
}

// TreeHash returns the git hash of what revision holds at p (the tree of a
// directory, the blob of a file; "" or "." is the root). Equal hashes mean
// identical content under p. It covers p only: whatever p refers to outside
// itself (a kustomize "../base", a symlink) needs its own hash or Changes.
// The revision must be in the cache, else ErrHistoryUnavailable.
func (c *Client) TreeHash(ctx context.Context, req Request, revision, p string) (string, error) {
	r, err := c.prepare("tree hash", req, false)
	if err != nil {
		return "", err
	}
	var out string
	err = c.withCache(r, func(sto *filesystem.Storage) error {
		tree, err := treeAt(sto, revision)
		if err != nil {
			return err
		}
		out, err = pathHash(tree, p)
		return err
	})
	if err != nil {
		return "", r.failAt("tree hash", revision+":"+p, err)
	}
	return out, nil
}

// withCache runs fn over a read-only view of req's cache entry.
func (c *Client) withCache(r *request, fn func(*filesystem.Storage) error) (err error) {
	e := c.cache.acquire(r.key)
	defer c.cache.release(e)
	e.mu.RLock()
	defer e.mu.RUnlock()
	defer func() {
		if p := recover(); p != nil {
			err = corrupt(fmt.Errorf("panic reading the cache: %v", p))
		}
	}()
	if !hasPacks(e.dir) {
		return withKind(ErrHistoryUnavailable, errors.New("repository not in the cache"))
	}
	sto, err := openStorage(e.dir, c.opts.ObjectCacheBytes)
	if err != nil {
		return corrupt(err)
	}
	defer sto.Close() //nolint:errcheck // closes pack files that were only read
	return fn(sto)
}

func treeAt(sto *filesystem.Storage, rev string) (*object.Tree, error) {
	h, err := CommitOf(rev)
	if err != nil {
		return nil, withKind(ErrInvalidRequest, err)
	}
	commit, err := object.GetCommit(sto, plumbing.NewHash(h))
	if err != nil {
		return nil, withKind(ErrHistoryUnavailable, fmt.Errorf("commit %s is not in the cache", h))
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, withKind(ErrHistoryUnavailable, fmt.Errorf("tree of commit %s is not in the cache", h))
	}
	return tree, nil
}

func changedPaths(changes object.Changes) []string {
	seen := map[string]bool{}
	for _, ch := range changes {
		for _, name := range []string{ch.From.Name, ch.To.Name} {
			if name != "" {
				seen[name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// pathHash returns the hash of the entry at p in tree.
func pathHash(tree *object.Tree, p string) (string, error) {
	clean, err := cleanPath(p)
	if err != nil {
		return "", err
	}
	if clean == "" {
		return tree.Hash.String(), nil
	}
	entry, err := tree.FindEntry(clean)
	if err != nil {
		return "", withKind(ErrPathNotFound, fmt.Errorf("%s is not in the tree", clean))
	}
	return entry.Hash.String(), nil
}

// cleanPath makes p relative and clean; it refuses paths that leave the
// repository or enter .git.
func cleanPath(p string) (string, error) {
	if path.IsAbs(p) || strings.Contains(p, "\\") {
		return "", withKind(ErrPathOutOfBounds, fmt.Errorf("path %q must be relative", p))
	}
	clean := path.Clean("/" + p)[1:]
	for _, part := range strings.Split(p, "/") {
		if part == ".." || strings.EqualFold(part, ".git") {
			return "", withKind(ErrPathOutOfBounds, fmt.Errorf("path %q leaves the repository", p))
		}
	}
	return clean, nil
}

// Touches reports whether any of the changed paths is p or lies under p
// ("" or "." is the whole repository).
func Touches(changed []string, p string) bool {
	prefix := strings.Trim(path.Clean("/"+p), "/")
	for _, c := range changed {
		if prefix == "" || c == prefix || strings.HasPrefix(c, prefix+"/") {
			return true
		}
	}
	return false
}
