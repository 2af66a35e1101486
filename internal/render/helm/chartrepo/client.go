package chartrepo

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrTooLarge is a download larger than its bound: an index.yaml, a registry
// response or a chart archive.
var ErrTooLarge = errors.New("download larger than its size limit")

// ErrNoVersion is a repository that holds no version of the chart the
// Source selects, or not the chart at all.
var ErrNoVersion = errors.New("no version matches")

// Source says which chart to take from which repository.
type Source struct {
	// URL is the repository: https://host/path, a Helm repository whose index
	// is https://host/path/index.yaml, or oci://host/path, a registry holding
	// the chart as the repository host/path/<Chart>.
	URL string
	// Chart is the chart's name.
	Chart string
	// Version selects the version: an exact version or a semver constraint
	// ("^1.0", ">=1.2 <2", "*"); "" is the latest stable version.
	Version string
}

// Credentials are what a repository may ask for. They are sent to the
// repository's own host only and never appear in errors.
type Credentials struct {
	// Username and Password are sent with HTTP basic authentication when
	// either is set.
	Username []byte
	Password []byte
	// CA holds PEM certificates trusted in addition to the system's.
	CA []byte
}

// Resolved is the version of a chart that a Source selects.
type Resolved struct {
	// Version is the chart version, as the repository spells it.
	Version string
	// Digest is "sha256:<hex>" of the chart archive: the index entry's digest
	// (empty when index.yaml gives none) or the OCI chart layer's.
	Digest string
	// URL is where the archive is: the chart URL of an HTTP repository (with
	// the repository URL's query, as Helm keeps it), or
	// oci://host/path/chart:tag.
	URL string
}

// Options bound a Client's downloads and place its cache.
type Options struct {
	// MaxIndexBytes bounds an index.yaml, and the tag names of a chart in a
	// registry.
	MaxIndexBytes int64
	// MaxChartBytes bounds a chart archive as downloaded (compressed). Other
	// registry responses (manifests, tag pages, tokens) are bounded by the
	// larger of the two bounds.
	MaxChartBytes int64
	// Timeout bounds one Resolve, and one download of a chart.
	Timeout time.Duration
	// CacheDir holds downloaded archives, one file per chart version; ""
	// keeps none, so only concurrent Fetches of a version share a download.
	CacheDir string
	// MaxCacheBytes bounds the archives in CacheDir: after each download the
	// least recently used archives are removed until the rest fit.
	MaxCacheBytes int64
}

// DefaultOptions bound an index to 32 MiB, a chart to 16 MiB, a call to a
// minute, and keep a 512 MiB cache in the temporary directory.
func DefaultOptions() Options {
	return Options{
		MaxIndexBytes: 32 << 20,
		MaxChartBytes: 16 << 20,
		Timeout:       time.Minute,
		CacheDir:      filepath.Join(os.TempDir(), "driftless-charts"),
		MaxCacheBytes: 512 << 20,
	}
}

// Client resolves and fetches charts. It is safe for concurrent use; one
// Client per manager lets every caller share downloads.
type Client struct {
	opts Options
	// indexes shares an index.yaml download among concurrent Resolves of a
	// repository with the same credentials.
	indexes singleflight.Group
	// charts shares a chart download among concurrent Fetches.
	charts singleflight.Group
	// cache is the on-disk cache, nil when there is none.
	cache *cache
}

// NewClient returns a Client with opts. A zero bound takes its
// DefaultOptions value; CacheDir is created if missing.
func NewClient(opts Options) (*Client, error) {
	def := DefaultOptions()
	for _, f := range []struct {
		name     string
		val, def *int64
	}{
		{"MaxIndexBytes", &opts.MaxIndexBytes, &def.MaxIndexBytes},
		{"MaxChartBytes", &opts.MaxChartBytes, &def.MaxChartBytes},
		{"MaxCacheBytes", &opts.MaxCacheBytes, &def.MaxCacheBytes},
	} {
		if *f.val < 0 {
			return nil, fmt.Errorf("chart repository options: %s is negative", f.name)
		}
		if *f.val == 0 {
			*f.val = *f.def
		}
	}
	if opts.Timeout < 0 {
		return nil, errors.New("chart repository options: Timeout is negative")
	}
	if opts.Timeout == 0 {
		opts.Timeout = def.Timeout
	}
	c := &Client{opts: opts}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("chart cache: %w", err)
		}
		c.cache = &cache{dir: opts.CacheDir, maxBytes: opts.MaxCacheBytes, maxEntry: opts.MaxChartBytes}
	}
	return c, nil
}

// fingerprint identifies credentials in the keys of shared work, so that a
// caller never receives what another caller's credentials fetched in flight.
func (creds Credentials) fingerprint() string {
	h := sha256.New()
	for _, b := range [][]byte{creds.Username, creds.Password, creds.CA} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// basicAuth reports whether basic authentication is configured.
func (creds Credentials) basicAuth() bool {
	return len(creds.Username) > 0 || len(creds.Password) > 0
}

// shared runs work once for all concurrent callers with the same key. The
// work runs under its own deadline (Options.Timeout), detached from the
// first caller's context, so that one caller giving up fails no other; each
// caller still returns when its own context ends.
func shared(ctx context.Context, g *singleflight.Group, key string, opts Options, work func(context.Context) (any, error)) (any, error) {
	ch := g.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.Timeout)
		defer cancel()
		return work(ctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
