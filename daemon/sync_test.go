package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// recorder is a RoundTripper that counts requests and keeps their
// precondition headers, so tests assert what reached the server.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, IfMatch, IfNoneMatch string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Get("If-Match"), req.Header.Get("If-None-Match")})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// env is one real server, one account with an events and a tasks calendar,
// and a local root.
type env struct {
	t      *testing.T
	srv    *testserver.Server
	root   string
	cfg    *Config
	rec    *recorder
	events string // calendar hrefs
	tasks  string
	hook   func(op, href string) error
	// afterToken runs after a fresh download read its first token;
	// afterBatch after each of its batches, batchItems long.
	afterToken func()
	afterBatch func(done int)
	batchItems int
	// quiet is how many calendars the last sync settled by the quick check;
	// scoped how many it planned from a delta alone.
	quiet, scoped int64
	// lookups is how many file names the last sync's folder scans looked up.
	lookups int64
}

func newEnv(t *testing.T, kind testserver.Kind) *env {
	t.Helper()
	srv := testserver.Start(t, kind)
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(srv.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, root: filepath.Join(dir, "calendars"), rec: &recorder{}}
	e.events = srv.MakeCalendar(t, "events", "Events", "VEVENT")
	e.tasks = srv.MakeCalendar(t, "tasks", "Tasks", "VTODO")
	e.cfg = &Config{
		StatePath:         filepath.Join(dir, "state", "state.db"),
		ConflictPolicy:    "server-wins",
		MaxDeleteFraction: 0.5,
		MaxDeleteMin:      5,
		Accounts: []Account{{Name: "test", URL: srv.URL, Username: srv.User, PasswordFile: pw,
			LocalRoot: e.root, ConflictPolicy: "server-wins", Calendars: []string{e.events, e.tasks}}},
	}
	return e
}

// sync runs one pass the way `vdird sync` does: a fresh engine and store.
func (e *env) sync(opts SyncOptions) []*Summary {
	e.t.Helper()
	store, err := state.Open(e.cfg.StatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	eng := NewEngine(e.cfg, store, zerolog.New(io.Discard))
	eng.HTTPClient = &http.Client{Transport: e.rec}
	eng.afterRemoteWrite = e.hook
	eng.afterFirstToken = e.afterToken
	eng.afterBatch, eng.freshBatchItems = e.afterBatch, e.batchItems
	sums := eng.Sync(context.Background(), opts)
	e.quiet, e.scoped, e.lookups = eng.quietPasses.Load(), eng.scopedPasses.Load(), eng.scanLookups.Load()
	return sums
}

// seedOnly seeds the calendar slug with n events, each under the file name
// and UID fmt.Sprintf(nameFmt, i) with the given summary, and makes it the
// only calendar synced. It returns its href.
func (e *env) seedOnly(slug string, n int, nameFmt, summary string) string {
	e.t.Helper()
	items := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf(nameFmt, i)
		items[uid+".ics"] = event(uid, summary)
	}
	cal := e.srv.SeedCalendar(e.t, slug, slug, items)
	e.cfg.Accounts[0].Calendars = []string{cal}
	return cal
}

// interruptedFirstSync runs a first sync in batches of batch items and
// cancels it, as SIGTERM does, once after items are recorded. It returns
// the pass's summary of the (first) calendar.
func (e *env) interruptedFirstSync(batch, after int) *Summary {
	e.t.Helper()
	store, err := state.Open(e.cfg.StatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng := NewEngine(e.cfg, store, zerolog.New(io.Discard))
	eng.freshBatchItems = batch
	eng.afterBatch = func(done int) {
		if done >= after {
			cancel()
		}
	}
	return eng.Sync(ctx, SyncOptions{})[0]
}

// syncOK runs a pass and fails the test on any failed calendar.
func (e *env) syncOK() map[string]*Summary {
	e.t.Helper()
	out := map[string]*Summary{}
	for _, s := range e.sync(SyncOptions{}) {
		if s.Failed() {
			e.t.Fatalf("%s/%s failed: err=%v refused=%q problems=%v", s.Account, s.Calendar, s.Err, s.Refused, s.Problems)
		}
		out[s.Href] = s
	}
	return out
}

func (e *env) file(cal, name string) string { return filepath.Join(e.root, calDir(cal), name) }

func calDir(href string) string { return filepath.Base(strings.TrimSuffix(href, "/")) }

func (e *env) readFile(cal, name string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(e.file(cal, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) writeFile(cal, name string, data []byte) {
	e.t.Helper()
	if err := os.WriteFile(e.file(cal, name), data, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// hasConflictCopy tells whether cal holds a conflict copy of name whose
// content contains want.
func (e *env) hasConflictCopy(cal, name, want string) bool {
	e.t.Helper()
	for _, n := range e.localNames(cal) {
		if strings.HasPrefix(n, name+".conflict-") && bytes.Contains(e.readFile(cal, n), []byte(want)) {
			return true
		}
	}
	return false
}

func (e *env) localNames(cal string) []string {
	e.t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.root, calDir(cal)))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	sort.Strings(out)
	return out
}

func event(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + summary +
		"\r\nX-VDIRD-TEST:a long property value that is folded because it is longer than seventy-five octets \r\n in total\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

func task(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VTODO\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:" + summary + "\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
}

func forEachServer(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, kind))
		})
	}
}

