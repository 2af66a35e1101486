package source

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileServer is a hand-written smart-HTTP Git server (RELIABILITY S12):
// it advertises refs, then answers every upload-pack with what body writes
// after the shallow section and the NAK.
type hostileServer struct {
	*httptest.Server
	refs []string // "<hash> <name>" lines to advertise
	body func(w io.Writer)
}

const hostileCommit = "1111111111111111111111111111111111111111"

func newHostileServer(t *testing.T, refs []string, body func(w io.Writer)) *hostileServer {
	t.Helper()
	h := &hostileServer{refs: refs, body: body}
	h.Server = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func pkt(w io.Writer, s string) { fmt.Fprintf(w, "%04x%s", len(s)+4, s) }

func (h *hostileServer) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/info/refs"):
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		pkt(w, "# service=git-upload-pack\n")
		io.WriteString(w, "0000")
		for i, ref := range h.refs {
			if i == 0 {
				ref += "\x00multi_ack_detailed side-band-64k thin-pack ofs-delta shallow no-progress agent=hostile/1"
			}
			pkt(w, ref+"\n")
		}
		io.WriteString(w, "0000")
	case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		pkt(w, "shallow "+hostileCommit+"\n")
		io.WriteString(w, "0000")
		pkt(w, "NAK\n")
		h.body(w)
	default:
		http.NotFound(w, r)
	}
}

func (h *hostileServer) req() Request {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.Certificate().Raw})
	return Request{URL: h.URL + "/evil.git", Ref: Ref{Branch: "main"}, Credentials: Credentials{CAFile: ca}}
}

// endless writes sideband packets on channel until the client goes.
func endless(channel byte, payload []byte) func(w io.Writer) {
	return func(w io.Writer) {
		msg := append([]byte{channel}, payload...)
		for {
			if _, err := fmt.Fprintf(w, "%04x%s", len(msg)+4, msg); err != nil {
				return
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
	}
}

// TestHostileServers: endless progress ends at the fetch timeout, endless
// pack data at the byte bound, and a ref named to climb out of the
// repository is never written anywhere.
func TestHostileServers(t *testing.T) {
	main := hostileCommit + " refs/heads/main"
	t.Run("endless progress", func(t *testing.T) {
		srv := newHostileServer(t, []string{hostileCommit + " HEAD", main}, endless(2, []byte("Counting objects...\r")))
		c := newClient(t, func(o *Options) { o.Timeout = 2 * time.Second })
		fetchFails(t, c, srv.req(), ErrSourceUnavailable)
	})
	t.Run("endless pack", func(t *testing.T) {
		data := append([]byte("PACK\x00\x00\x00\x02\x7f\xff\xff\xff"), bytes.Repeat([]byte{0x90}, 60000)...)
		srv := newHostileServer(t, []string{hostileCommit + " HEAD", main}, endless(1, data))
		c := newClient(t, func(o *Options) { o.MaxFetchBytes = 1 << 20 })
		fetchFails(t, c, srv.req(), ErrLimitExceeded)
	})
	t.Run("ref climbing out", func(t *testing.T) {
		srv := newHostileServer(t, []string{hostileCommit + " HEAD", main, hostileCommit + " refs/heads/../../config"},
			endless(1, []byte("PACK")))
		root := t.TempDir()
		cache := filepath.Join(root, "cache", "git")
		c := newClient(t, func(o *Options) { o.CacheDir = cache; o.MaxFetchBytes = 1 << 16 })
		req := srv.req()
		req.Ref = Ref{Branch: "../../config"}
		if _, err := c.Fetch(t.Context(), req, filepath.Join(root, "checkout")); err == nil {
			t.Error("fetched a branch named ../../config")
		}
		req.Ref = Ref{Branch: "main"}
		_, _ = c.Fetch(t.Context(), req, filepath.Join(root, "checkout2"))
		for _, p := range []string{filepath.Join(root, "config"), filepath.Join(root, "cache", "config")} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s was written outside the repository", p)
			}
		}
	})
}

// TestPackHeader reads the object count through side-band pkt-lines, a
// progress line first, and from a bare pack, in pieces of every size.
func TestPackHeader(t *testing.T) {
	header := []byte("PACK\x00\x00\x00\x02\x00\x00\x01\x00") // 256 objects
	var sideband bytes.Buffer
	pkt(&sideband, "\x02Counting objects: 256\r")
	pkt(&sideband, "\x01"+string(header[:5]))
	pkt(&sideband, "\x01"+string(header[5:])+"rest")
	for name, stream := range map[string][]byte{"side-band": sideband.Bytes(), "bare": append(header, "rest"...)} {
		for size := 1; size <= len(stream); size++ {
			var h packHeader
			var count uint32
			var ok bool
			for b := stream; len(b) > 0 && !ok; b = b[min(size, len(b)):] {
				count, ok = h.feed(b[:min(size, len(b))])
			}
			if !ok || count != 256 {
				t.Errorf("%s in pieces of %d: count %d, %v; want 256", name, size, count, ok)
			}
		}
	}
}
