package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sync/singleflight"
)

// Client fetches repositories through a cache shared by all its callers. It
// is safe for concurrent use; use one per process and cache directory.
type Client struct {
	opts     Options
	cache    *cache
	group    singleflight.Group
	listings listings // the last ref listing of each repository, for ResolveSince
}

// New returns a Client. It configures go-git's process-wide HTTPS and SSH
// transports once (see installTransports).
func New(opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c, err := newCache(opts)
	if err != nil {
		return nil, err
	}
	installTransports()
	return &Client{opts: opts, cache: c}, nil
}

// Request names a repository, a ref and the credentials to read it with.
type Request struct {
	// URL is an https:// or ssh:// URL without credentials.
	URL string
	// Ref is what to fetch.
	Ref Ref
	// Credentials authenticate to the server; zero for a public repository.
	Credentials Credentials
	// Path, when set, makes Fetch report Result.PathHash for this
	// slash-separated path inside the repository; a path missing from the
	// revision fails Fetch with ErrPathNotFound.
	Path string
}

// Equal reports whether r and o ask for the same thing with the same
// credentials.
func (r Request) Equal(o Request) bool {
	return r.URL == o.URL && r.Ref == o.Ref && r.Path == o.Path && r.Credentials.Equal(o.Credentials)
}

// Result describes the revision a request resolved to.
type Result struct {
	// Revision is "main@sha1:<hash>", "v1.2.0@sha1:<hash>" or "sha1:<hash>".
	Revision string
	// Commit is the commit hash in hex.
	Commit string
	// RefName is the branch or tag name; for a semver range, the chosen tag.
	// Empty for a pinned commit.
	RefName string
	// PathHash is the git hash of the tree (or file) at Request.Path, set by
	// Fetch when Path is: equal hashes mean identical content at that path.
	PathHash string
	// Fetched reports that the remote was asked for objects because the
	// cache did not hold the revision; false when it did.
	Fetched bool

	// target is the ref as the remote advertised it, for FetchAt.
	target target
}

// request is a validated Request.
type request struct {
	Request
	ep  endpoint
	acc access
	red redactor
	// key names the cache entry; display is the URL for messages.
	key, display string
	// head is the ref as resolved already; nil asks the remote.
	head *target
}

// prepare validates req. Errors are returned as *Error already.
func (c *Client) prepare(op string, req Request, needRef bool) (*request, error) {
	r := &request{Request: req, display: displayURL(req.URL), red: newRedactor(req.Credentials)}
	var err error
	if r.ep, err = parseURL(req.URL); err != nil {
		return nil, r.fail(op, withKind(ErrInvalidRequest, err))
	}
	if needRef {
		if err := req.Ref.validate(); err != nil {
			return nil, r.fail(op, withKind(ErrInvalidRequest, err))
		}
	}
	if r.acc, err = req.Credentials.access(r.ep); err != nil {
		return nil, r.fail(op, withKind(ErrInvalidRequest, err))
	}
	r.key = c.cache.key(r.ep, req.Credentials)
	return r, nil
}

// fail turns err into the *Error of op, with credentials redacted.
func (r *request) fail(op string, err error) error {
	return r.failAt(op, r.Ref.String(), err)
}

func (r *request) failAt(op, ref string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Op: op, URL: r.display, Ref: ref, Kind: kindOf(err), Err: r.red.redact(err)}
}

// Fetch resolves req.Ref on the remote, fetches it unless the cache already
// holds it, and writes its tree into dir, which must be empty or absent (it
// is left empty again when Fetch fails). Concurrent calls for the same
// repository and ref share one fetch.
func (c *Client) Fetch(ctx context.Context, req Request, dir string) (Result, error) {
	return c.FetchAt(ctx, req, Result{}, dir)
}

// FetchAt is Fetch of head, what Resolve or Fetch returned for req, without
// asking the remote for its refs again: a caller that has just resolved
// the ref saves a round trip. A head the cache holds is checked out with
// no request at all; otherwise the ref is fetched, and the Result names
// what came, newer than head if the ref moved since. A head that did not
// come from Resolve or Fetch is resolved as Fetch does.
func (c *Client) FetchAt(ctx context.Context, req Request, head Result, dir string) (Result, error) {
	r, err := c.prepare("fetch", req, true)
	if err != nil {
		return Result{}, err
	}
	if !head.target.commit.IsZero() && req.Ref.Commit == "" {
		r.head = &head.target
	}
	if err := emptyDir(dir); err != nil {
		return Result{}, r.fail("fetch", withKind(ErrInvalidRequest, err))
	}
	// In use from the start, so no eviction can come between sync and checkout.
	e := c.cache.acquire(r.key)
	defer c.cache.release(e)
	for attempt := 0; ; attempt++ {
		s, err := c.syncShared(ctx, r)
		if err != nil {
			return Result{}, r.fail("fetch", err)
		}
		res, err := c.checkout(ctx, r, s, dir)
		if err == nil {
			return res, nil
		}
		// Never leave a partial checkout for the caller to mistake for a tree.
		if cerr := clearDir(dir); cerr != nil || !isCorrupt(err) || attempt > 0 {
			return Result{}, r.fail("fetch", err)
		}
		// The cache is unreadable: drop it and fetch afresh.
		c.discard(r.key, s.gen)
	}
}