func TestSync_FreshSync_WritesServerBytesAndNoChangeCostsOneRequest(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.srv.Put(t, e.events+"a.ics", event("a", "Alpha"))
		e.srv.Put(t, e.events+"b.ics", event("b", "Beta"))
		e.srv.Put(t, e.tasks+"t.ics", task("t", "Do it"))

		sums := e.syncOK()
		if sums[e.events].Downloaded != 2 || sums[e.tasks].Downloaded != 1 {
			t.Fatalf("downloads: events %d tasks %d", sums[e.events].Downloaded, sums[e.tasks].Downloaded)
		}
		for _, f := range []struct{ cal, name string }{{e.events, "a.ics"}, {e.events, "b.ics"}, {e.tasks, "t.ics"}} {
			want, _ := e.srv.Get(t, f.cal+f.name)
			if got := e.readFile(f.cal, f.name); !bytes.Equal(got, want) {
				t.Errorf("%s: local bytes differ from the server's:\n%q\n%q", f.name, got, want)
			}
		}
		if dn, _ := os.ReadFile(filepath.Join(e.root, "events", "displayname")); strings.TrimSpace(string(dn)) != "Events" {
			t.Errorf("displayname file = %q", dn)
		}

		e.rec.take()
		sums = e.syncOK()
		reqs := e.rec.take()
		if len(reqs) != 1 {
			t.Fatalf("no-change sync made %d requests, want 1 (one listing of the calendar home): %+v", len(reqs), reqs)
		}
		if !sums[e.events].Unchanged || !sums[e.tasks].Unchanged {
			t.Fatalf("expected unchanged summaries: %+v %+v", sums[e.events], sums[e.tasks])
		}
	})
}

