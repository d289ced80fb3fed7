package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/cli/undo"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
)

// vcli is one account on a real server, run through the CLI.
type vcli struct {
	t        *testing.T
	srv      *testserver.Server
	cfg      string
	root     string
	cal, dir string // the calendar's href and local folder
}

// newVCLI seeds calendar "events" with n events e000.ics… and syncs it.
func newVCLI(t *testing.T, srv *testserver.Server, n int) *vcli {
	items := map[string][]byte{}
	for i := range n {
		uid := fmt.Sprintf("e%03d", i)
		items[uid+".ics"] = []byte(fmt.Sprintf(ev, uid, "Event "+uid))
	}
	v := &vcli{t: t, srv: srv, root: filepath.Join(t.TempDir(), "cals")}
	v.cal = srv.SeedCalendar(t, "events", "Events", items)
	v.dir = filepath.Join(v.root, "events")
	v.cfg = srv.WriteVdirdConfig(t, "t", v.root)
	if out := v.run(0, "sync"); !strings.Contains(out, fmt.Sprintf("↓%d", n)) {
		t.Fatalf("first sync: %s", out)
	}
	return v
}

// run runs vdird with args and wants exit status code; it returns stdout.
func (v *vcli) run(code int, args ...string) string {
	v.t.Helper()
	got, out, errs := cli(v.t, append([]string{"--config", v.cfg, "--log-level", "error"}, args...)...)
	if got != code {
		v.t.Fatalf("vdird %s: exit %d, want %d\nout: %s\nerr: %s", strings.Join(args, " "), got, code, out, errs)
	}
	return out
}

func (v *vcli) file(name string) string { return filepath.Join(v.dir, name) }

func (v *vcli) read(name string) []byte {
	v.t.Helper()
	b, err := os.ReadFile(v.file(name))
	if err != nil {
		v.t.Fatal(err)
	}
	return b
}

// history is `vdird history --json ARGS`.
func (v *vcli) history(args ...string) []undo.HistoryEntry {
	v.t.Helper()
	var hs []undo.HistoryEntry
	if err := json.Unmarshal([]byte(v.run(0, append([]string{"history", "--json"}, args...)...)), &hs); err != nil {
		v.t.Fatal(err)
	}
	return hs
}

// serverUIDs lists the UIDs of the server's members, each once per member.
func (v *vcli) serverUIDs() []string {
	v.t.Helper()
	var uids []string
	for _, href := range v.srv.Members(v.t, v.cal) {
		b, _ := v.srv.Get(v.t, href)
		info, err := ics.Inspect(b)
		if err != nil {
			v.t.Fatalf("%s: %v", href, err)
		}
		uids = append(uids, info.UID)
	}
	slices.Sort(uids)
	return uids
}

func uidsUpTo(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("e%03d", i))
	}
	return out
}

func TestCLI_PhoneDeletes50_HistoryListsThem_RestoreSinceBringsThemBack_SameUIDsNoDuplicates(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		v := newVCLI(t, srv, 120)
		before := map[string][]byte{}
		for i := range 50 {
			name := fmt.Sprintf("e%03d.ics", i)
			before[name] = v.read(name)
			srv.Delete(t, v.cal+name)
		}
		if out := v.run(0, "sync"); !strings.Contains(out, "✗50") {
			t.Fatalf("sync after the phone deleted 50: %s", out)
		}
		if _, err := os.Stat(v.file("e000.ics")); !os.IsNotExist(err) {
			t.Fatal("e000.ics still in the folder")
		}
		text := v.run(0, "history", "events")
		if n := strings.Count(text, "deleted on server"); n != 50 || !strings.Contains(text, "Event e049") {
			t.Fatalf("history lists %d deletions:\n%s", n, text)
		}
		hs := v.history("events")
		if len(hs) != 50 || hs[0].Reason != "deleted-on-server" || hs[0].Side != "local" || hs[0].Pass == "" {
			t.Fatalf("history --json: %d entries, first %+v", len(hs), hs[0])
		}

		out := v.run(0, "restore", "events", "--since", "10m")
		if !strings.Contains(out, "50 restored, 0 unchanged, 0 need --force, 0 failed") || !strings.Contains(out, "vdird sync") {
			t.Fatalf("restore: %s", out)
		}
		for name, b := range before {
			if !bytes.Equal(v.read(name), b) {
				t.Fatalf("%s restored as %q, want %q", name, v.read(name), b)
			}
		}
		if out := v.run(0, "sync"); !strings.Contains(out, "↑50") {
			t.Fatalf("sync after the restore: %s", out)
		}
		if got := v.serverUIDs(); !slices.Equal(got, uidsUpTo(120)) {
			t.Fatalf("server holds %d items after the restore: %v", len(got), got)
		}
		if out := v.run(0, "sync"); !strings.Contains(out, "unchanged") && !strings.Contains(out, "↓0 ↑0 ✗0 ⚠0") {
			t.Fatalf("a third sync changed something: %s", out)
		}
	})
}

