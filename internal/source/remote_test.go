package source

import (
	"errors"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestPickTarget(t *testing.T) {
	h := func(c byte) plumbing.Hash {
		var b [20]byte
		b[0] = c
		return plumbing.Hash(b)
	}
	refs := map[string]plumbing.Hash{
		"refs/heads/main":        h(1),
		"refs/tags/v1.0.0":       h(2),
		"refs/tags/v1.0.0^{}":    h(3),
		"refs/tags/v1.4.0":       h(4),
		"refs/tags/1.4.0":        h(5),
		"refs/tags/v2.0.0":       h(6),
		"refs/tags/v1.5.0-rc.1":  h(7),
		"refs/tags/not-a-semver": h(8),
	}
	tests := []struct {
		ref    Ref
		name   string
		commit plumbing.Hash
		kind   error
	}{
		{Ref{Branch: "main"}, "main", h(1), nil},
		{Ref{Tag: "v1.0.0"}, "v1.0.0", h(3), nil},
		{Ref{SemVer: "1.x"}, "1.4.0", h(5), nil},
		{Ref{SemVer: ">=1.0 <2"}, "1.4.0", h(5), nil},
		{Ref{SemVer: ">=1.5.0-0 <2"}, "v1.5.0-rc.1", h(7), nil},
		{Ref{SemVer: "*"}, "v2.0.0", h(6), nil},
		{Ref{SemVer: ">=3"}, "", plumbing.ZeroHash, ErrRevisionNotFound},
		{Ref{Branch: "dev"}, "", plumbing.ZeroHash, ErrRevisionNotFound},
		{Ref{Tag: "v9"}, "", plumbing.ZeroHash, ErrRevisionNotFound},
	}
	for _, tt := range tests {
		got, err := pickTarget(refs, tt.ref)
		if !errors.Is(err, tt.kind) || (tt.kind == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tt.ref, err, tt.kind)
			continue
		}
		if got.name != tt.name || got.commit != tt.commit {
			t.Errorf("%s: got %s %s, want %s %s", tt.ref, got.name, got.commit, tt.name, tt.commit)
		}
	}
}
