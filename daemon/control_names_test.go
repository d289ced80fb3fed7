package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
)

// TestDaemon_ControlSync_UnknownCalendarName_SameErrorAndNoPass: a sync
// asked of the daemon with a name that matches no calendar answers the
// engine's error, typed, and runs no pass.
func TestDaemon_ControlSync_UnknownCalendarName_SameErrorAndNoPass(t *testing.T) {
	e := synctest.New(t, testserver.Radicale)
	e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
	sock := filepath.Join(shortDir(t), "vdird.sock")
	d := startDaemon(t, e.Cfg, RunOptions{SocketPath: sock})

	sums, err := control.Sync(context.Background(), sock, engine.SyncOptions{Calendars: []string{"nosuch"}})
	var unknown *engine.UnknownCalendarError
	if !errors.As(err, &unknown) {
		t.Fatalf("sync nosuch via the daemon: err %v, summaries %+v; want an UnknownCalendarError", err, sums)
	}
	if want := []string{"events (Events)", "tasks (Tasks)"}; !slices.Equal(unknown.Names, []string{"nosuch"}) || !slices.Equal(unknown.Calendars, want) {
		t.Errorf("error %+v, want names [nosuch] and calendars %q", unknown, want)
	}
	if n := d.stats.Passes(e.Cfg.Accounts[0].Name, PassRequested); n != 0 {
		t.Errorf("%d requested passes ran, want none", n)
	}
	if _, err := control.Sync(context.Background(), sock, engine.SyncOptions{Calendars: []string{"Tasks"}}); err != nil {
		t.Fatalf("sync Tasks via the daemon: %v", err)
	}
}

// shortDir returns a temp dir with a short path: unix socket paths are
// limited to 108 bytes and t.TempDir() names can be longer.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
