package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/work"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
)

func TestDaemon_StatusDuringABigUpload_ShowsTheCalendarAndNOfM(t *testing.T) {
	const n = 100
	e := synctest.New(t, testserver.Radicale)
	e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
	px, err := faultproxy.New(e.Srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	e.Cfg.Accounts[0].URL = px.URL
	// Each upload takes a while, so the status is read in the middle.
	px.Add(faultproxy.Rule{Method: http.MethodPut, Action: faultproxy.Hook(func(*http.Request) { time.Sleep(20 * time.Millisecond) })})
	dir := filepath.Join(e.Root, synctest.CalDir(e.Events))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		uid := fmt.Sprintf("up%03d", i)
		if err := os.WriteFile(filepath.Join(dir, uid+".ics"), synctest.Event(uid, "to upload"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(shortDir(t), "vdird.sock")
	d := newDaemonRun(t, e.Cfg, RunOptions{SocketPath: sock}, nil)

	// The first reconcile uploads the folder.
	var got *work.Status
	if !waitFor(30*time.Second, func() bool {
		sts, err := control.Status(context.Background(), sock)
		for _, s := range sts {
			if err == nil && s.Href == e.Events && s.Progress != nil && s.Progress.Done > 0 {
				got = s.Progress
				return true
			}
		}
		return false
	}) {
		t.Fatal("vdird status never showed the upload")
	}
	want := work.Step{Account: e.Cfg.Accounts[0].Name, Calendar: synctest.CalDir(e.Events), Href: e.Events, Op: work.Uploading, Total: n}
	if got.Step != want || got.Done >= n || got.Bytes == 0 || time.Since(got.Since) > time.Minute {
		t.Errorf("status midway: %+v, want %+v with some of the items done", got, want)
	}

	select {
	case <-d.ready:
	case <-time.After(60 * time.Second):
		t.Fatal("first reconcile not done after 60 s")
	}
	sts, err := control.Status(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Progress != nil {
			t.Errorf("work left in the status after the pass: %+v", s)
		}
	}
	if m := e.Srv.Members(t, e.Events); len(m) != n {
		t.Errorf("server holds %d items, want %d", len(m), n)
	}
}

func TestWithWork_WorkGoesToItsCalendar_OrToAnEntryOfItsOwn(t *testing.T) {
	sts := []engine.CalendarStatus{{Account: "a", Calendar: "work", Href: "/a/work/"}, {Account: "b", Calendar: "work", Href: "/b/work/"}}
	up := work.Status{Step: work.Step{Account: "b", Calendar: "work", Href: "/b/work/", Op: work.Uploading, Total: 9}, Done: 3}
	down := work.Status{Step: work.Step{Account: "a", Calendar: "new", Href: "/a/new/", Op: work.Downloading}, Done: 7}
	got := withWork(sts, []work.Status{up, down})
	if len(got) != 3 || got[0].Progress != nil || got[1].Progress == nil || *got[1].Progress != up ||
		got[2].Account != "a" || got[2].Calendar != "new" || got[2].Href != "/a/new/" || got[2].Progress == nil || *got[2].Progress != down {
		t.Fatalf("withWork = %+v", got)
	}
}
