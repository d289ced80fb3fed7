// Package version tells which vdird this is: the module version recorded by
// the Go toolchain (a tagged `go install`, or the VCS revision of a build in
// a checkout), unless the build set one with -ldflags.
package version

import (
	"runtime/debug"
	"strings"
)

// Override, when set at build time with
// -ldflags "-X github.com/vdird/vdird/internal/version.Override=1.2.3",
// wins over what the build info says.
var Override string

// String is the version to show and to send as the User-Agent.
func String() string {
	if Override != "" {
		return Override
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return fromBuildInfo(bi)
}

// fromBuildInfo prefers a tagged module version, then the VCS revision.
func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return strings.TrimPrefix(v, "v")
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}
