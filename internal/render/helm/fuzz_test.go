package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// FuzzCheckArchive (RELIABILITY S16) feeds chart archives, valid and
// mangled, to the check that runs before Helm loads them: it returns, never
// panics, and accepts no entry outside the archive.
func FuzzCheckArchive(f *testing.F) {
	f.Add([]byte(nil), "sub/Chart.yaml", "apiVersion: v2\n", byte(tar.TypeReg))
	f.Add([]byte{0x1f, 0x8b, 0x08}, "../../evil", "x", byte(tar.TypeSymlink))
	f.Add([]byte(nil), "/etc/passwd", "root", byte(tar.TypeReg))
	f.Fuzz(func(t *testing.T, raw []byte, name, data string, typ byte) {
		budget := int64(1 << 20)
		_ = checkArchive("fuzz.tgz", raw, &budget, true)
		hdr := tar.Header{Name: name, Typeflag: typ, Mode: 0o644}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(data))
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		if tw.WriteHeader(&hdr) != nil {
			return // a header tar cannot write, no archive can hold
		}
		if typ == tar.TypeReg {
			_, _ = tw.Write([]byte(data))
		}
		_ = tw.Close()
		_ = zw.Close()
		budget = 1 << 20
		err := checkArchive("fuzz.tgz", buf.Bytes(), &budget, true)
		clean := strings.ReplaceAll(name, `\`, "/")
		if err == nil && (strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "../") || clean == "..") {
			t.Errorf("entry %q accepted", name)
		}
	})
}
