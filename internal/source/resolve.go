package source

import "context"

// Resolve returns the revision req.Ref points at on the remote now, with one
// ref listing ("git ls-remote") and no fetch: the cheap check a controller
// runs before deciding whether anything changed. A pinned commit resolves
// to itself without contacting the server; Fetch is what proves it exists.
func (c *Client) Resolve(ctx context.Context, req Request) (Result, error) {
	r, err := c.prepare("resolve", req, true)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	t, err := resolveTarget(ctx, r)
	if err != nil {
		return Result{}, r.fail("resolve", err)
	}
	return Result{Revision: revision(t.name, t.commit), Commit: t.commit.String(), RefName: t.name, target: t}, nil
}