// synced is the outcome of a shared sync.
type synced struct {
	t       target
	commit  plumbing.Hash
	fetched bool
	gen     int
}

// syncShared runs sync once for all concurrent callers with the same cache
// entry and ref. The shared work is bounded by Options.Timeout, not by the
// first caller's context; each caller still returns when its own ends.
func (c *Client) syncShared(ctx context.Context, r *request) (synced, error) {
	key := r.key + "\x00" + r.Ref.String()
	if r.head != nil {
		key += "\x00" + r.head.commit.String() // callers that resolved another head sync apart
	}
	ch := c.group.DoChan(key, func() (any, error) {
		e := c.cache.acquire(r.key)
		defer c.cache.release(e)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
		return c.sync(sctx, r, e)
	})
	select {
	case <-ctx.Done():
		return synced{}, fmt.Errorf("waiting for the fetch: %w", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return synced{}, res.Err
		}
		return res.Val.(synced), nil
	}
}

// sync makes the cache entry hold the revision ref points at now, or the
// head the caller resolved.
func (c *Client) sync(ctx context.Context, r *request, e *entry) (synced, error) {
	t, err := wantedTarget(ctx, r)
	if err != nil {
		return synced{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := c.syncLocked(ctx, r, e, t)
	if isCorrupt(err) {
		c.discardLocked(e)
		s, err = c.syncLocked(ctx, r, e, t)
	}
	return s, err
}

// wantedTarget is the head the caller resolved, or else the remote's.
func wantedTarget(ctx context.Context, r *request) (target, error) {
	if r.head != nil {
		return *r.head, nil
	}
	return resolveTarget(ctx, r)
}

// syncLocked checks the cache against t and fetches when it is behind;
// e.mu must be write-locked.
func (c *Client) syncLocked(ctx context.Context, r *request, e *entry, t target) (synced, error) {
	sto, err := openStorage(e.dir, c.opts.ObjectCacheBytes)
	if err != nil {
		return synced{}, corrupt(err)
	}
	defer sto.Close() //nolint:errcheck // closes pack files that were only read
	if commit, ok := current(sto, t); ok {
		return synced{t: t, commit: commit, gen: e.gen}, nil
	}
	if e.files > maxEntryFiles {
		// Treated like damage: sync discards the entry and fetches one pack.
		return synced{}, corrupt(fmt.Errorf("%d files in the cached repository", e.files))
	}
	hadPacks := hasPacks(e.dir)
	if err := fetch(ctx, sto, r, t, c.opts.MaxFetchBytes, hadPacks); err != nil {
		if hadPacks && ctx.Err() == nil && !errors.Is(err, ErrLimitExceeded) {
			// A failed fetch into a non-empty cache may be the cache's
			// fault (a truncated pack breaks the negotiation): retry empty.
			return synced{}, corrupt(err)
		}
		return synced{}, err
	}
	commit, err := commitOf(sto, t)
	c.cache.measure(e)
	if err != nil {
		return synced{}, err
	}
	return synced{t: t, commit: commit, fetched: true, gen: e.gen}, nil
}

// hasPacks reports whether the repository in dir holds any fetched objects.
func hasPacks(dir string) bool {
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	return len(packs) > 0
}

// discard removes the entry's repository if it is still generation gen.
func (c *Client) discard(key string, gen int) {
	e := c.cache.acquire(key)
	defer c.cache.release(e)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen == gen {
		c.discardLocked(e)
	}
}

// discardLocked removes e's repository; e.mu must be write-locked.
func (c *Client) discardLocked(e *entry) {
	_ = os.RemoveAll(e.dir)
	e.gen++
	c.cache.measure(e)
}

// emptyDir creates dir, or checks that it exists and is empty.
func emptyDir(dir string) error {
	if dir == "" {
		return errors.New("checkout directory is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkout directory: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkout directory: %w", err)
	}
	if len(des) > 0 {
		return fmt.Errorf("checkout directory %s is not empty", dir)
	}
	return nil
}

// clearDir removes everything inside dir, keeping dir.
func clearDir(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if err := os.RemoveAll(filepath.Join(dir, de.Name())); err != nil {
			return err
		}
	}
	return nil
}
