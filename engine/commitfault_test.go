package engine

// A state commit that fails in the middle of a pass (a full disk under the
// state file): the pass must fail, and the calendar's change markers must
// not move past the results it could not record.

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/internal/testserver"
)

func TestLocalFault_StateDiskFullMidPass_PassFailsThenNextPassDownloadsNotReuploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testserver.Radicale)
	// The state file on a small disk: a calendar of one item fits, a
	// batch of 200 items of 4 KB (each with its stored base) does not.
	lfMountTmpfs(t, filepath.Dir(e.Cfg.StatePath), "256k")
	cal := e.seedOnly("big", 1, "old%03d", "v1")
	e.syncOK()
	before := e.collectionState(cal)

	items := map[string][]byte{}
	for i := range apply.BatchSize {
		uid := fmt.Sprintf("new%03d", i)
		items[uid+".ics"] = lfBigEvent(uid, "phone", 4000)
	}
	e.Srv.SeedCalendar(t, "big", "big", items)
	e.Rec.Take()

	s := lfSummary(t, e.sync(SyncOptions{}), cal)
	col := e.collectionState(cal)
	t.Logf("disk-full pass: err=%v ↓%d problems=%d; markers %q → %q, LastError %q",
		s.Err, s.Downloaded, len(s.Problems), before.Marker, col.Marker, col.LastError)
	if s.Err == nil {
		t.Fatalf("the failed state commit went unreported: %+v", s)
	}
	if col.Marker != before.Marker || col.SyncToken != before.SyncToken {
		t.Fatalf("the change markers advanced past unrecorded downloads: %q → %q, %q → %q",
			before.Marker, col.Marker, before.SyncToken, col.SyncToken)
	}
	if col.LastError == "" {
		t.Errorf("the failure is not recorded as the calendar's last error")
	}

	// Room again: the next pass finds the files it wrote and records them.
	if err := syscall.Mount("tmpfs", filepath.Dir(e.Cfg.StatePath), "tmpfs", syscall.MS_REMOUNT, "size=16m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	e.Rec.Take()
	s = e.syncOK()[cal]
	reqs := e.Rec.Take()
	puts := 0
	for _, r := range reqs {
		if r.Method == http.MethodPut {
			puts++
		}
	}
	t.Logf("pass after the fault: ↓%d ↑%d recorded=%d conflicts=%d, %d requests, %d PUTs", s.Downloaded, s.Uploaded, s.Recorded, s.Conflicts, len(reqs), puts)
	if puts != 0 || s.Uploaded != 0 || s.Conflicts != 0 {
		t.Fatalf("the server's own items were written back to it: %d PUTs, %+v", puts, s)
	}
	names := 0
	for _, n := range e.LocalNames(cal) {
		if strings.HasSuffix(n, ".ics") {
			names++
		}
	}
	if srv := len(e.Srv.Members(t, cal)); srv != apply.BatchSize+1 || names != apply.BatchSize+1 {
		t.Fatalf("server holds %d items and the folder %d files, want %d each", srv, names, apply.BatchSize+1)
	}
	lfAssertConverged(t, e, cal)
	if s := e.syncOK()[cal]; !s.Unchanged {
		t.Fatalf("the pass after that is not idle: %+v", s)
	}
}
