package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

func TestCLI_Forget_CalendarGoneFromServer_StopsItsReport_KeepsTheFolder(t *testing.T) {
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
		if _, out, _ := cli(t, "--config", cfg, "--log-level", "error", "sync"); strings.Contains(out, "no longer on the server") {
			t.Fatalf("a forgotten calendar is still reported:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(root, "old", "a.ics")); err != nil {
			t.Fatalf("forget touched the folder: %v", err)
		}
	})
}

func TestCLI_Forget_StateHeldByADaemon_RefusesAndChangesNothing(t *testing.T) {
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
	if code != 1 || !strings.Contains(errs, "stop the daemon") {
		t.Fatalf("forget with the state held: code %d, stderr %s", code, errs)
	}
	cols, err := held.Collections()
	held.Close()
	if err != nil || len(cols) != 1 {
		t.Fatalf("state after a refused forget: %v %v", cols, err)
	}
}
