package chartrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of a Helm chart in an OCI registry.
const (
	chartLayerMediaType       types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	legacyChartLayerMediaType types.MediaType = "application/tar+gzip"
)

// ociRepository is the registry repository that holds src's chart.
func ociRepository(r repository, src Source) (name.Repository, error) {
	ref := r.url.Host + "/" + strings.Trim(r.url.Path, "/")
	ref = strings.TrimSuffix(ref, "/") + "/" + src.Chart
	repo, err := name.NewRepository(ref)
	if err != nil {
		return name.Repository{}, fmt.Errorf("registry repository: %w", err)
	}
	return repo, nil
}

// puller returns a registry client for one call: TLS only, the credentials'
// CA trusted, basic credentials offered to the registry host only, every
// response bounded. close releases its connections.
func (c *Client) puller(creds Credentials) (p *remote.Puller, close func(), err error) {
	t, err := transport(creds)
	if err != nil {
		return nil, nil, err
	}
	auth := authn.Anonymous
	if creds.basicAuth() {
		auth = &authn.Basic{Username: string(creds.Username), Password: string(creds.Password)}
	}
	// Chart layers are bounded more tightly as they are read.
	limit := max(c.opts.MaxIndexBytes, c.opts.MaxChartBytes+1)
	p, err = remote.NewPuller(remote.WithAuth(auth), remote.WithTransport(boundedTransport{inner: t, limit: limit}), remote.WithUserAgent("driftless"))
	if err != nil {
		t.CloseIdleConnections()
		return nil, nil, err
	}
	return p, t.CloseIdleConnections, nil
}

// resolveOCI selects the version as Helm does: a version is pulled as its
// tag; a constraint is matched against the repository's tags. It then reads
// the tag's manifest for the chart layer's digest, so a tag pushed again is
// a new Resolved.
func (c *Client) resolveOCI(ctx context.Context, r repository, src Source, creds Credentials) (Resolved, error) {
	repo, err := ociRepository(r, src)
	if err != nil {
		return Resolved{}, err
	}
	p, done, err := c.puller(creds)
	if err != nil {
		return Resolved{}, err
	}
	defer done()
	version := src.Version
	if !isExactVersion(version) {
		tags, err := c.listTags(ctx, p, repo)
		if err != nil {
			return Resolved{}, err
		}
		if version, err = selectVersion(tagVersions(tags), src.Version); err != nil {
			return Resolved{}, err
		}
	}
	tag := repo.Tag(tagOf(version))
	desc, err := p.Get(ctx, tag)
	if err != nil {
		return Resolved{}, fmt.Errorf("manifest of %s: %w", tag, err)
	}
	layer, err := chartLayer(desc)
	if err != nil {
		return Resolved{}, fmt.Errorf("manifest of %s: %w", tag, err)
	}
	if layer.Size > c.opts.MaxChartBytes {
		return Resolved{}, fmt.Errorf("chart layer of %s: %w: %d bytes, MaxChartBytes is %d", tag, ErrTooLarge, layer.Size, c.opts.MaxChartBytes)
	}
	return Resolved{Version: version, Digest: layer.Digest.String(), URL: "oci://" + tag.String()}, nil
}

// maxTagPages bounds the pages of a tag list, which may be empty: a
// million tags at the registry client's 1000 a page.
const maxTagPages = 1000

// listTags lists the repository's tags, all pages, MaxIndexBytes of tag
// names at most.
func (c *Client) listTags(ctx context.Context, p *remote.Puller, repo name.Repository) ([]string, error) {
	lister, err := p.Lister(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", repo, err)
	}
	var tags []string
	var size int64
	for pages := 0; lister.HasNext(); pages++ {
		if pages == maxTagPages {
			return nil, fmt.Errorf("tags of %s: more than %d pages", repo, maxTagPages)
		}
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("tags of %s: %w", repo, err)
		}
		for _, t := range page.Tags {
			size += int64(len(t))
		}
		if size > c.opts.MaxIndexBytes {
			return nil, fmt.Errorf("tags of %s: %w: MaxIndexBytes is %d", repo, ErrTooLarge, c.opts.MaxIndexBytes)
		}
		tags = append(tags, page.Tags...)
	}
	return tags, nil
}

// chartLayer finds the chart archive in a chart's manifest, as Helm does:
// the chart content layer, else the legacy tar+gzip layer.
func chartLayer(desc *remote.Descriptor) (v1.Descriptor, error) {
	switch desc.MediaType {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return v1.Descriptor{}, fmt.Errorf("media type %s is not an image manifest", desc.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, mt := range []types.MediaType{chartLayerMediaType, legacyChartLayerMediaType} {
		for _, l := range m.Layers {
			if l.MediaType == mt {
				return l, nil
			}
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no layer of media type %s: not a Helm chart", chartLayerMediaType)
}

// downloadOCI reads the chart layer by its digest, at most MaxChartBytes,
// and lets the registry client verify the digest as it reads.
func (c *Client) downloadOCI(ctx context.Context, r repository, src Source, res Resolved, creds Credentials) ([]byte, error) {
	repo, err := ociRepository(r, src)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(res.URL, "oci://"+repo.String()+":") {
		return nil, fmt.Errorf("resolved URL %s is not in %s", displayRaw(res.URL), repo)
	}
	if _, err := v1.NewHash(res.Digest); err != nil {
		return nil, fmt.Errorf("digest %q: %w", res.Digest, err)
	}
	p, done, err := c.puller(creds)
	if err != nil {
		return nil, err
	}
	defer done()
	ref := repo.Digest(res.Digest)
	layer, err := p.Layer(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("chart layer %s: %w", ref, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("chart layer %s: %w", ref, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, c.opts.MaxChartBytes+1))
	if err != nil {
		return nil, fmt.Errorf("chart layer %s: %w", ref, err)
	}
	if int64(len(data)) > c.opts.MaxChartBytes {
		return nil, fmt.Errorf("chart layer %s: %w: MaxChartBytes is %d", ref, ErrTooLarge, c.opts.MaxChartBytes)
	}
	return data, nil
}

// boundedTransport refuses plain HTTP, which the registry client would
// otherwise try for a registry on a private or loopback address, and bounds
// every response body.
type boundedTransport struct {
	inner http.RoundTripper
	limit int64
}

// RoundTrip sends req over TLS only and bounds the response body.
func (t boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%s://%s: oci:// registries are reached over TLS only", req.URL.Scheme, req.URL.Host)
	}
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: t.limit, limit: t.limit, host: req.URL.Host}
	return resp, nil
}

// boundedBody fails a read beyond its limit.
type boundedBody struct {
	io.ReadCloser
	left, limit int64
	host        string
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, fmt.Errorf("response from %s: %w: %d bytes", b.host, ErrTooLarge, b.limit)
	}
	return n, err
}
