package chartrepo

import (
	"strings"
	"testing"
)

// TestSelectVersion: OCI tags to versions and the pick, as Helm's registry
// client makes them.
func TestSelectVersion(t *testing.T) {
	tags := []string{"1.0.0", "latest", "1.1.0", "v1.3.0", "1.2.0-rc.1", "2.0.0", "1.1.1_build.5", "0.9", "sha256-abc.sig"}
	for _, tc := range []struct {
		version, want, err string
	}{
		{version: "", want: "2.0.0"},
		{version: "*", want: "2.0.0"},
		{version: "^1.0", want: "1.1.1+build.5"},
		{version: "~1.0", want: "1.0.0"},
		{version: ">=1.0 <1.1", want: "1.0.0"},
		{version: "1.0.0", want: "1.0.0"},
		{version: "1.1.1+build.5", want: "1.1.1+build.5"},
		{version: ">=1.2.0-0 <2", want: "1.2.0-rc.1"},
		{version: "1.2.0-rc.1", want: "1.2.0-rc.1"},
		{version: "<1", err: `no version matches "<1" (newest of 5: 2.0.0)`},
		{version: "^3.0", err: `no version matches "^3.0"`},
		{version: "not a constraint", err: `version constraint "not a constraint"`},
	} {
		got, err := selectVersion(tagVersions(tags), tc.version)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("selectVersion(%q) = %q, %v; want error %q", tc.version, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("selectVersion(%q) = %q, %v; want %q", tc.version, got, err, tc.want)
		}
	}
	if got := tagVersions(tags); strings.Join(got, " ") != "2.0.0 1.2.0-rc.1 1.1.1+build.5 1.1.0 1.0.0" {
		t.Errorf("tagVersions = %v", got)
	}
	if _, err := selectVersion(nil, "^1.0"); err == nil || !strings.Contains(err.Error(), `none matches "^1.0"`) {
		t.Errorf("no tags: %v", err)
	}
	for v, exact := range map[string]bool{"1.2.3": true, "1.2": true, "v1.2.3": true, "1.2.3+b": true, "^1.2": false, ">=1": false, "": false, "1.x": false} {
		if isExactVersion(v) != exact {
			t.Errorf("isExactVersion(%q) = %v", v, !exact)
		}
	}
}
