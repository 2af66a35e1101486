package render

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCheckoutResolve resolves names through symbolic links and refuses
// every way out of the root (RELIABILITY S1, S2).
func TestCheckoutResolve(t *testing.T) {
	outside := t.TempDir()
	root := tree{
		"base/cm.yaml":        cmA,
		"links/in@":           "../base",
		"links/chain1@":       "chain2",
		"links/chain2@":       "in/cm.yaml",
		"links/abs@":          "/etc/hostname",
		"links/up@":           "../../x",
		"links/outdir@":       outside,
		"links/dangling@":     "../missing/../../../etc",
		"links/loop@":         "loop",
		"links/self@":         ".",
		"links/parent-ok@":    "../base/../base/cm.yaml",
		"links/via-dir-up@":   "in/../../outside",
		"links/through/x.txt": "x",
	}.write(t)
	tests := []struct {
		name, want string
		reason     Reason
	}{
		{".", ".", ""},
		{"base/cm.yaml", "base/cm.yaml", ""},
		{"base/../base/cm.yaml", "base/cm.yaml", ""},
		{"links/in/cm.yaml", "base/cm.yaml", ""},
		{"links/chain1", "base/cm.yaml", ""},
		{"links/parent-ok", "base/cm.yaml", ""},
		{"links/self/self/in", "base", ""},
		{"missing/file.yaml", "missing/file.yaml", ""},
		{"links/in/missing/x", "base/missing/x", ""},
		{"../x", "", PathOutOfBounds},
		{"/etc/hostname", "", PathOutOfBounds},
		{"base/../../x", "", PathOutOfBounds},
		{"links/abs", "", SymlinkOutOfBounds},
		{"links/up", "", SymlinkOutOfBounds},
		{"links/outdir/file", "", SymlinkOutOfBounds},
		{"links/dangling", "", SymlinkOutOfBounds},
		{"links/via-dir-up", "", SymlinkOutOfBounds},
		{"links/loop", "", BuildFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := openCheckout(context.Background(), root, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := c.Resolve(tt.name)
			if tt.reason == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
				}
				return
			}
			if err == nil || ReasonOf(err) != tt.reason {
				t.Fatalf("Resolve(%q) = %q, %v; want a %s error", tt.name, got, err, tt.reason)
			}
			if tt.reason != BuildFailed && c.Violation() == nil {
				t.Fatalf("Resolve(%q): the violation was not recorded", tt.name)
			}
		})
	}
}

// TestCheckoutReadFile reads regular files only, and counts the bytes.
func TestCheckoutReadFile(t *testing.T) {
	root := tree{"a.yaml": cmA, "b.yaml": cmB, "dir/x": "x"}.write(t)
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := openCheckout(context.Background(), root, Limits{MaxBytes: int64(len(cmA) + 10), MaxYAMLDepth: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if data, err := c.ReadFile("a.yaml"); err != nil || string(data) != cmA {
		t.Fatalf("ReadFile(a.yaml) = %q, %v", data, err)
	}
	for _, name := range []string{"fifo", "dir", "missing"} {
		if _, err := c.ReadFile(name); err == nil {
			t.Errorf("ReadFile(%s): want an error", name)
		}
	}
	if _, err := c.ReadFile("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := c.ReadFile("b.yaml"); ReasonOf(err) != LimitExceeded {
		t.Fatalf("ReadFile past MaxBytes = %v, want LimitExceeded", err)
	}
}

// TestCheckoutCancelled stops reading once the context is done.
func TestCheckoutCancelled(t *testing.T) {
	root := tree{"a.yaml": cmA}.write(t)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := openCheckout(ctx, root, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	if _, err := c.ReadFile("a.yaml"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadFile after cancel = %v", err)
	}
}

// TestOpenCheckoutMissingRoot is PathInvalid.
func TestOpenCheckoutMissingRoot(t *testing.T) {
	_, err := openCheckout(context.Background(), filepath.Join(t.TempDir(), "gone"), DefaultLimits())
	if ReasonOf(err) != PathInvalid {
		t.Fatalf("openCheckout = %v, want PathInvalid", err)
	}
	if _, err := os.Stat("."); err != nil {
		t.Fatal(err)
	}
}
