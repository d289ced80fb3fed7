package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
)

// importHome makes a home directory for the test, with the XDG folders
// inside it, so that vdirsyncer and vdird use their default paths there.
func importHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	t.Setenv("VDIRSYNCER_CONFIG", "") // restored after the test
	os.Unsetenv("VDIRSYNCER_CONFIG")
	return home
}

// writeFile writes data at path, making its folder.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// vdirsyncerConfig is what a vdirsyncer user has: every calendar of the
// server (a) in ~/.calendars (b), the password from a command.
const vdirsyncerConfig = `[general]
status_path = "~/.vdirsyncer/status/"

[pair dav]
a = "dav_server"
b = "dav_local"
collections = ["from a", "from b"]
conflict_resolution = "a wins"
metadata = ["color", "displayname"]

[storage dav_server]
type = "caldav"
url = "%s"
username = "%s"
password.fetch = ["command", "cat", "~/.dav-password"]

[storage dav_local]
type = "filesystem"
path = "~/.calendars/"
fileext = ".ics"
`

// fixtureItems are the server items of the engine's vdirsyncer fixture
// (a recurring event with exceptions and a time zone, alarms, long folded
// lines, an all-day event, a task), by calendar and file name.
func fixtureItems(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	for _, cal := range []string{"events", "tasks"} {
		dir := filepath.Join("..", "..", "engine", "testdata", "vdirsyncer", "server", cal)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out[cal] = map[string][]byte{}
		for _, en := range ents {
			b, err := os.ReadFile(filepath.Join(dir, en.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[cal][en.Name()] = b
		}
	}
	return out
}

const task = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:%s\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"

// itemFile is an item file as found in a folder.
type itemFile struct {
	data  []byte
	ino   uint64
	mtime time.Time
}

// folderItems lists the .ics files under root by "calendar/name".
func folderItems(t *testing.T, root string) map[string]itemFile {
	t.Helper()
	return folderFiles(t, root, ".ics")
}

// folderFiles lists the files of extension ext under root by
// "collection/name".
func folderFiles(t *testing.T, root, ext string) map[string]itemFile {
	t.Helper()
	out := map[string]itemFile{}
	paths, err := filepath.Glob(filepath.Join(root, "*", "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = itemFile{b, fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime()}
	}
	return out
}

// uids lists the UIDs of files, sorted, with a repeated one twice.
func uids(t *testing.T, files map[string]itemFile) []string {
	t.Helper()
	var out []string
	for name, f := range files {
		info, err := ics.Inspect(f.data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, filepath.Dir(name)+"/"+info.UID)
	}
	slices.Sort(out)
	return out
}

var summaryLine = regexp.MustCompile(`(?m)^dav/(\S+)\s+(unchanged|↓\d+ ↑\d+ ✗\d+ ⚠\d+)`)

// summaries maps each collection of account dav in a sync's output to its
// summary.
func summaries(out string) map[string]string {
	m := map[string]string{}
	for _, s := range summaryLine.FindAllStringSubmatch(out, -1) {
		m[s[1]] = s[2]
	}
	return m
}

// TestImportVdirsyncer_FirstSyncOfItsFoldersWritesNothingThenEditsFlowBothWays
// is the move from vdirsyncer: real vdirsyncer syncs a Radicale into
// ~/.calendars with the config in its default place; vdird import
// vdirsyncer --write makes vdird's; the first vdird sync then records every
// item, writing no file and sending no PUT or DELETE, and leaves one copy of
// each UID on both sides; later edits flow both ways. Every request goes
// through a proxy that counts them.
func TestImportVdirsyncer_FirstSyncOfItsFoldersWritesNothingThenEditsFlowBothWays(t *testing.T) {
	testserver.Need(t, "vdirsyncer")
	srv := testserver.Start(t, testserver.Radicale)
	cals := map[string]string{"events": srv.MakeCalendar(t, "events", "Events", "VEVENT"), "tasks": srv.MakeCalendar(t, "tasks", "Tasks", "VTODO")}
	for cal, items := range fixtureItems(t) {
		for name, data := range items {
			srv.Put(t, cals[cal]+name, data)
		}
	}
	for i := range 20 {
		srv.Put(t, cals["events"]+fmt.Sprintf("ev-%d.ics", i), fmt.Appendf(nil, ev, fmt.Sprintf("ev-%d", i), fmt.Sprintf("Event %d", i)))
	}
	for i := range 5 {
		srv.Put(t, cals["tasks"]+fmt.Sprintf("task-%d.ics", i), fmt.Appendf(nil, task, fmt.Sprintf("task-%d", i), fmt.Sprintf("Task %d", i)))
	}
	home, proxy := vdirsyncerSynced(t, srv, vdirsyncerConfig)
	root := filepath.Join(home, ".calendars")
	before := folderItems(t, root)
	if len(before) != 30 {
		t.Fatalf("vdirsyncer wrote %d items, want 30", len(before))
	}
	members := map[string][]string{}
	for cal, href := range cals {
		members[cal] = srv.Members(t, href)
	}

	code, out, errs := cli(t, "import", "vdirsyncer", "--write")
	cfgPath := filepath.Join(home, ".config", "vdird", "config.toml")
	if code != 0 || out != "" || !strings.Contains(errs, "wrote "+cfgPath) || strings.Contains(errs, "not converted") {
		t.Fatalf("import: code %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Accounts[0]; len(cfg.Accounts) != 1 || a.LocalRoot != root || a.URL != proxy.URL || a.ConflictPolicy != "server-wins" ||
		a.PasswordCommand != "cat "+filepath.Join(home, ".dav-password") {
		t.Fatalf("imported config: %+v", cfg.Accounts)
	}

	proxy.Take()
	code, out, errs = cli(t, "--log-level", "error", "sync")
	reqs := proxy.Take()
	sums := summaries(out)
	if code != 0 || sums["events"] != "↓0 ↑0 ✗0 ⚠0" || sums["tasks"] != "↓0 ↑0 ✗0 ⚠0" {
		t.Fatalf("first sync: code %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	var listings int
	for _, r := range reqs {
		switch r.Method {
		case "PROPFIND", "REPORT":
			listings++
		default:
			t.Errorf("first sync sent %s %s", r.Method, r.Path)
		}
	}
	// Discovery, the calendar list, and the listing of each calendar with
	// its data, which the planner compares with the files.
	t.Logf("first sync: %d PROPFIND and REPORT requests, nothing else", listings)
	after := folderItems(t, root)
	for name, b := range before {
		a, ok := after[name]
		if !ok || !bytes.Equal(a.data, b.data) || a.ino != b.ino || !a.mtime.Equal(b.mtime) {
			t.Errorf("%s was written by the first sync (or is gone)", name)
		}
	}
	if got, want := uids(t, after), uids(t, before); len(after) != len(before) || !slices.Equal(got, want) {
		t.Errorf("items after the first sync: %v, want %v", got, want)
	}
	for cal, href := range cals {
		if got := srv.Members(t, href); !slices.Equal(got, members[cal]) {
			t.Errorf("%s on the server: %v, want %v", cal, got, members[cal])
		}
	}

	code, out, _ = cli(t, "--log-level", "error", "sync")
	if sums := summaries(out); code != 0 || sums["events"] != "unchanged" || sums["tasks"] != "unchanged" {
		t.Fatalf("second sync: code %d\n%s", code, out)
	}

	// A file edited locally reaches the server; a change on the server
	// reaches the file.
	edited := bytes.Replace(before["events/ev-3.ics"].data, []byte("SUMMARY:Event 3"), []byte("SUMMARY:Event 3 moved"), 1)
	writeFile(t, filepath.Join(root, "events", "ev-3.ics"), string(edited))
	srv.Put(t, cals["tasks"]+"task-1.ics", fmt.Appendf(nil, task, "task-1", "Task 1 done"))
	code, out, errs = cli(t, "--log-level", "error", "sync")
	if sums := summaries(out); code != 0 || sums["events"] != "↓0 ↑1 ✗0 ⚠0" || sums["tasks"] != "↓1 ↑0 ✗0 ⚠0" {
		t.Fatalf("sync after edits: code %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if got, _ := srv.Get(t, cals["events"]+"ev-3.ics"); !bytes.Contains(got, []byte("SUMMARY:Event 3 moved")) {
		t.Errorf("the server holds after the local edit:\n%s", got)
	}
	if got, err := os.ReadFile(filepath.Join(root, "tasks", "task-1.ics")); err != nil || !bytes.Contains(got, []byte("SUMMARY:Task 1 done")) {
		t.Errorf("the file holds after the server's change (%v):\n%s", err, got)
	}
	if got := uids(t, folderItems(t, root)); !slices.Equal(got, uids(t, before)) {
		t.Errorf("items after the edits: %v", got)
	}
}

func TestImportVdirsyncer_PrintsTheConfigAndReportsWhatItLeavesOut(t *testing.T) {
	home := importHome(t)
	src := filepath.Join(home, "vdirsyncer.conf")
	dated := strings.Replace(vdirsyncerConfig, "password.fetch", "start_date = \"datetime.now() - timedelta(days=365)\"\nend_date = \"datetime(2030, 1, 1)\"\npassword.fetch", 1)
	writeFile(t, src, fmt.Sprintf(dated, "https://dav.example.org/", "alice")+
		"\n[pair holidays]\na = \"c\"\nb = \"d\"\ncollections = null\n[storage c]\ntype = \"http\"\nurl = \"https://example.org/holidays.ics\"\n[storage d]\ntype = \"filesystem\"\npath = \"~/c\"\nfileext = \".ics\"\n")
	code, out, errs := cli(t, "import", "vdirsyncer", src)
	if code != 0 {
		t.Fatalf("code %d\nstderr: %s", code, errs)
	}
	cfg, err := config.Parse("config.toml", []byte(out))
	if err != nil || len(cfg.Accounts) != 1 || cfg.Accounts[0].Name != "dav" || cfg.Accounts[0].Scope.Window != nil {
		t.Fatalf("stdout does not load as one account (%v):\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	want := []string{
		`vdird: [storage dav_server] end_date: not converted: "datetime(2030, 1, 1)": want datetime.now() plus or minus a timedelta of days, weeks or hours; set vdird's window by hand, like ["-365d", "+365d"]`,
		`vdird: [storage dav_server] start_date: not converted: "datetime.now() - timedelta(days=365)": it goes with end_date, which is not converted`,
		"vdird: [pair holidays]: not converted: [storage c] type: http: a read-only calendar feed is not converted; vdird syncs CalDAV calendars",
	}
	slices.Sort(lines)
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "vdird", "config.toml")); !os.IsNotExist(err) {
		t.Errorf("without --write a config was written (%v)", err)
	}
}

func TestImportVdirsyncer_WriteNeverReplacesAConfigWithoutForce(t *testing.T) {
	home := importHome(t)
	src := filepath.Join(home, "vdirsyncer.conf")
	writeFile(t, src, fmt.Sprintf(vdirsyncerConfig, "https://dav.example.org/", "alice"))
	target := filepath.Join(home, "vdird.toml")
	writeFile(t, target, "# mine\n")
	code, _, errs := cli(t, "--config", target, "import", "vdirsyncer", "--write", src)
	if got, _ := os.ReadFile(target); code != 1 || string(got) != "# mine\n" || !strings.Contains(errs, "--force") {
		t.Fatalf("code %d, stderr %q, file now %q", code, errs, got)
	}
	code, _, errs = cli(t, "--config", target, "import", "vdirsyncer", "--write", "--force", src)
	if code != 0 {
		t.Fatalf("--force: code %d\nstderr: %s", code, errs)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("written config: %v, mode %v", err, fi.Mode())
	}
	if cfg, err := config.Load(target); err != nil || cfg.Accounts[0].URL != "https://dav.example.org/" {
		t.Fatalf("written config does not load: %v", err)
	}
	if ents, _ := os.ReadDir(home); slices.ContainsFunc(ents, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), ".vdird.toml") }) {
		t.Error("a temporary file was left beside the config")
	}
}

func TestImportVdirsyncer_NothingConvertedOrUnreadable_Exit1(t *testing.T) {
	home := importHome(t)
	only := filepath.Join(home, "feed.conf")
	writeFile(t, only, "[general]\nstatus_path = \"x\"\n[pair c]\na = \"c\"\nb = \"d\"\ncollections = null\n[storage c]\ntype = \"http\"\nurl = \"https://h/x.ics\"\n[storage d]\ntype = \"filesystem\"\npath = \"/c\"\nfileext = \".ics\"\n")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{only}, 1, "nothing converted"},
		{[]string{"--write", only}, 1, "nothing converted"},
		{[]string{filepath.Join(home, "missing")}, 1, "no such file"},
		{nil, 1, filepath.Join(home, ".config", "vdirsyncer", "config")},
		{[]string{"--force", only}, 2, "--force goes with --write"},
		{[]string{only, only}, 2, "accepts at most 1 arg"},
	} {
		code, out, errs := cli(t, append([]string{"import", "vdirsyncer"}, tc.args...)...)
		if code != tc.code || out != "" || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errs, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "vdird")); !os.IsNotExist(err) {
		t.Errorf("a failed import made vdird's config folder (%v)", err)
	}
}

func TestImport_HelpLeadsToTheSourcesHelp(t *testing.T) {
	code, out, _ := cli(t, "import", "--help")
	if code != 0 || !strings.Contains(out, "Run 'vdird help import COMMAND'") {
		t.Fatalf("import --help: code %d\n%s", code, out)
	}
	code, out, _ = cli(t, "help", "import", "vdirsyncer")
	if code != 0 || !strings.HasPrefix(out, "Reads vdirsyncer's configuration") {
		t.Fatalf("help import vdirsyncer: code %d\n%s", code, out)
	}
	for _, args := range [][]string{{"import"}, {"import", "pimsync"}} {
		if code, _, errs := cli(t, args...); code != 2 || !strings.Contains(errs, "vdird import vdirsyncer") && !strings.Contains(errs, "imports from vdirsyncer") {
			t.Errorf("%v: code %d, stderr %q", args, code, errs)
		}
	}
}

// vdirsyncerSynced has the real vdirsyncer discover and sync srv through a
// counting proxy, with its config made of conf (the proxy's URL and the
// user filled in) in a scratch home, which it returns with the proxy.
func vdirsyncerSynced(t *testing.T, srv *testserver.Server, conf string) (string, *faultproxy.Proxy) {
	t.Helper()
	proxy, err := faultproxy.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	home := importHome(t)
	writeFile(t, filepath.Join(home, ".dav-password"), srv.Password+"\n")
	writeFile(t, filepath.Join(home, ".config", "vdirsyncer", "config"), fmt.Sprintf(conf, proxy.URL, srv.User))
	for _, cmd := range []string{"discover", "sync"} {
		c := exec.Command("vdirsyncer", cmd)
		c.Stdin = strings.NewReader(strings.Repeat("y\n", 10)) // discover asks before making each local folder
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("vdirsyncer %s: %v\n%s", cmd, err, out)
		}
	}
	return home, proxy
}
