package chartrepo

import (
	"context"
	"fmt"
)

// Resolve asks the repository which version of the chart src.Version
// selects now: from index.yaml for an HTTPS repository, from the tags and
// the tag's manifest for an OCI registry. Versions are selected as Helm
// selects them.
func (c *Client) Resolve(ctx context.Context, src Source, creds Credentials) (Resolved, error) {
	r, err := parseSource(src)
	if err != nil {
		return Resolved{}, fmt.Errorf("resolve %s: %w", describe(src), err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var res Resolved
	if r.oci {
		res, err = c.resolveOCI(ctx, r, src, creds)
	} else {
		res, err = c.resolveHTTP(ctx, r, src, creds)
	}
	if err != nil {
		return Resolved{}, fmt.Errorf("resolve %s: %w", describe(src), err)
	}
	return res, nil
}
