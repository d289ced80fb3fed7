package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

func mergeTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "engine", "merge", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// summaryProp is the SUMMARY line of an item, unfolded.
func summaryProp(data []byte) string {
	for l := range strings.Lines(strings.ReplaceAll(string(data), "\r\n ", "")) {
		if strings.HasPrefix(l, "SUMMARY:") {
			return strings.TrimRight(l, "\r\n")
		}
	}
	return ""
}

// TestCLI_SamePropertyEditedOnBothSides_ServerWinsLocalKept_ConflictsListsIt_ResolveKeepLocalUploadsIt:
// khal retitles an event and the phone retitles it too. `vdird sync` gives
// the file the server's title (server-wins) and keeps the local version as
// a conflict copy; `vdird conflicts` lists it under SUMMARY and `show`
// gives both titles; `resolve --keep local` puts the local title back into
// the file and removes the copy, while another process holds the state
// file as a running daemon does; the next `vdird sync` uploads it.
func TestCLI_SamePropertyEditedOnBothSides_ServerWinsLocalKept_ConflictsListsIt_ResolveKeepLocalUploadsIt(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		cal := srv.MakeCalendar(t, "work", "Work", "VEVENT")
		root := filepath.Join(t.TempDir(), "cals")
		cfg := srv.WriteVdirdConfig(t, "t", root)
		run := func(args ...string) (int, string) {
			t.Helper()
			code, out, errs := cli(t, append([]string{"--config", cfg, "--log-level", "error"}, args...)...)
			if errs != "" {
				t.Logf("vdird %s: stderr %s", strings.Join(args, " "), errs)
			}
			return code, out
		}
		srv.Put(t, cal+"plan.ics", mergeTestdata(t, "event-base.ics"))
		if code, out := run("sync"); code != 0 {
			t.Fatalf("first sync: %d %s", code, out)
		}
		file := filepath.Join(root, "work", "plan.ics")
		local := mergeTestdata(t, "event-khal-summary.ics")
		if err := os.WriteFile(file, local, 0o600); err != nil {
			t.Fatal(err)
		}
		srv.Put(t, cal+"plan.ics", mergeTestdata(t, "event-radicale-summary.ics"))

		if code, out := run("sync"); code != 0 || !strings.Contains(out, "⚠1") || !strings.Contains(out, "merged 1") {
			t.Fatalf("sync of the conflict: %d %s", code, out)
		}
		got, _ := os.ReadFile(file)
		if summaryProp(got) != "SUMMARY:Team planning (all hands)" {
			t.Errorf("server-wins: the file has %q", summaryProp(got))
		}
		copies, _ := filepath.Glob(file + ".conflict-*")
		if len(copies) != 1 {
			t.Fatalf("conflict copies: %v", copies)
		}
		if kept, _ := os.ReadFile(copies[0]); !bytes.Equal(kept, local) {
			t.Errorf("the copy does not hold the local version")
		}
		if code, _ := run("status"); code != 1 {
			t.Errorf("status with a conflict waiting exits %d, want 1", code)
		}

		// A daemon holds the state file; the conflicts commands do not need it.
		store, err := state.Open(filepath.Join(filepath.Dir(cfg), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		code, out := run("conflicts")
		if code != 0 || !strings.Contains(out, "t/work") || !strings.Contains(out, "plan.ics") || !strings.Contains(out, "SUMMARY") ||
			!strings.Contains(out, "Team planning (all hands)") || strings.Contains(out, "LOCATION") {
			t.Errorf("vdird conflicts: %d\n%s", code, out)
		}
		var listed []struct {
			Calendar, File, Copied string
			Merged                 bool
			Properties             []string
		}
		if _, out := run("conflicts", "--json"); json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 1 ||
			listed[0].File != "plan.ics" || listed[0].Copied != "local" || !listed[0].Merged || !slices.Equal(listed[0].Properties, []string{"SUMMARY"}) {
			t.Errorf("vdird conflicts --json: %s", out)
		}
		if code, out := run("conflicts", "show", "work/plan.ics"); code != 0 || !strings.Contains(out, "server:  Team planning (all hands)") ||
			!strings.Contains(out, "local:   Team planning (moved to Q1 review)") || !strings.Contains(out, "was:     Team planning") {
			t.Errorf("vdird conflicts show: %d\n%s", code, out)
		}
		if code, out := run("conflicts", "resolve", file, "--keep", "local"); code != 0 || !strings.Contains(out, "uploads it") {
			t.Fatalf("vdird conflicts resolve: %d\n%s", code, out)
		}
		store.Close()
		if left, _ := filepath.Glob(file + ".conflict-*"); len(left) != 0 {
			t.Errorf("copy left: %v", left)
		}
		got, _ = os.ReadFile(file)
		if summaryProp(got) != "SUMMARY:Team planning (moved to Q1 review)" {
			t.Errorf("keep local: the file has %q", summaryProp(got))
		}

		if code, out := run("sync"); code != 0 || !strings.Contains(out, "↑1") {
			t.Fatalf("sync after resolve: %d %s", code, out)
		}
		onServer, _ := srv.Get(t, cal+"plan.ics")
		if summaryProp(onServer) != "SUMMARY:Team planning (moved to Q1 review)" {
			t.Errorf("the server holds %q", summaryProp(onServer))
		}
		if code, out := run("conflicts"); code != 0 || strings.TrimSpace(out) != "no conflicts" {
			t.Errorf("conflicts after resolve: %d %s", code, out)
		}
		if code, _ := run("status"); code != 0 {
			t.Errorf("status after resolve exits %d", code)
		}
	})
}

func TestCLI_ConflictsResolve_UsageErrors(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	root := filepath.Join(t.TempDir(), "cals")
	if err := os.MkdirAll(filepath.Join(root, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "work", "a.ics"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := srv.WriteVdirdConfig(t, "t", root)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"conflicts", "resolve", "work/a.ics"}, 2, `required flag(s) "keep" not set`},
		{[]string{"conflicts", "resolve", "work/a.ics", "--keep", "mine"}, 2, "want local, server or both"},
		{[]string{"conflicts", "resolve", "work/a.ics", "--keep", "local"}, 1, "no conflict copy"},
		{[]string{"conflicts", "show", "/etc/passwd"}, 1, "not in a calendar or address book folder"},
	} {
		code, _, errs := cli(t, append([]string{"--config", cfg}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("vdird %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), code, errs, c.code, c.msg)
		}
	}
}
