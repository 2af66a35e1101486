package source

import (
	"context"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Resolve returns the revision req.Ref points at on the remote now, with one
// ref listing ("git ls-remote") and no fetch: the cheap check a controller
// runs before deciding whether anything changed. A pinned commit resolves
// to itself without contacting the server; Fetch is what proves it exists.
func (c *Client) Resolve(ctx context.Context, req Request) (Result, error) {
	return c.ResolveSince(ctx, req, time.Now())
}

// ResolveSince is Resolve answered, when it can be, from a listing of the
// same repository's refs with the same credentials that any caller started
// at or after since: callers that follow one repository at an interval
// share one listing per interval. A listing is never shared across
// credentials, so a caller learns nothing it could not have asked itself.
func (c *Client) ResolveSince(ctx context.Context, req Request, since time.Time) (Result, error) {
	r, err := c.prepare("resolve", req, true)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var t target
	if r.Ref.Commit != "" {
		t, err = resolveTarget(ctx, r)
	} else {
		var refs map[string]plumbing.Hash
		if refs, err = c.listings.list(ctx, r, since); err == nil {
			t, err = pickTarget(refs, r.Ref)
		}
	}
	if err != nil {
		return Result{}, r.fail("resolve", err)
	}
	return Result{Revision: revision(t.name, t.commit), Commit: t.commit.String(), RefName: t.name, target: t}, nil
}

// listings remembers the last ref listing of each repository and
// credentials (by cache key), and when it started.
type listings struct {
	mu sync.Mutex
	m  map[string]listing
}

type listing struct {
	refs map[string]plumbing.Hash
	at   time.Time
}

// listingTTL bounds how long a listing is kept: longer than any interval
// that would share it is of no use.
const listingTTL = time.Hour

// list returns r's repository's refs from a listing started at or after
// since, listing them now when there is none.
func (l *listings) list(ctx context.Context, r *request, since time.Time) (map[string]plumbing.Hash, error) {
	l.mu.Lock()
	last, ok := l.m[r.key]
	l.mu.Unlock()
	if ok && !last.at.Before(since) {
		return last.refs, nil
	}
	start := time.Now()
	refs, err := listRefs(ctx, r)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]listing{}
	}
	for k, v := range l.m {
		if time.Since(v.at) > listingTTL {
			delete(l.m, k)
		}
	}
	if cur, ok := l.m[r.key]; !ok || cur.at.Before(start) {
		l.m[r.key] = listing{refs: refs, at: start}
	}
	return refs, nil
}
