package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/davtest"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// cli runs the command in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return code, out.String(), errb.String()
}

const ev = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestCLI_SyncDryRunChangesNothingThenSyncs(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	cal := srv.MakeCalendar(t, "work", "Work", "VEVENT")
	srv.Put(t, cal+"a.ics", []byte(fmt.Sprintf(ev, "a", "A")))
	root := filepath.Join(t.TempDir(), "cals")
	cfg := srv.WriteVdirdConfig(t, "t", root)

	code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync", "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run") || !strings.Contains(out, "download") {
		t.Fatalf("dry run: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("dry run created %s", root)
	}
	code, out, errs = cli(t, "--config", cfg, "--log-level", "error", "sync")
	if code != 0 || !strings.Contains(out, "↓1") {
		t.Fatalf("sync: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(root, "work", "a.ics")); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "--config", cfg, "--log-level", "error", "sync")
	if code != 0 || !strings.Contains(out, "unchanged") {
		t.Fatalf("second sync: code %d out %s", code, out)
	}
}

func TestCLI_FailedCalendarExitsNonZero(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "work", "Work", "VEVENT")
	// Wrong password: one clear message naming the URL, exit 1, password not shown.
	c := srv.VdirdConfig(t.TempDir(), "t", filepath.Join(t.TempDir(), "cals"))
	c.Password = "wrong-password-xyz"
	cfg := c.MustWrite(t)
	data, _ := os.ReadFile(cfg)
	code, out, errs := cli(t, "--config", cfg, "sync")
	if code != 1 || !strings.Contains(out+errs, "401") || !strings.Contains(out+errs, srv.URL) {
		t.Fatalf("code %d\nout: %s\nerr: %s\nconfig: %s", code, out, errs, data)
	}
	if strings.Contains(out+errs, "wrong-password-xyz") {
		t.Fatal("password in output")
	}
}

func TestCLI_BadConfigNamesFileAndLine(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(cfg, []byte("[[account]]\nurl = \"https://x/\"\ncolour = \"red\"\n"), 0o600)
	code, _, errs := cli(t, "--config", cfg, "sync")
	if code != 2 || !strings.Contains(errs, cfg+":3:") || !strings.Contains(errs, "colour") {
		t.Fatalf("code %d err %q", code, errs)
	}
	code, _, errs = cli(t, "--config", filepath.Join(t.TempDir(), "missing.toml"), "sync")
	if code != 2 || !strings.Contains(errs, "config.example.toml") {
		t.Fatalf("missing config: code %d err %q", code, errs)
	}
}

func TestCLI_HelpGoesToStdoutAndExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "sync"}, {"sync", "--help"}, {"sync", "-h"},
		{"discover", "--help"}, {"daemon", "--help"}, {"status", "--help"}, {"completion", "--help"}, {"help", "version"}} {
		code, out, errs := cli(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "Usage:\n  vdird") || !strings.Contains(out, "--config FILE") {
			t.Errorf("%v: code %d, stderr %q, stdout %q", args, code, errs, out)
		}
	}
}

func TestCLI_VersionFlagAndCommandPrintTheSame(t *testing.T) {
	code, flag, errs := cli(t, "--version")
	if code != 0 || errs != "" || !strings.HasPrefix(flag, "vdird ") || strings.Count(flag, "\n") != 1 {
		t.Fatalf("--version: code %d, stdout %q, stderr %q", code, flag, errs)
	}
	if code, cmd, _ := cli(t, "version"); code != 0 || cmd != flag {
		t.Fatalf("version: code %d, %q; --version printed %q", code, cmd, flag)
	}
}

func TestCLI_UsageErrors_ExitTwoWithMessageOnStderr(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"sync", "--frob"}, "unknown flag: --frob"},
		{[]string{"sync", "-dry-run"}, "-dry-run"},
		{[]string{"--log-level"}, "needs an argument"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"daemon", "extra"}, `unexpected argument "extra"`},
		{[]string{"completion", "tcsh"}, "bash, zsh, fish"},
		{[]string{"completion"}, "bash, zsh, fish"},
	}
	for _, c := range cases {
		code, out, errs := cli(t, c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) || !strings.Contains(errs, "--help' for usage") {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q on stderr", c.args, code, out, errs, c.want)
		}
	}
}

func TestCLI_DiscoverPrintsCalendars(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "work", "Work", "VEVENT")
	srv.MakeCalendar(t, "todo", "Todo", "VTODO")
	t.Setenv("VDIRD_PASSWORD", srv.Password)
	code, out, errs := cli(t, "discover", "--url", srv.URL, "--user", srv.User)
	if code != 0 || !strings.Contains(out, "/alice/work/") || !strings.Contains(out, "VTODO") || !strings.Contains(out, "read-write") {
		t.Fatalf("code %d\nout: %s\nerr: %s", code, out, errs)
	}
	if strings.Contains(out+errs, srv.Password) {
		t.Fatal("password printed")
	}
}

func TestCLI_SyncUnknownCalendarName_ExitsTwoListingCalendarsAndSyncsNothing(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "events", "Events", "VEVENT")
	srv.MakeCalendar(t, "tasks", "Tasks", "VTODO")
	root := filepath.Join(t.TempDir(), "cals")
	cfg := srv.WriteVdirdConfig(t, "t", root)

	code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync", "nosuch")
	want := `vdird: no calendar named "nosuch"; calendars: events (Events), tasks (Tasks)` + "\n"
	if code != 2 || errs != want || out != "" {
		t.Fatalf("sync nosuch: code %d\nout: %q\nerr: %q\nwant code 2 and err %q", code, out, errs, want)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("sync nosuch synced something: %v", err)
	}
	code, out, errs = cli(t, "--config", cfg, "--log-level", "error", "sync", "tasks")
	if code != 0 || !strings.Contains(out, "t/tasks") || strings.Contains(out, "t/events") {
		t.Fatalf("sync tasks: code %d\nout: %s\nerr: %s", code, out, errs)
	}
}

