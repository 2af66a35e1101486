package source

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
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
	// max is the bound; left what is left of it for the upload-pack response.
	max, left int64
	exceeded  bool
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
	out := packp.NewUploadPackResponseWithPackfile(req, &limitedReader{rc: res, lim: lim, budget: lim.left})
	out.ShallowUpdate = res.ShallowUpdate
	out.ServerResponse = res.ServerResponse
	return out, nil
}

var errFetchLimit = errors.New("fetch exceeded its byte limit")

type limitedReader struct {
	rc     io.ReadCloser
	lim    *fetchLimits
	budget int64 // lim.left when the response started
	pack   packHeader
}

// minPackObjectBytes is the least an object takes in a pack: a header byte
// and a zlib stream of at least eight bytes.
const minPackObjectBytes = 9

// Read reads within the fetch's remaining budget. A pack header announcing
// more objects than the budget can hold is refused before go-git sizes its
// index by it: a hostile server announcing 2³¹ objects would otherwise
// allocate tens of gigabytes at once.
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
	if count, ok := l.pack.feed(p[:n]); ok && int64(count)*minPackObjectBytes > l.budget {
		l.lim.exceeded = true
		return 0, errFetchLimit
	}
	return n, err
}

// packHeader finds the pack's header in an upload-pack response, through
// side-band pkt-lines or without them, and reads its object count.
type packHeader struct {
	header  []byte // the pack's first bytes, until there are 12
	pktLeft int    // bytes left in the current pkt-line's payload; -1: no side-band
	pktLen  []byte // the hex length of the next pkt-line, as it arrives
	channel bool   // the channel byte of the current pkt-line was read
	data    bool   // the current pkt-line carries pack data (channel 1)
	done    bool
}

// feed reads the next bytes of the response; ok is true once, with the
// object count, when the header is whole.
func (h *packHeader) feed(b []byte) (count uint32, ok bool) {
	for len(b) > 0 && !h.done {
		switch {
		case h.pktLeft == 0 && len(h.header) == 0 && len(h.pktLen) == 0 && b[0] == 'P':
			h.pktLeft = -1 // a bare pack, no side-band
		case h.pktLeft == 0:
			h.pktLen = append(h.pktLen, b[0])
			b = b[1:]
			if len(h.pktLen) == 4 {
				n, err := strconv.ParseUint(string(h.pktLen), 16, 16)
				h.pktLen, h.channel, h.data = h.pktLen[:0], false, false
				if err != nil {
					h.done = true // not pkt-lines: leave it to go-git
				} else if n > 4 {
					h.pktLeft = int(n) - 4
				}
			}
			continue
		case h.pktLeft > 0 && !h.channel:
			h.channel, h.data = true, b[0] == 1
			h.pktLeft--
			b = b[1:]
			continue
		}
		take := len(b)
		if h.pktLeft > 0 {
			take = min(take, h.pktLeft)
			h.pktLeft -= take
		}
		if h.data || h.pktLeft < 0 {
			h.header = append(h.header, b[:min(take, 12-len(h.header))]...)
		}
		b = b[take:]
		if len(h.header) == 12 {
			h.done = true
			return binary.BigEndian.Uint32(h.header[8:]), string(h.header[:4]) == "PACK"
		}
	}
	return 0, false
}

// Close closes the response.
func (l *limitedReader) Close() error { return l.rc.Close() }
