package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo_TaggedModuleVersionWins(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}}}
	if got := fromBuildInfo(bi); got != "1.4.0" {
		t.Fatalf("got %q, want 1.4.0", got)
	}
}

func TestFromBuildInfo_CheckoutBuildShowsShortRevisionAndDirty(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	if got := fromBuildInfo(bi); got != "devel-0123456789ab-dirty" {
		t.Fatalf("got %q", got)
	}
}

func TestString_OverrideWins(t *testing.T) {
	old := Override
	defer func() { Override = old }()
	Override = "9.9.9"
	if got := String(); got != "9.9.9" {
		t.Fatalf("got %q", got)
	}
}
