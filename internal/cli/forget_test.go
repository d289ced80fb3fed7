package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// collectionsIn reads the collections the state file at path records.
func collectionsIn(t *testing.T, path string) []state.Collection {
	t.Helper()
	store, err := state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cols, err := store.Collections()
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

func TestCLI_Forget_CalendarGoneFromServer_StopsItsReport_KeepsTheFolderAndItsRecord(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		cal := srv.MakeCalendar(t, "old", "Old events", "VEVENT")
		srv.Put(t, cal+"a.ics", []byte(fmt.Sprintf(ev, "a", "A")))
		dir := t.TempDir()
		root := filepath.Join(dir, "cals")
		cfg := srv.WriteVdirdConfig(t, "t", root)
		if code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync"); code != 0 {
			t.Fatalf("sync: %d %s %s", code, out, errs)
		}
		srv.Delete(t, cal)
		if _, out, _ := cli(t, "--config", cfg, "--log-level", "error", "sync"); !strings.Contains(out, "no longer on the server") {
			t.Fatalf("the deleted calendar is not reported:\n%s", out)
		}
		if code, _, errs := cli(t, "--config", cfg, "forget", "nosuch"); code != 2 || !strings.Contains(errs, "old") {
			t.Fatalf("forget of an unknown name: code %d, stderr %s", code, errs)
		}
		code, out, errs := cli(t, "--config", cfg, "forget", "Old events")
		if code != 0 || !strings.Contains(out, "forgotten") {
			t.Fatalf("forget: code %d\nout: %s\nerr: %s", code, out, errs)
		}
		for range 2 {
			if _, out, _ := cli(t, "--config", cfg, "--log-level", "error", "sync"); strings.Contains(out, "old") {
				t.Fatalf("a forgotten calendar is still reported:\n%s", out)
			}
		}
		if _, err := os.Stat(filepath.Join(root, "old", "a.ics")); err != nil {
			t.Fatalf("forget touched the folder: %v", err)
		}
		cols := collectionsIn(t, filepath.Join(filepath.Dir(cfg), "state.db"))
		i := slices.IndexFunc(cols, func(c state.Collection) bool { return c.Href == cal })
		if i < 0 || cols[i].Dir != filepath.Join(root, "old") || cols[i].Forgotten.IsZero() {
			t.Fatalf("state after forget: %+v, want the folder's record, forgotten", cols)
		}
		if _, out, _ := cli(t, "--config", cfg, "status"); !strings.Contains(out, "forgotten") || !strings.Contains(out, "vdird forget --undo old") {
			t.Fatalf("status does not show the forgotten calendar and how to bring it back:\n%s", out)
		}
		if code, out, _ := cli(t, "--config", cfg, "forget", "--undo", "old"); code != 0 || !strings.Contains(out, "synced again") {
			t.Fatalf("forget --undo: code %d, out %s", code, out)
		}
		if _, out, _ := cli(t, "--config", cfg, "--log-level", "error", "sync"); !strings.Contains(out, "no longer on the server") {
			t.Fatalf("after --undo the deleted calendar is not reported again:\n%s", out)
		}
	})
}

// runDaemon runs the daemon on the config at cfgPath, with its control
// socket where the CLI looks for it, until the test ends.
func runDaemon(t *testing.T, cfgPath string) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", shortTempDir(t))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Interval, cfg.RescanInterval = time.Hour, time.Hour
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	ready, done := make(chan struct{}), make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	go func() {
		err := daemon.Run(ctx, cfg, engine.NewEngine(cfg, store, log), log, daemon.RunOptions{Ready: func() { close(ready) }})
		store.Close()
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon ended before ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("daemon not ready after 60 s")
	}
}

// shortTempDir is a temp dir with a path short enough for a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestCLI_Forget_DaemonRunning_TheDaemonForgetsAndUndoes_UndoSyncsAtOnce(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	cal := srv.MakeCalendar(t, "work", "Work", "VEVENT")
	srv.Put(t, cal+"a.ics", []byte(fmt.Sprintf(ev, "a", "A")))
	cfg := srv.WriteVdirdConfig(t, "t", filepath.Join(t.TempDir(), "cals"))
	if code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync"); code != 0 {
		t.Fatalf("sync: %d %s %s", code, out, errs)
	}
	runDaemon(t, cfg)
	socket := control.SocketPath(filepath.Join(filepath.Dir(cfg), "state.db"))
	code, out, errs := cli(t, "--config", cfg, "forget", "work")
	if code != 0 || !strings.Contains(out, "work: forgotten") {
		t.Fatalf("forget with the daemon running: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	st, err := control.Status(context.Background(), socket)
	if err != nil || len(st) != 1 || st[0].Forgotten.IsZero() {
		t.Fatalf("the daemon's status after forget: %+v %v", st, err)
	}
	sums, err := control.Sync(context.Background(), socket, engine.SyncOptions{})
	if err != nil || len(sums) != 0 {
		t.Fatalf("a daemon pass after forget: %+v %v, want no summary", sums, err)
	}
	if code, _, errs := cli(t, "--config", cfg, "forget", "nosuch"); code != 2 || !strings.Contains(errs, "work") {
		t.Fatalf("forget nosuch through the daemon: code %d, stderr %s", code, errs)
	}
	if code, out, errs := cli(t, "--config", cfg, "forget", "--undo", "work"); code != 0 || !strings.Contains(out, "daemon pass starting now") {
		t.Fatalf("forget --undo with the daemon running: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	// The poll is an hour away: only the pass the undo starts syncs it.
	deadline := time.Now().Add(10 * time.Second)
	for st, err = control.Status(context.Background(), socket); err != nil || len(st) != 1 || st[0].LastSync.IsZero(); st, err = control.Status(context.Background(), socket) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after --undo the daemon has not synced the calendar: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if files, _ := filepath.Glob(filepath.Join(st[0].Dir, "*.ics")); len(files) != 1 || filepath.Base(files[0]) != "a.ics" {
		t.Fatalf("the folder after the undo's pass: %v, want a.ics alone, matched by UID", files)
	}
	sums, err = control.Sync(context.Background(), socket, engine.SyncOptions{})
	if err != nil || len(sums) != 1 || sums[0].Failed() || sums[0].Downloaded+sums[0].Uploaded+sums[0].Conflicts != 0 {
		t.Fatalf("the daemon's pass after --undo: %+v %v, want the calendar matched by UID, nothing moved", sums, err)
	}
}

func TestCLI_Forget_StateHeldWithoutAControlSocket_RefusesAndChangesNothing(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "work", "Work", "VEVENT")
	dir := t.TempDir()
	cfg := srv.WriteVdirdConfig(t, "t", filepath.Join(dir, "cals"))
	if code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync"); code != 0 {
		t.Fatalf("sync: %d %s %s", code, out, errs)
	}
	held, err := state.Open(filepath.Join(filepath.Dir(cfg), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli(t, "--config", cfg, "forget", "work")
	if code != 1 || !strings.Contains(errs, "no daemon answers") || !strings.Contains(errs, "nothing was changed") {
		t.Fatalf("forget with the state held: code %d, stderr %s", code, errs)
	}
	cols, err := held.Collections()
	held.Close()
	if err != nil || len(cols) != 1 || !cols[0].Forgotten.IsZero() {
		t.Fatalf("state after a refused forget: %v %v", cols, err)
	}
}