func TestCLI_ConfirmedLocalMassDelete_RestoreSinceBringsThemBackToTheServer(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		v := newVCLI(t, srv, 20)
		onServer := map[string][]byte{}
		for i := range 15 {
			name := fmt.Sprintf("e%03d.ics", i)
			onServer[name], _ = srv.Get(t, v.cal+name)
			if err := os.Remove(v.file(name)); err != nil {
				t.Fatal(err)
			}
		}
		if out := v.run(1, "sync"); !strings.Contains(out, "REFUSED") {
			t.Fatalf("15 of 20 deleted and not refused: %s", out)
		}
		if out := v.run(0, "sync", "--allow-mass-delete"); !strings.Contains(out, "✗15") {
			t.Fatalf("confirmed: %s", out)
		}
		if n := len(srv.Members(t, v.cal)); n != 5 {
			t.Fatalf("server holds %d items after the confirmed delete", n)
		}
		if text := v.run(0, "history"); strings.Count(text, "removed by mass-delete confirm") != 15 {
			t.Fatalf("history:\n%s", text)
		}
		if out := v.run(0, "restore", "events", "--since", "10m"); !strings.Contains(out, "15 restored") {
			t.Fatalf("restore: %s", out)
		}
		for name, b := range onServer {
			if !bytes.Equal(v.read(name), b) {
				t.Fatalf("%s restored as %q, want the server's bytes %q", name, v.read(name), b)
			}
		}
		if out := v.run(0, "sync"); !strings.Contains(out, "↑15") {
			t.Fatalf("sync after the restore: %s", out)
		}
		if got := v.serverUIDs(); !slices.Equal(got, uidsUpTo(20)) {
			t.Fatalf("server holds %v", got)
		}
	})
}

func TestCLI_ServerEditOverwroteTheFile_RestoreFileBringsTheOldVersionBackToBothSides(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		v := newVCLI(t, srv, 3)
		old := v.read("e001.ics")
		srv.Put(t, v.cal+"e001.ics", []byte(fmt.Sprintf(ev, "e001", "Phone edit")))
		v.run(0, "sync")
		if !bytes.Contains(v.read("e001.ics"), []byte("Phone edit")) {
			t.Fatal("the phone's edit did not come down")
		}
		if hs := v.history(v.file("e001.ics")); len(hs) != 1 || hs[0].What != "overwritten by server change" || hs[0].Path != v.file("e001.ics") {
			t.Fatalf("history of the file: %+v", hs)
		}
		out := v.run(0, "restore", v.file("e001.ics"))
		if !strings.Contains(out, "1 restored") || !bytes.Equal(v.read("e001.ics"), old) {
			t.Fatalf("restore: %s\nfile: %s", out, v.read("e001.ics"))
		}
		if out := v.run(0, "sync"); !strings.Contains(out, "↑1") {
			t.Fatalf("sync after the restore: %s", out)
		}
		if got, _ := srv.Get(t, v.cal+"e001.ics"); !ics.Equivalent(got, old) {
			t.Fatalf("server holds %s, want the old version", got)
		}
		// The phone's version, which the restore replaced, is kept too.
		if hs := v.history("--uid", "e001"); len(hs) != 3 || hs[0].Reason != "overwritten-by-local" {
			t.Fatalf("history after the restore: %+v", hs)
		}
	})
}

