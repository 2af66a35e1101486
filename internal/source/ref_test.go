package source

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestRefValidate(t *testing.T) {
	valid := []Ref{{Branch: "main"}, {Branch: "release/1.x"}, {Tag: "v1.2.0"}, {SemVer: ">=1.2 <2"},
		{SemVer: "~1.2"}, {Commit: "4f2c0123456789abcdef0123456789abcdef0123"}}
	invalid := []Ref{{}, {Branch: "main", Tag: "v1"}, {Branch: "-x"}, {Branch: "a..b"}, {Branch: "a b"},
		{Tag: "v1^{}"}, {SemVer: "not a range"}, {Commit: "4f2c"}, {Commit: "4F2C0123456789ABCDEF0123456789ABCDEF0123"}}
	for _, r := range valid {
		if err := r.validate(); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range invalid {
		if r.validate() == nil {
			t.Errorf("%s accepted", r)
		}
	}
}

func TestRevision(t *testing.T) {
	h := plumbing.NewHash("4f2c0123456789abcdef0123456789abcdef0123")
	for rev, want := range map[string]string{
		revision("main", h):   "main@sha1:" + h.String(),
		revision("v1.2.0", h): "v1.2.0@sha1:" + h.String(),
		revision("", h):       "sha1:" + h.String(),
	} {
		if rev != want {
			t.Errorf("revision = %s, want %s", rev, want)
		}
		if got, err := CommitOf(rev); err != nil || got != h.String() {
			t.Errorf("CommitOf(%s) = %s, %v", rev, got, err)
		}
	}
	if _, err := CommitOf("main@sha1:nothex"); err == nil {
		t.Error("CommitOf accepted a malformed revision")
	}
}