func TestSync_DecisionTableEndToEnd(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.srv.Put(t, e.events+"edit-local.ics", event("edit-local", "v1"))
		e.srv.Put(t, e.events+"edit-phone.ics", event("edit-phone", "v1"))
		e.srv.Put(t, e.events+"del-local.ics", event("del-local", "v1"))
		e.srv.Put(t, e.events+"del-phone.ics", event("del-phone", "v1"))
		e.srv.Put(t, e.events+"both.ics", event("both", "v1"))
		e.syncOK()
		_, etagBefore := e.srv.Get(t, e.events+"edit-local.ics")

		// local edit → PUT with If-Match of the known etag
		e.writeFile(e.events, "edit-local.ics", event("edit-local", "v2 local"))
		// phone edit → file updated
		e.srv.Put(t, e.events+"edit-phone.ics", event("edit-phone", "v2 phone"))
		// local delete → DELETE on the server
		os.Remove(e.file(e.events, "del-local.ics"))
		// phone delete → local file removed
		e.srv.Delete(t, e.events+"del-phone.ics")
		// both edited → server wins, local kept as a conflict copy
		e.writeFile(e.events, "both.ics", event("both", "v2 local"))
		e.srv.Put(t, e.events+"both.ics", event("both", "v2 phone"))
		// local new → created with If-None-Match: *
		e.writeFile(e.events, "new-local.ics", event("new-local", "made locally"))
		// phone new → new file
		e.srv.Put(t, e.events+"new-phone.ics", event("new-phone", "made on phone"))
		e.rec.take()

		s := e.syncOK()[e.events]
		reqs := e.rec.take()
		if s.Uploaded != 2 || s.Downloaded < 2 || s.DeletedLocal != 1 || s.DeletedRemote != 1 || s.Conflicts != 1 {
			t.Fatalf("summary %+v", s)
		}
		var sawIfMatch, sawIfNoneMatch, sawDelete bool
		for _, r := range reqs {
			switch {
			case r.Method == "PUT" && strings.HasSuffix(r.Path, "/edit-local.ics"):
				sawIfMatch = r.IfMatch == etagBefore
			case r.Method == "PUT" && strings.HasSuffix(r.Path, "/new-local.ics"):
				sawIfNoneMatch = r.IfNoneMatch == "*" && r.IfMatch == ""
			case r.Method == "DELETE":
				sawDelete = strings.HasSuffix(r.Path, "/del-local.ics") && r.IfMatch != ""
			}
			if (r.Method == "PUT" || r.Method == "DELETE") && r.IfMatch == "" && r.IfNoneMatch == "" {
				t.Errorf("%s %s without a precondition", r.Method, r.Path)
			}
		}
		if !sawIfMatch || !sawIfNoneMatch || !sawDelete {
			t.Fatalf("preconditions: If-Match %v, If-None-Match %v, DELETE If-Match %v; requests %+v", sawIfMatch, sawIfNoneMatch, sawDelete, reqs)
		}
		if got, _ := e.srv.Get(t, e.events+"edit-local.ics"); !bytes.Contains(got, []byte("v2 local")) {
			t.Errorf("server lacks the local edit: %q", got)
		}
		if !bytes.Contains(e.readFile(e.events, "edit-phone.ics"), []byte("v2 phone")) {
			t.Error("local file lacks the phone edit")
		}
		if got, _ := e.srv.Get(t, e.events+"del-local.ics"); got != nil {
			t.Error("local delete did not reach the server")
		}
		if _, err := os.Stat(e.file(e.events, "del-phone.ics")); !errors.Is(err, os.ErrNotExist) {
			t.Error("phone delete did not remove the file")
		}
		if got, _ := e.srv.Get(t, e.events+"new-local.ics"); !bytes.Contains(got, []byte("made locally")) {
			t.Errorf("local new file not on the server: %q", got)
		}
		if !bytes.Contains(e.readFile(e.events, "new-phone.ics"), []byte("made on phone")) {
			t.Error("phone's new item not downloaded")
		}
		if !bytes.Contains(e.readFile(e.events, "both.ics"), []byte("v2 phone")) {
			t.Error("server-wins: file should hold the phone's version")
		}
		var copies []string
		for _, n := range e.localNames(e.events) {
			if strings.HasPrefix(n, "both.ics.conflict-") {
				copies = append(copies, n)
			}
		}
		if len(copies) != 1 || !bytes.Contains(e.readFile(e.events, copies[0]), []byte("v2 local")) {
			t.Fatalf("conflict copy of the local version missing: %v", e.localNames(e.events))
		}

		// The server's new etag for the created item is recorded: nothing left to do.
		e.rec.take()
		s = e.syncOK()[e.events]
		if s.Uploaded+s.Downloaded+s.DeletedLocal+s.DeletedRemote+s.Conflicts != 0 {
			t.Fatalf("second pass not idle: %+v", s)
		}
		for _, r := range e.rec.take() {
			if r.Method == "PUT" || r.Method == "DELETE" {
				t.Fatalf("second pass wrote: %+v", r)
			}
		}
	})
}

func TestSync_LocalWinsPolicy_UploadsLocalAndKeepsServerCopy(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.cfg.Accounts[0].ConflictPolicy = "local-wins"
		e.srv.Put(t, e.events+"c.ics", event("c", "v1"))
		e.syncOK()
		e.writeFile(e.events, "c.ics", event("c", "local"))
		e.srv.Put(t, e.events+"c.ics", event("c", "phone"))
		s := e.syncOK()[e.events]
		if s.Conflicts != 1 {
			t.Fatalf("%+v", s)
		}
		if got, _ := e.srv.Get(t, e.events+"c.ics"); !bytes.Contains(got, []byte("local")) {
			t.Fatalf("server should hold the local version: %q", got)
		}
		if !e.hasConflictCopy(e.events, "c.ics", "phone") {
			t.Fatalf("server version not kept: %v", e.localNames(e.events))
		}
	})
}

