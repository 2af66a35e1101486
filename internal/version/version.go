// Package version holds what the build stamped into the binaries, with
// -ldflags "-X github.com/driftless-dev/driftless/internal/version.Version=…"
// (see the Makefile's LDFLAGS). An unstamped build reports the module
// version and VCS revision Go recorded, when it recorded them.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped at build time.
var (
	// Version is the release, such as v0.3.0.
	Version = ""
	// Commit is the Git commit the binary was built from.
	Commit = ""
	// Date is when the commit was made, RFC 3339.
	Date = ""
)

// Info is what a binary knows of its build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the stamped values, else what Go recorded.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && i.Commit == "":
				i.Commit = s.Value
			case s.Key == "vcs.time" && i.Date == "":
				i.Date = s.Value
			}
		}
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	return i
}

// String is one line: "v0.3.0 (commit 4f2c…, 2026-12-03T09:00:00Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s, %s %s)", i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
}