func TestCLI_WrongPassword_StatusShowsFailingSinceAndAttempts_ExitsOneUntilFixed(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "work", "Work", "VEVENT")
	c := srv.VdirdConfig(t.TempDir(), "acct", filepath.Join(t.TempDir(), "cals"))
	c.Password = "wrong-password-xyz"
	cfg := c.MustWrite(t)
	for attempt := 1; attempt <= 2; attempt++ {
		if code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync"); code != 1 {
			t.Fatalf("sync with a wrong password: code %d\nout: %s\nerr: %s", code, out, errs)
		}
		code, out, errs := cli(t, "--config", cfg, "status")
		want := fmt.Sprintf(" ago, %d attempt", attempt)
		if code != 1 || !strings.Contains(out, "acct ") || !strings.Contains(out, "failing since ") || !strings.Contains(out, want) ||
			!strings.Contains(out, "401 Unauthorized") || !strings.Contains(out, srv.URL) {
			t.Fatalf("status after attempt %d: code %d, want 1 and %q\nout: %s\nerr: %s", attempt, code, want, out, errs)
		}
	}
	code, out, _ := cli(t, "--config", cfg, "status", "--json")
	if code != 1 || !strings.Contains(out, `"calendar": "*"`) || !strings.Contains(out, `"failing_since": "`) || !strings.Contains(out, `"attempts": 2`) {
		t.Fatalf("status --json: code %d\n%s", code, out)
	}

	c.Password = srv.Password
	c.MustWrite(t)
	if code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync"); code != 0 {
		t.Fatalf("sync with the right password: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	code, out, errs := cli(t, "--config", cfg, "status")
	if code != 0 || strings.Contains(out, "failing") || !strings.Contains(out, "acct/work") {
		t.Fatalf("status after recovery: code %d\nout: %s\nerr: %s", code, out, errs)
	}
}

func TestCLI_ServerThatNeverAnswers_SyncFailsWithinResponseTimeout_StatusShowsIt(t *testing.T) {
	url := "http://" + davtest.Silent(t) + "/"
	c := testserver.VdirdConfig{Dir: t.TempDir(), Name: "mute", URL: url, User: "alice", Password: "pw",
		LocalRoot: filepath.Join(t.TempDir(), "cals"), AccountSettings: []string{`response_timeout = "1s"`}}
	cfg := c.MustWrite(t)
	start := time.Now()
	code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync")
	took := time.Since(start)
	if code != 1 || took > 5*time.Second || !strings.Contains(out+errs, "account mute") || !strings.Contains(out+errs, url) ||
		!strings.Contains(out+errs, "no answer within 1s (response timeout)") {
		t.Fatalf("sync against a server that never answers: code %d after %v\nout: %s\nerr: %s", code, took, out, errs)
	}
	code, out, errs = cli(t, "--config", cfg, "status")
	if code != 1 || !strings.Contains(out, "failing since ") || !strings.Contains(out, "1 attempt)") ||
		!strings.Contains(out, "no answer within 1s (response timeout)") {
		t.Fatalf("status: code %d\nout: %s\nerr: %s", code, out, errs)
	}
}

func TestCLI_ServerStallsMidAnswer_SyncFailsWithinResponseTimeout(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "work", "Work", "VEVENT")
	px, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	// Headers and the first bytes of every listing, then nothing.
	px.Add(faultproxy.Rule{Method: "PROPFIND", Action: faultproxy.StallBody(40)})
	c := srv.VdirdConfig(t.TempDir(), "acct", filepath.Join(t.TempDir(), "cals"))
	c.URL = px.URL
	c.AccountSettings = []string{`response_timeout = "1s"`}
	cfg := c.MustWrite(t)
	start := time.Now()
	code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync")
	took := time.Since(start)
	if code != 1 || took > 5*time.Second || !strings.Contains(out+errs, "account acct") ||
		!strings.Contains(out+errs, "nothing more for 1s in the middle of its answer (response timeout)") {
		t.Fatalf("sync against a server that stalls mid-answer: code %d after %v\nout: %s\nerr: %s", code, took, out, errs)
	}
}

// TestCLI_WrongPassword_SyncOfNamedCalendarsRefusedOnce: `vdird sync work`
// lists the account to check the name and then syncs it; with a wrong
// password the server answers 401 once, as for `vdird sync`, so a server
// that locks an account after a few failed logins is not pushed there.
func TestCLI_WrongPassword_SyncOfNamedCalendarsRefusedOnce(t *testing.T) {
	srv := testserver.Start(t, testserver.Radicale)
	srv.MakeCalendar(t, "work", "Work", "VEVENT")
	proxy, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	c := srv.VdirdConfig(t.TempDir(), "acct", filepath.Join(t.TempDir(), "cals"))
	c.URL, c.Password = proxy.URL, "wrong-password-xyz"
	cfg := c.MustWrite(t)
	for _, args := range [][]string{{"sync"}, {"sync", "work"}, {"sync", "work", "Work"}} {
		proxy.Take()
		code, out, errs := cli(t, append([]string{"--config", cfg, "--log-level", "error"}, args...)...)
		var refused []string
		for _, r := range proxy.Take() {
			if r.Status == http.StatusUnauthorized {
				refused = append(refused, r.Method+" "+r.Path)
			}
		}
		if code != 1 || len(refused) != 1 || !strings.Contains(out+errs, "401") {
			t.Errorf("vdird %s: code %d, refused %v, want 1 and one 401\nout: %s\nerr: %s", strings.Join(args, " "), code, refused, out, errs)
		}
	}
}