func TestSync_Guards_MissingOrEmptiedFolderDeletesNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		for i := 0; i < 3; i++ {
			e.srv.Put(t, fmt.Sprintf("%se%d.ics", e.events, i), event(fmt.Sprint("e", i), "x"))
		}
		e.syncOK()
		// Emptied folder.
		for _, n := range e.localNames(e.events) {
			if strings.HasSuffix(n, ".ics") {
				os.Remove(e.file(e.events, n))
			}
		}
		sums := e.sync(SyncOptions{})
		refused := false
		for _, s := range sums {
			if s.Href == e.events {
				refused = s.Refused != ""
			}
		}
		if !refused {
			t.Fatal("emptied folder was not refused")
		}
		// Missing folder.
		os.RemoveAll(filepath.Join(e.root, "events"))
		e.rec.take()
		for _, s := range e.sync(SyncOptions{}) {
			if s.Href == e.events && s.Refused == "" {
				t.Fatalf("missing folder not refused: %+v", s)
			}
		}
		for _, r := range e.rec.take() {
			if r.Method == "DELETE" || r.Method == "PUT" {
				t.Fatalf("guard let a write through: %+v", r)
			}
		}
		for i := 0; i < 3; i++ {
			if got, _ := e.srv.Get(t, fmt.Sprintf("%se%d.ics", e.events, i)); got == nil {
				t.Fatalf("server lost e%d", i)
			}
		}
	})
}

func TestSync_Guards_MassDeleteRefusedUntilConfirmed(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		if e.srv.Kind == "xandikos" {
			t.Log("20 PUTs on Xandikos (a git commit each): slow but small")
		}
		for i := 0; i < 20; i++ {
			e.srv.Put(t, fmt.Sprintf("%sm%02d.ics", e.events, i), event(fmt.Sprint("m", i), "x"))
		}
		e.syncOK()
		for i := 0; i < 16; i++ {
			os.Remove(e.file(e.events, fmt.Sprintf("m%02d.ics", i)))
		}
		e.rec.take()
		var s *Summary
		for _, x := range e.sync(SyncOptions{}) {
			if x.Href == e.events {
				s = x
			}
		}
		if s == nil || s.Refused == "" || !strings.Contains(s.Refused, "allow-mass-delete") {
			t.Fatalf("80%% local deletion not refused: %+v", s)
		}
		for _, r := range e.rec.take() {
			if r.Method == "DELETE" {
				t.Fatal("a DELETE went out despite the guard")
			}
		}
		for _, x := range e.sync(SyncOptions{AllowMassDelete: true}) {
			if x.Href == e.events && x.DeletedRemote != 16 {
				t.Fatalf("confirmed pass deleted %d, want 16: %+v", x.DeletedRemote, x)
			}
		}
	})
}

func TestSync_InvalidFileReportedOthersContinue(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.syncOK()
		e.writeFile(e.events, "broken.ics", []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
		e.writeFile(e.events, "task-in-events.ics", task("wrong-comp", "a task"))
		e.writeFile(e.events, "good.ics", event("good", "fine"))
		var s *Summary
		for _, x := range e.sync(SyncOptions{}) {
			if x.Href == e.events {
				s = x
			}
		}
		// Xandikos ignores the component set of MKCALENDAR (it accepts every
		// component), so a task there is valid.
		wantSkipped, wrongComp := 2, true
		if e.srv.Kind == testserver.Xandikos {
			wantSkipped, wrongComp = 1, false
		}
		if s.Uploaded != 3-wantSkipped || len(s.Skipped) != wantSkipped {
			t.Fatalf("want %d uploads and %d skipped, got %+v", 3-wantSkipped, wantSkipped, s)
		}
		joined := strings.Join(s.Skipped, "\n")
		if !strings.Contains(joined, "broken.ics") || !strings.Contains(joined, "UID") || wrongComp != strings.Contains(joined, "task-in-events.ics") {
			t.Fatalf("skip messages do not name the files and reasons: %s", joined)
		}
		if got, _ := e.srv.Get(t, e.events+"good.ics"); got == nil {
			t.Fatal("good file not uploaded")
		}
		if got, _ := e.srv.Get(t, e.events+"broken.ics"); got != nil {
			t.Fatal("invalid file uploaded")
		}
	})
}