func TestCLI_LocalEditOverwroteTheServer_TheServersOldBytesComeBackVerbatim_ANewerEditNeedsForce(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		v := newVCLI(t, srv, 3)
		orig, _ := srv.Get(t, v.cal+"e002.ics")
		if err := os.WriteFile(v.file("e002.ics"), []byte(fmt.Sprintf(ev, "e002", "Laptop edit")), 0o600); err != nil {
			t.Fatal(err)
		}
		v.run(0, "sync")
		hs := v.history("events", "e002.ics")
		if len(hs) != 1 || hs[0].Side != "server" || hs[0].What != "overwritten by local edit" {
			t.Fatalf("history: %+v", hs)
		}
		v.run(0, "restore", v.file("e002.ics"))
		if !bytes.Equal(v.read("e002.ics"), orig) {
			t.Fatalf("restored %q, want the server's old bytes %q", v.read("e002.ics"), orig)
		}
		v.run(0, "sync")
		if got, _ := srv.Get(t, v.cal+"e002.ics"); !ics.Equivalent(got, orig) {
			t.Fatalf("server holds %s, want %s", got, orig)
		}

		// An edit not synced yet is not replaced without --force.
		edit := []byte(fmt.Sprintf(ev, "e002", "Unsynced edit"))
		if err := os.WriteFile(v.file("e002.ics"), edit, 0o600); err != nil {
			t.Fatal(err)
		}
		at := hs[0].Time.Format(time.RFC3339Nano)
		if out := v.run(1, "restore", v.file("e002.ics"), "--at", at); !strings.Contains(out, "has changes not synced yet") {
			t.Fatalf("restore over an unsynced edit: %s", out)
		}
		if !bytes.Equal(v.read("e002.ics"), edit) {
			t.Fatal("the unsynced edit was replaced without --force")
		}
		v.run(0, "restore", v.file("e002.ics"), "--at", at, "--force")
		if !bytes.Equal(v.read("e002.ics"), orig) {
			t.Fatalf("forced restore wrote %q", v.read("e002.ics"))
		}
		kept := v.history("--uid", "e002")
		if kept[0].Reason != "overwritten-by-restore" {
			t.Fatalf("the replaced edit was not kept: %+v", kept[0])
		}
		if out := v.run(0, "restore", "--pass", kept[0].Pass); !strings.Contains(out, "1 restored") || !bytes.Equal(v.read("e002.ics"), edit) {
			t.Fatalf("undoing the restore: %s\nfile: %s", out, v.read("e002.ics"))
		}
	})
}

func TestCLI_RestoreAnItemWhoseUIDLivesInAnotherFileNow_GoesIntoThatFile(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	v := newVCLI(t, srv, 3)
	srv.Delete(t, v.cal+"e000.ics")
	v.run(0, "sync")
	// Made again under another name, with the same UID.
	again := []byte(fmt.Sprintf(ev, "e000", "Made again"))
	if err := os.WriteFile(v.file("again.ics"), again, 0o600); err != nil {
		t.Fatal(err)
	}
	v.run(0, "sync")
	if out := v.run(1, "restore", v.file("e000.ics")); !strings.Contains(out, "holds the item again since it was deleted") ||
		!strings.Contains(out, "again.ics") {
		t.Fatalf("restore: %s", out)
	}
	out := v.run(0, "restore", v.file("e000.ics"), "--force", "--sync")
	if !strings.Contains(out, "↑1") || !strings.Contains(string(v.read("again.ics")), "Event e000") {
		t.Fatalf("forced restore: %s\nagain.ics: %s", out, v.read("again.ics"))
	}
	if _, err := os.Stat(v.file("e000.ics")); !os.IsNotExist(err) {
		t.Fatal("e000.ics written: the item is in two files")
	}
	if got := v.serverUIDs(); !slices.Equal(got, uidsUpTo(3)) {
		t.Fatalf("server holds %v", got)
	}
}

func TestCLI_StatusShowsTheVersionsKept(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	v := newVCLI(t, srv, 3)
	if out := v.run(0, "status"); !strings.Contains(out, "versions kept: none") {
		t.Fatalf("status: %s", out)
	}
	srv.Delete(t, v.cal+"e000.ics")
	v.run(0, "sync")
	if out := v.run(0, "status"); !strings.Contains(out, "versions kept: 1 (") || !strings.Contains(out, "the oldest from") {
		t.Fatalf("status: %s", out)
	}
	var rows []undo.StatusRow
	if err := json.Unmarshal([]byte(v.run(0, "status", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Versions == nil || rows[0].Versions.Count != 1 || rows[0].Versions.Bytes != int64(len(fmt.Sprintf(ev, "e000", "Event e000"))) {
		t.Fatalf("status --json: %+v", rows)
	}
}

func TestCLI_RestoreUsageErrors(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	v := newVCLI(t, srv, 1)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"restore"}, "restore what"},
		{[]string{"restore", "events"}, "add --since WHEN"},
		{[]string{"restore", "events", "--since", "1h", "--at", "1h"}, "--at picks one item"},
		{[]string{"restore", "--since", "yesterday"}, `time "yesterday"`},
	} {
		code, _, errs := cli(t, append([]string{"--config", v.cfg}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errs)
		}
	}
	if code, _, errs := cli(t, "--config", v.cfg, "restore", "events", "--since", "1h"); code != 1 || !strings.Contains(errs, "no kept version matches") {
		t.Errorf("nothing to restore: exit %d, stderr %q", code, errs)
	}
}
