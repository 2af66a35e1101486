package chartrepo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// resolveHTTP selects the version from the repository's index.yaml as
// Helm's IndexFile.Get does (see selectVersion): an exact match first, else
// the newest version the constraint allows, stable versions only unless it
// names a prerelease.
func (c *Client) resolveHTTP(ctx context.Context, r repository, src Source, creds Credentials) (Resolved, error) {
	index, err := c.index(ctx, r, creds)
	if err != nil {
		return Resolved{}, err
	}
	entries, ok := index.Entries[src.Chart]
	if !ok {
		return Resolved{}, fmt.Errorf("%w: index.yaml has no chart %s", ErrNoVersion, src.Chart)
	}
	versions := make([]string, len(entries))
	for i, e := range entries {
		versions[i] = e.Version
	}
	if len(versions) == 0 {
		return Resolved{}, fmt.Errorf("%w: index.yaml lists no version of chart %s", ErrNoVersion, src.Chart)
	}
	version, err := selectVersion(versions, src.Version)
	if err != nil {
		return Resolved{}, fmt.Errorf("chart %s in index.yaml: %w", src.Chart, err)
	}
	e := entries[slices.Index(versions, version)]
	if len(e.URLs) == 0 {
		return Resolved{}, fmt.Errorf("index.yaml gives no URL for chart %s version %s", src.Chart, e.Version)
	}
	u, err := chartURL(r.url, e.URLs[0])
	if err != nil {
		return Resolved{}, fmt.Errorf("chart %s version %s: %w", src.Chart, e.Version, err)
	}
	digest := ""
	if e.Digest != "" {
		if digest, err = sha256Digest(e.Digest); err != nil {
			return Resolved{}, fmt.Errorf("index.yaml entry of chart %s version %s: %w", src.Chart, e.Version, err)
		}
	}
	return Resolved{Version: e.Version, Digest: digest, URL: u.String()}, nil
}

// indexFile is what Resolve reads of an index.yaml.
type indexFile struct {
	APIVersion string                  `json:"apiVersion"`
	Entries    map[string][]indexEntry `json:"entries"`
}

// indexEntry is one version of a chart in an index.yaml.
type indexEntry struct {
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

// index downloads and parses the repository's index.yaml; concurrent
// Resolves of one repository with the same credentials share the work.
func (c *Client) index(ctx context.Context, r repository, creds Credentials) (*indexFile, error) {
	u := resolveReference(r.url, "index.yaml")
	v, err := shared(ctx, &c.indexes, u.String()+"\x00"+creds.fingerprint(), c.opts, func(ctx context.Context) (any, error) {
		t, err := transport(creds)
		if err != nil {
			return nil, err
		}
		defer t.CloseIdleConnections()
		data, err := get(ctx, httpClient(r.url, t), u, creds, c.opts.MaxIndexBytes, "MaxIndexBytes")
		if err != nil {
			return nil, err
		}
		return parseIndex(data)
	})
	if err != nil {
		return nil, err
	}
	return v.(*indexFile), nil
}

// parseIndex reads an index.yaml (YAML or JSON): each chart's entries whose
// version is a semantic version, as Helm keeps them, newest first.
func parseIndex(data []byte) (*indexFile, error) {
	if len(data) == 0 {
		return nil, errors.New("index.yaml is empty")
	}
	index := &indexFile{}
	if err := yaml.Unmarshal(data, index); err != nil {
		return nil, fmt.Errorf("index.yaml: %w", err)
	}
	if index.APIVersion == "" {
		return nil, errors.New("index.yaml: no apiVersion")
	}
	for name, entries := range index.Entries {
		parsed := map[string]*semver.Version{}
		entries = slices.DeleteFunc(entries, func(e indexEntry) bool {
			v, err := semver.NewVersion(e.Version)
			parsed[e.Version] = v
			return err != nil
		})
		slices.SortStableFunc(entries, func(a, b indexEntry) int { return parsed[b.Version].Compare(parsed[a.Version]) })
		index.Entries[name] = entries
	}
	return index, nil
}

// resolveReference resolves ref against the repository's URL as Helm
// does: relative to the repository's path as a directory.
func resolveReference(repoURL *url.URL, ref string) *url.URL {
	base := *repoURL
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		base.RawPath = ""
	}
	return base.ResolveReference(&url.URL{Path: ref})
}

// chartURL resolves an index entry's URL against the repository, as Helm
// does, and keeps it on the repository's scheme and host.
func chartURL(repoURL *url.URL, ref string) (*url.URL, error) {
	parsed, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("chart URL %s does not parse", displayRaw(ref))
	}
	u := resolveReference(repoURL, "").ResolveReference(parsed)
	if !sameOrigin(u, repoURL) {
		return nil, fmt.Errorf("chart URL %s is not on %s: repository access only to the URLs the spec names", display(u), display(&url.URL{Scheme: repoURL.Scheme, Host: repoURL.Host}))
	}
	return u, nil
}

// sha256Digest returns "sha256:<hex>" for a digest given as hex, with or
// without the prefix.
func sha256Digest(d string) (string, error) {
	hexPart := strings.TrimPrefix(d, "sha256:")
	if b, err := hex.DecodeString(hexPart); err != nil || len(b) != 32 {
		return "", fmt.Errorf("digest %q is not a sha256 digest", d)
	}
	return "sha256:" + strings.ToLower(hexPart), nil
}