func TestSync_CrashBetweenPutAndStateCommit_NoDuplicateNoLoss(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.srv.Put(t, e.events+"x.ics", event("x", "v1"))
		e.syncOK()
		e.writeFile(e.events, "x.ics", event("x", "v2 local"))
		e.writeFile(e.events, "y.ics", event("y", "new local"))
		crash := errors.New("simulated crash")
		e.hook = func(op, href string) error { return crash }
		e.sync(SyncOptions{}) // the server accepted a write; state did not record it
		e.hook = nil
		e.syncOK()
		e.syncOK()

		// Exactly one copy of each UID on the server, local edits intact.
		for uid, want := range map[string]string{"x": "v2 local", "y": "new local"} {
			n := 0
			for _, h := range listHrefs(t, e.srv, e.events) {
				body, _ := e.srv.Get(t, h)
				if bytes.Contains(body, []byte("UID:"+uid+"\r\n")) {
					n++
					if !bytes.Contains(body, []byte(want)) {
						t.Errorf("server copy of %s lacks %q", uid, want)
					}
				}
			}
			if n != 1 {
				t.Errorf("UID %s: %d copies on the server, want 1", uid, n)
			}
		}
		if !bytes.Contains(e.readFile(e.events, "x.ics"), []byte("v2 local")) || !bytes.Contains(e.readFile(e.events, "y.ics"), []byte("new local")) {
			t.Error("local edit lost")
		}
		for _, n := range e.localNames(e.events) {
			if strings.Contains(n, ".conflict-") {
				t.Errorf("recovery made a spurious conflict copy %s: our own write was not recognised", n)
			}
		}
	})
}

