package source

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	gitcache "github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// largeObjectThreshold: blobs above it are streamed from the pack instead
// of being read whole into memory.
const largeObjectThreshold = 1 << 20

// corruptError marks a failure to read the cached repository: the entry is
// discarded and fetched again.
type corruptError struct{ err error }

// Error says the cache could not be read, and why.
func (c *corruptError) Error() string { return "cached repository unreadable: " + c.err.Error() }

// Unwrap returns the read error.
func (c *corruptError) Unwrap() error { return c.err }

func corrupt(err error) error {
	if err == nil {
		return nil
	}
	return &corruptError{err: err}
}

func isCorrupt(err error) bool {
	var c *corruptError
	return errors.As(err, &c)
}

// openStorage opens the bare repository in dir, creating it when missing.
// Each operation opens its own instance and closes it when done: go-git
// storages are not safe for concurrent use, while several instances may
// read the same files. Pack files stay open for the operation, instead of
// being reopened for every object read.
func openStorage(dir string, objectCache int64) (*filesystem.Storage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sto := filesystem.NewStorageWithOptions(osfs.New(dir, osfs.WithBoundOS()),
		gitcache.NewObjectLRU(gitcache.FileSize(objectCache)),
		filesystem.Options{LargeObjectThreshold: largeObjectThreshold, KeepDescriptors: true})
	if _, err := os.Stat(dir + "/HEAD"); errors.Is(err, os.ErrNotExist) {
		if err := sto.Init(); err != nil {
			return nil, err
		}
	}
	return sto, nil
}

// current returns the commit of t when the cache already holds what the
// remote advertises for it, so no fetch is needed.
func current(sto *filesystem.Storage, t target) (plumbing.Hash, bool) {
	if t.remote == "" {
		c, err := object.GetCommit(sto, t.hash)
		return t.hash, err == nil && c != nil
	}
	ref, err := sto.Reference(t.local)
	if err != nil || ref.Hash() != t.hash {
		return plumbing.ZeroHash, false
	}
	commit, err := peel(sto, ref.Hash())
	return commit, err == nil
}

// commitOf returns the commit t points at in the cache after a fetch.
func commitOf(sto *filesystem.Storage, t target) (plumbing.Hash, error) {
	if t.remote == "" {
		if _, err := object.GetCommit(sto, t.hash); err != nil {
			return plumbing.ZeroHash, withKind(ErrRevisionNotFound,
				fmt.Errorf("commit %s is not on any branch or tag of the remote", t.hash))
		}
		return t.hash, nil
	}
	ref, err := sto.Reference(t.local)
	if err != nil {
		return plumbing.ZeroHash, withKind(ErrRevisionNotFound, fmt.Errorf("%s vanished during the fetch", t.remote))
	}
	commit, err := peel(sto, ref.Hash())
	return commit, corrupt(err)
}

// peel follows annotated tags (a tag may point at a tag) down to a commit.
func peel(sto *filesystem.Storage, h plumbing.Hash) (plumbing.Hash, error) {
	for range 8 {
		obj, err := sto.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return h, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(sto, obj)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			h = tag.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("%s is a %s, not a commit", h, obj.Type())
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("%s: tag chain too long", h)
}

// infiniteDepth asks the server for whole histories ("git fetch --unshallow").
const infiniteDepth = 0x7fffffff

// fetch downloads t into sto, shallow and without tags. A pinned commit is
// asked for by hash when the server allows it, otherwise found in the
// complete history of every branch and tag. incremental says the cache
// already holds objects, so a thin pack can be resolved against them.
func fetch(ctx context.Context, sto *filesystem.Storage, r *request, t target, maxBytes int64, incremental bool) error {
	lim := &fetchLimits{max: maxBytes, left: maxBytes}
	opts := &git.FetchOptions{
		RemoteName: "origin",
		Depth:      1,
		Tags:       git.NoTags,
		Force:      true,
		Auth:       r.acc.auth,
		CABundle:   r.acc.caBundle,
	}
	if t.remote != "" {
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + t.remote.String() + ":" + t.local.String())}
		return fetchErr(fetchWith(ctx, sto, r, opts, lim, incremental), lim)
	}
	opts.RefSpecs = []config.RefSpec{config.RefSpec(t.hash.String() + ":" + t.local.String())}
	err := fetchWith(ctx, sto, r, opts, lim, incremental)
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) || lim.exceeded || ctx.Err() != nil {
		return fetchErr(err, lim)
	}
	opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}
	opts.Depth = infiniteDepth
	// Whole histories come as one pack: no thin pack, no loose objects.
	return fetchErr(fetchWith(ctx, sto, r, opts, lim, false), lim)
}

// fetchWith runs one go-git fetch. A thin fetch goes through a view of the
// storage without its pack writer, so go-git parses the pack against the
// stored objects (and stores the few new ones loose) instead of keeping a
// pack whose delta bases are missing.
func fetchWith(ctx context.Context, sto *filesystem.Storage, r *request, opts *git.FetchOptions,
	lim *fetchLimits, thin bool) error {
	var s storage.Storer = sto
	if thin {
		s = looseStorage{sto}
	}
	lim.thin = thin
	remote := git.NewRemote(s, &config.RemoteConfig{Name: "origin", URLs: []string{r.ep.url}})
	return remote.FetchContext(withLimits(ctx, lim), opts)
}

// looseStorage hides the pack writer of the storage it embeds.
type looseStorage struct{ storage.Storer }

func fetchErr(err error, lim *fetchLimits) error {
	switch {
	case err == nil || errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case lim.exceeded || errors.Is(err, errFetchLimit):
		return withKind(ErrLimitExceeded, fmt.Errorf("fetch downloaded more than the byte limit of %d MiB", lim.max>>20))
	}
	return err
}
