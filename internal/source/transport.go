package source

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gogitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

var installOnce sync.Once

// transportCacheEntries bounds the HTTPS transports kept per distinct CA
// bundle; each keeps its idle connections for reuse.
const transportCacheEntries = 64

// installTransports configures go-git's process-wide transports once:
//   - https: one shared net/http transport with bounded dial, TLS and header
//     timeouts, and transports per CA bundle cached instead of cloned per
//     call, so polling reuses connections rather than leaking idle ones;
//   - ssh: ~/.ssh/config is ignored, so the host dialled is the URL's;
//   - every protocol: wrapped by boundedTransport, which applies the
//     per-fetch byte limit and asks for a thin pack only when the fetch can
//     take one.
//
// go-git selects transports globally; this package is the only user of
// go-git in the controller.
func installTransports() {
	installOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = 30 * time.Second
		tr.ResponseHeaderTimeout = 2 * time.Minute
		tr.IdleConnTimeout = 90 * time.Second
		tr.MaxIdleConnsPerHost = 8
		hc := &http.Client{Transport: tr}
		client.InstallProtocol("https", githttp.NewClientWithOptions(hc,
			&githttp.ClientOptions{CacheMaxEntries: transportCacheEntries}))
		gogitssh.DefaultSSHConfig = nil
		// Keep thin-pack in advertisements; boundedTransport strips it from
		// every request that cannot take a thin pack, on every protocol.
		transport.UnsupportedCapabilities = slices.DeleteFunc(
			slices.Clone(transport.UnsupportedCapabilities),
			func(c capability.Capability) bool { return c == capability.ThinPack })
		for scheme, t := range client.Protocols {
			client.InstallProtocol(scheme, boundedTransport{t})
		}
	})
}

// fetchLimits travel in the context of one fetch to the transport.
type fetchLimits struct {
	// left is the budget of bytes of the upload-pack response.
	left     int64
	exceeded bool
	// thin allows a thin pack: the storage resolves deltas against objects
	// it already holds. Without it a shallow fetch of one new commit
	// downloads the whole tree again.
	thin bool
}

type limitsKey struct{}

func withLimits(ctx context.Context, l *fetchLimits) context.Context {
	return context.WithValue(ctx, limitsKey{}, l)
}

// boundedTransport wraps a go-git transport; sessions without fetchLimits in
// their context behave exactly as go-git's own (never a thin pack).
type boundedTransport struct{ transport.Transport }

// NewUploadPackSession wraps the session of the underlying transport.
func (b boundedTransport) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (
	transport.UploadPackSession, error) {
	s, err := b.Transport.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, err
	}
	return &boundedSession{UploadPackSession: s}, nil
}

type boundedSession struct{ transport.UploadPackSession }

// UploadPack asks for a thin pack only when the fetch allows it (go-git
// itself would ask whenever the server offers one) and caps the response.
func (s *boundedSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	lim, _ := ctx.Value(limitsKey{}).(*fetchLimits)
	if lim == nil {
		req.Capabilities.Delete(capability.ThinPack)
		return s.UploadPackSession.UploadPack(ctx, req)
	}
	if !lim.thin {
		req.Capabilities.Delete(capability.ThinPack)
	}
	res, err := s.UploadPackSession.UploadPack(ctx, req)
	if err != nil {
		return nil, err
	}
	out := packp.NewUploadPackResponseWithPackfile(req, &limitedReader{rc: res, lim: lim})
	out.ShallowUpdate = res.ShallowUpdate
	out.ServerResponse = res.ServerResponse
	return out, nil
}

var errFetchLimit = errors.New("fetch exceeded its byte limit")

type limitedReader struct {
	rc  io.ReadCloser
	lim *fetchLimits
}

// Read reads within the fetch's remaining budget.
func (l *limitedReader) Read(p []byte) (int, error) {
	if l.lim.left <= 0 {
		l.lim.exceeded = true
		return 0, errFetchLimit
	}
	if int64(len(p)) > l.lim.left {
		p = p[:l.lim.left]
	}
	n, err := l.rc.Read(p)
	l.lim.left -= int64(n)
	return n, err
}

// Close closes the response.
func (l *limitedReader) Close() error { return l.rc.Close() }