// TestSync_KhalReadsTheSyncedFolder runs the real khal (Debian package) on
// what vdird wrote: the folder is a vdir other tools understand.
func TestSync_KhalReadsTheSyncedFolder(t *testing.T) {
	khal, err := exec.LookPath("khal")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("khal not installed (apt-get install khal)")
		}
		t.Skip("khal not installed")
	}
	e := newEnv(t, testserver.Radicale)
	e.srv.Put(t, e.events+"standup.ics", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:standup\r\n"+
		"DTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nDTEND:20250301T103000Z\r\nSUMMARY:Daily standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	e.syncOK()
	dir := t.TempDir()
	conf := filepath.Join(dir, "khal.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[calendars]
[[synced]]
path = %s/*
type = discover
[sqlite]
path = %s/khal.db
[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
default_timezone = UTC
local_timezone = UTC
`, e.root, dir)), 0o600)
	out, err := exec.Command(khal, "-c", conf, "list", "2025-03-01", "2025-03-02").CombinedOutput()
	if err != nil {
		t.Fatalf("khal: %v\n%s", err, out)
	}
	t.Logf("khal list:\n%s", out)
	if !strings.Contains(string(out), "10:00-10:30 Daily standup") {
		t.Fatalf("khal does not show the synced event:\n%s", out)
	}
}

var hrefRe = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?href>([^<]+)</(?:[A-Za-z0-9]+:)?href>`)

// listHrefs lists a calendar's members with a plain Depth-1 PROPFIND, independent of davclient.
func listHrefs(t *testing.T, srv *testserver.Server, cal string) []string {
	t.Helper()
	req, _ := http.NewRequest("PROPFIND", strings.TrimSuffix(srv.URL, "/")+cal, strings.NewReader(
		`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`))
	req.Header.Set("Depth", "1")
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(srv.User, srv.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, m := range hrefRe.FindAllStringSubmatch(string(body), -1) {
		h := m[1]
		if i := strings.Index(h, "://"); i >= 0 {
			h = h[i+3:]
			h = h[strings.IndexByte(h, '/'):]
		}
		if strings.TrimSuffix(h, "/") != strings.TrimSuffix(cal, "/") {
			out = append(out, h)
		}
	}
	return out
}

func TestSync_ReadOnlyCalendar_NeverWrittenLocalEditsKept(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	ro := e.srv.SeedCalendar(t, "readonly-holidays", "Holidays", map[string][]byte{"h1.ics": event("h1", "New Year")})
	e.cfg.Accounts[0].Calendars = append(e.cfg.Accounts[0].Calendars, ro)
	sums := e.syncOK()
	if sums[ro] == nil || sums[ro].Downloaded != 1 {
		t.Fatalf("read-only calendar not downloaded: %+v", sums[ro])
	}
	// Local edit, local new file and local delete in a read-only calendar.
	e.writeFile(ro, "h1.ics", event("h1", "New Year (my note)"))
	e.writeFile(ro, "mine.ics", event("mine", "my own"))
	e.rec.take()
	var s *Summary
	for _, x := range e.sync(SyncOptions{}) {
		if x.Href == ro {
			s = x
		}
	}
	for _, r := range e.rec.take() {
		if r.Method == "PUT" || r.Method == "DELETE" {
			t.Fatalf("wrote to a read-only calendar: %+v", r)
		}
	}
	if len(s.Skipped) != 2 || !strings.Contains(strings.Join(s.Skipped, "\n"), "read-only") {
		t.Fatalf("local changes not reported as kept: %+v", s)
	}
	if !bytes.Contains(e.readFile(ro, "h1.ics"), []byte("my note")) || e.readFile(ro, "mine.ics") == nil {
		t.Fatal("local edits not kept")
	}
}

func TestSync_KeepBothPolicy_LocalVersionBecomesNewItem(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.cfg.Accounts[0].ConflictPolicy = "keep-both"
		e.srv.Put(t, e.events+"k.ics", event("k", "v1"))
		e.syncOK()
		e.writeFile(e.events, "k.ics", event("k", "local-version"))
		e.srv.Put(t, e.events+"k.ics", event("k", "phone-version"))
		if s := e.syncOK()[e.events]; s.Conflicts != 1 {
			t.Fatalf("%+v", s)
		}
		var phone, local int
		for _, h := range listHrefs(t, e.srv, e.events) {
			body, _ := e.srv.Get(t, h)
			phone += bytes.Count(body, []byte("phone-version"))
			local += bytes.Count(body, []byte("local-version"))
		}
		if phone != 1 || local != 1 {
			t.Fatalf("server should hold both versions once: phone %d local %d", phone, local)
		}
		if s := e.syncOK()[e.events]; s.Uploaded+s.Downloaded+s.Conflicts != 0 {
			t.Fatalf("not settled: %+v", s)
		}
	})
}

// TestSync_FirstContactWithExistingFolder_MatchesByUID is the migration from
// another tool: the folder and the server already hold the same items.
func TestSync_FirstContactWithExistingFolder_MatchesByUID(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.srv.Put(t, e.events+"same.ics", event("same", "x"))
		e.srv.Put(t, e.events+"differs.ics", event("differs", "server"))
		server, _ := e.srv.Get(t, e.events+"same.ics")
		os.MkdirAll(filepath.Join(e.root, "events"), 0o700)
		e.writeFile(e.events, "renamed-by-old-tool.ics", server)
		e.writeFile(e.events, "differs.ics", event("differs", "local"))
		e.writeFile(e.events, "only-local.ics", event("only-local", "x"))
		e.rec.take()
		s := e.syncOK()[e.events]
		if s.Uploaded != 1 || s.Conflicts != 1 {
			t.Fatalf("want 1 upload (only-local) and 1 conflict (differs): %+v", s)
		}
		for _, r := range e.rec.take() {
			if r.Method == "PUT" && strings.HasSuffix(r.Path, "same.ics") {
				t.Fatal("identical item re-uploaded")
			}
		}
		n := 0
		for _, h := range listHrefs(t, e.srv, e.events) {
			if body, _ := e.srv.Get(t, h); bytes.Contains(body, []byte("UID:same\r\n")) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("UID same on the server %d times", n)
		}
	})
}

// TestSync_InterruptedInitialSync_ResumesWithoutRedownloading stops a big
// first download midway (as SIGTERM does: the context is cancelled) and
// checks the next pass fetches only what is missing. (Most of its time is
// Radicale indexing the seeded calendar on first access.)
func TestSync_InterruptedInitialSync_ResumesWithoutRedownloading(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	const n = 700
	big := e.seedOnly("big", n, "i%04d", "bulk")
	// Parsing runs up to four batches ahead of recording: cancel early
	// enough that the download is still going.
	cut := e.interruptedFirstSync(100, 200)
	first := cut.Downloaded
	if cut.Err == nil || first < 200 || first >= n {
		t.Fatalf("interrupted pass: downloaded %d, err %v", first, cut.Err)
	}

	s := e.syncOK()[big]
	files := 0
	for _, nm := range e.localNames(big) {
		if strings.HasSuffix(nm, ".ics") {
			files++
		}
	}
	if files != n {
		t.Fatalf("after resume %d item files, want %d", files, n)
	}
	if s.Downloaded+first != n {
		t.Fatalf("resume downloaded %d after %d: want exactly the %d missing", s.Downloaded, first, n-first)
	}
	t.Logf("interrupted after %d of %d; resume downloaded %d, recorded %d", first, n, s.Downloaded, s.Recorded)
}
