package chartrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
)

// Fetch returns the chart archive (.tgz) of a version that Resolve returned
// for src. A version is downloaded at most once: concurrent Fetches with the
// same credentials share one download, and later Fetches read it from
// CacheDir. The archive's digest is verified whenever Resolve gave one,
// including when it is read from the cache.
//
// The cache is shared by all callers: a Fetch does not ask the repository
// whether its credentials still grant access to a version it has cached, so
// callers pass only what Resolve, which always asks, returned for them.
func (c *Client) Fetch(ctx context.Context, src Source, res Resolved, creds Credentials) ([]byte, error) {
	data, err := c.fetch(ctx, src, res, creds)
	if err != nil {
		return nil, fmt.Errorf("fetch chart %s version %s from %s: %w", src.Chart, res.Version, displayRaw(src.URL), err)
	}
	return data, nil
}

func (c *Client) fetch(ctx context.Context, src Source, res Resolved, creds Credentials) ([]byte, error) {
	r, err := parseSource(src)
	if err != nil {
		return nil, err
	}
	if res.Version == "" || res.URL == "" {
		return nil, errors.New("the resolved version has no version or URL")
	}
	if res.Digest != "" {
		if d, err := sha256Digest(res.Digest); err != nil || d != res.Digest {
			return nil, fmt.Errorf("resolved digest %q is not sha256:<lowercase hex>", res.Digest)
		}
	} else if r.oci {
		return nil, errors.New("the resolved version has no digest")
	}
	key := cacheKey(res)
	if data, ok := c.cache.get(key, res.Digest); ok {
		return data, nil
	}
	v, err := shared(ctx, &c.charts, key+"\x00"+creds.fingerprint(), c.opts, func(ctx context.Context) (any, error) {
		// Another flight may have filled the cache since the look-up.
		if data, ok := c.cache.get(key, res.Digest); ok {
			return data, nil
		}
		data, err := c.download(ctx, r, src, res, creds)
		if err != nil {
			return nil, err
		}
		if err := verify(data, res.Digest); err != nil {
			return nil, err
		}
		// A cache that cannot be written costs downloads only.
		_ = c.cache.put(key, data)
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	// The callers of one flight share its slice: each gets its own.
	return append([]byte(nil), v.([]byte)...), nil
}

// download gets the archive from the repository.
func (c *Client) download(ctx context.Context, r repository, src Source, res Resolved, creds Credentials) ([]byte, error) {
	if r.oci {
		return c.downloadOCI(ctx, r, src, res, creds)
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		return nil, fmt.Errorf("chart URL %s does not parse", displayRaw(res.URL))
	}
	if !sameOrigin(u, r.url) {
		return nil, fmt.Errorf("chart URL %s is not on the repository's host: repository access only to the URLs the spec names", display(u))
	}
	t, err := transport(creds)
	if err != nil {
		return nil, err
	}
	defer t.CloseIdleConnections()
	return get(ctx, httpClient(r.url, t), u, creds, c.opts.MaxChartBytes, "MaxChartBytes")
}

// verify checks data against a "sha256:<hex>" digest; "" checks nothing.
func verify(data []byte, digest string) error {
	if digest == "" {
		return nil
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return fmt.Errorf("digest mismatch: the repository gives %s, the archive is %s", digest, got)
	}
	return nil
}

// cacheKey names a version's archive in the cache: by its digest, which
// names its content, else by its URL and version.
func cacheKey(res Resolved) string {
	id := res.Digest
	if id == "" {
		id = res.URL + "\x00" + res.Version
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
