package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/khaltest"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// env is the shared fixture.
type env struct {
	*synctest.Env
	t *testing.T
}

func newEnv(t *testing.T, kind testserver.Kind) *env {
	t.Helper()
	return &env{Env: synctest.New(t, kind), t: t}
}

var (
	event  = synctest.Event
	task   = synctest.Task
	calDir = synctest.CalDir
)

// sync runs one pass the way `vdird sync` does: a fresh engine and store.
func (e *env) sync(opts SyncOptions) []*Summary {
	e.t.Helper()
	return e.syncWith(e.Client(), zerolog.New(io.Discard), opts)
}

// syncWith is sync with the engine's HTTP client and log chosen by the test.
func (e *env) syncWith(client *http.Client, log zerolog.Logger, opts SyncOptions) []*Summary {
	e.t.Helper()
	var sums []*Summary
	e.withStore(func(store *state.Store) {
		eng := NewEngine(e.Cfg, store, log)
		eng.HTTPClient = client
		sums = eng.Sync(context.Background(), opts)
	})
	return sums
}

// withStore opens the state database, hands it to fn and closes it again,
// so that the next pass can open it.
func (e *env) withStore(fn func(*state.Store)) {
	e.t.Helper()
	store, err := state.Open(e.Cfg.StatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	fn(store)
}

// seedOnly seeds slug with n events and makes it the only calendar synced.
func (e *env) seedOnly(slug string, n int, nameFmt, summary string) string {
	return e.SeedOnly(slug, n, nameFmt, summary)
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

// changed counts what a pass did to items: transfers both ways, deletions
// both ways and conflicts.
func changed(s *Summary) int {
	return s.Uploaded + s.Downloaded + s.DeletedLocal + s.DeletedRemote + s.Conflicts
}

// syncIdle runs a pass that must find nothing to do in e.Events: nothing
// changed (see changed) and no PUT or DELETE sent. It returns the
// calendar's summary.
func (e *env) syncIdle(what string) *Summary {
	e.t.Helper()
	e.Rec.Take()
	s := e.syncOK()[e.Events]
	if changed(s) != 0 {
		e.t.Fatalf("%s not idle: %+v", what, s)
	}
	if w := synctest.Writes(e.Rec.Take()); len(w) > 0 {
		e.t.Fatalf("%s wrote: %+v", what, w)
	}
	return s
}

func forEachServer(t *testing.T, fn func(t *testing.T, e *env)) {
	synctest.ForEachServer(t, func(t *testing.T, se *synctest.Env) { fn(t, &env{Env: se, t: t}) })
}

func TestSync_FreshSync_WritesServerBytesAndNoChangeCostsOneRequest(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"a.ics", event("a", "Alpha"))
		e.Srv.Put(t, e.Events+"b.ics", event("b", "Beta"))
		e.Srv.Put(t, e.Tasks+"t.ics", task("t", "Do it"))

		sums := e.syncOK()
		if sums[e.Events].Downloaded != 2 || sums[e.Tasks].Downloaded != 1 {
			t.Fatalf("downloads: events %d tasks %d", sums[e.Events].Downloaded, sums[e.Tasks].Downloaded)
		}
		for _, f := range []struct{ cal, name string }{{e.Events, "a.ics"}, {e.Events, "b.ics"}, {e.Tasks, "t.ics"}} {
			want, _ := e.Srv.Get(t, f.cal+f.name)
			if got := e.ReadFile(f.cal, f.name); !bytes.Equal(got, want) {
				t.Errorf("%s: local bytes differ from the server's:\n%q\n%q", f.name, got, want)
			}
		}
		if dn, _ := os.ReadFile(filepath.Join(e.Root, "events", "displayname")); strings.TrimSpace(string(dn)) != "Events" {
			t.Errorf("displayname file = %q", dn)
		}

		e.Rec.Take()
		sums = e.syncOK()
		reqs := e.Rec.Take()
		if len(reqs) != 1 {
			t.Fatalf("no-change sync made %d requests, want 1 (one listing of the calendar home): %+v", len(reqs), reqs)
		}
		if !sums[e.Events].Unchanged || !sums[e.Tasks].Unchanged {
			t.Fatalf("expected unchanged summaries: %+v %+v", sums[e.Events], sums[e.Tasks])
		}
	})
}

func TestSync_DecisionTableEndToEnd(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"edit-local.ics", event("edit-local", "v1"))
		e.Srv.Put(t, e.Events+"edit-phone.ics", event("edit-phone", "v1"))
		e.Srv.Put(t, e.Events+"del-local.ics", event("del-local", "v1"))
		e.Srv.Put(t, e.Events+"del-phone.ics", event("del-phone", "v1"))
		e.Srv.Put(t, e.Events+"both.ics", event("both", "v1"))
		e.syncOK()
		_, etagBefore := e.Srv.Get(t, e.Events+"edit-local.ics")

		// local edit → PUT with If-Match of the known etag
		e.WriteFile(e.Events, "edit-local.ics", event("edit-local", "v2 local"))
		// phone edit → file updated
		e.Srv.Put(t, e.Events+"edit-phone.ics", event("edit-phone", "v2 phone"))
		// local delete → DELETE on the server
		os.Remove(e.File(e.Events, "del-local.ics"))
		// phone delete → local file removed
		e.Srv.Delete(t, e.Events+"del-phone.ics")
		// both edited → server wins, local kept as a conflict copy
		e.WriteFile(e.Events, "both.ics", event("both", "v2 local"))
		e.Srv.Put(t, e.Events+"both.ics", event("both", "v2 phone"))
		// local new → created with If-None-Match: *
		e.WriteFile(e.Events, "new-local.ics", event("new-local", "made locally"))
		// phone new → new file
		e.Srv.Put(t, e.Events+"new-phone.ics", event("new-phone", "made on phone"))
		e.Rec.Take()

		s := e.syncOK()[e.Events]
		reqs := e.Rec.Take()
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
		if got, _ := e.Srv.Get(t, e.Events+"edit-local.ics"); !bytes.Contains(got, []byte("v2 local")) {
			t.Errorf("server lacks the local edit: %q", got)
		}
		if !bytes.Contains(e.ReadFile(e.Events, "edit-phone.ics"), []byte("v2 phone")) {
			t.Error("local file lacks the phone edit")
		}
		if got, _ := e.Srv.Get(t, e.Events+"del-local.ics"); got != nil {
			t.Error("local delete did not reach the server")
		}
		if _, err := os.Stat(e.File(e.Events, "del-phone.ics")); !errors.Is(err, os.ErrNotExist) {
			t.Error("phone delete did not remove the file")
		}
		if got, _ := e.Srv.Get(t, e.Events+"new-local.ics"); !bytes.Contains(got, []byte("made locally")) {
			t.Errorf("local new file not on the server: %q", got)
		}
		if !bytes.Contains(e.ReadFile(e.Events, "new-phone.ics"), []byte("made on phone")) {
			t.Error("phone's new item not downloaded")
		}
		if !bytes.Contains(e.ReadFile(e.Events, "both.ics"), []byte("v2 phone")) {
			t.Error("server-wins: file should hold the phone's version")
		}
		var copies []string
		for _, n := range e.LocalNames(e.Events) {
			if strings.HasPrefix(n, "both.ics.conflict-") {
				copies = append(copies, n)
			}
		}
		if len(copies) != 1 || !bytes.Contains(e.ReadFile(e.Events, copies[0]), []byte("v2 local")) {
			t.Fatalf("conflict copy of the local version missing: %v", e.LocalNames(e.Events))
		}

		// The server's new etag for the created item is recorded: nothing left to do.
		e.syncIdle("second pass")
	})
}

func TestSync_LocalWinsPolicy_UploadsLocalAndKeepsServerCopy(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.conflictUnder("local-wins", "c", "local", "phone")
		s := e.syncOK()[e.Events]
		if s.Conflicts != 1 {
			t.Fatalf("%+v", s)
		}
		if got, _ := e.Srv.Get(t, e.Events+"c.ics"); !bytes.Contains(got, []byte("local")) {
			t.Fatalf("server should hold the local version: %q", got)
		}
		if !e.HasConflictCopy(e.Events, "c.ics", "phone") {
			t.Fatalf("server version not kept: %v", e.LocalNames(e.Events))
		}
	})
}

// conflictUnder makes the account's conflict policy policy, syncs item uid
// down and then changes it on both sides: to the summary local in the
// folder and to phone on the server.
func (e *env) conflictUnder(policy plan.Policy, uid, local, phone string) {
	e.t.Helper()
	e.Cfg.Accounts[0].ConflictPolicy = policy
	e.Srv.Put(e.t, e.Events+uid+".ics", event(uid, "v1"))
	e.syncOK()
	e.WriteFile(e.Events, uid+".ics", event(uid, local))
	e.Srv.Put(e.t, e.Events+uid+".ics", event(uid, phone))
}

func TestSync_Guards_MissingOrEmptiedFolderDeletesNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		for i := 0; i < 3; i++ {
			e.Srv.Put(t, fmt.Sprintf("%se%d.ics", e.Events, i), event(fmt.Sprint("e", i), "x"))
		}
		e.syncOK()
		// Emptied folder.
		for _, n := range e.LocalNames(e.Events) {
			if strings.HasSuffix(n, ".ics") {
				os.Remove(e.File(e.Events, n))
			}
		}
		sums := e.sync(SyncOptions{})
		refused := false
		for _, s := range sums {
			if s.Href == e.Events {
				refused = s.Refused != ""
			}
		}
		if !refused {
			t.Fatal("emptied folder was not refused")
		}
		// Missing folder.
		os.RemoveAll(filepath.Join(e.Root, "events"))
		e.Rec.Take()
		for _, s := range e.sync(SyncOptions{}) {
			if s.Href == e.Events && s.Refused == "" {
				t.Fatalf("missing folder not refused: %+v", s)
			}
		}
		for _, r := range e.Rec.Take() {
			if r.Method == "DELETE" || r.Method == "PUT" {
				t.Fatalf("guard let a write through: %+v", r)
			}
		}
		for i := 0; i < 3; i++ {
			if got, _ := e.Srv.Get(t, fmt.Sprintf("%se%d.ics", e.Events, i)); got == nil {
				t.Fatalf("server lost e%d", i)
			}
		}
	})
}

func TestSync_Guards_MassDeleteRefusedUntilConfirmed(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		if e.Srv.Kind == "xandikos" {
			t.Log("20 PUTs on Xandikos (a git commit each): slow but small")
		}
		for i := 0; i < 20; i++ {
			e.Srv.Put(t, fmt.Sprintf("%sm%02d.ics", e.Events, i), event(fmt.Sprint("m", i), "x"))
		}
		e.syncOK()
		for i := 0; i < 16; i++ {
			os.Remove(e.File(e.Events, fmt.Sprintf("m%02d.ics", i)))
		}
		e.Rec.Take()
		var s *Summary
		for _, x := range e.sync(SyncOptions{}) {
			if x.Href == e.Events {
				s = x
			}
		}
		if s == nil || s.Refused == "" || !strings.Contains(s.Refused, "allow-mass-delete") {
			t.Fatalf("80%% local deletion not refused: %+v", s)
		}
		for _, r := range e.Rec.Take() {
			if r.Method == "DELETE" {
				t.Fatal("a DELETE went out despite the guard")
			}
		}
		// vdird status shows the refusal until a pass goes through.
		if col := e.collectionState(e.Events); col.Refused != s.Refused {
			t.Fatalf("refusal recorded as %q, want %q", col.Refused, s.Refused)
		}
		for _, x := range e.sync(SyncOptions{AllowMassDelete: true}) {
			if x.Href == e.Events && x.DeletedRemote != 16 {
				t.Fatalf("confirmed pass deleted %d, want 16: %+v", x.DeletedRemote, x)
			}
		}
		if col := e.collectionState(e.Events); col.Refused != "" {
			t.Fatalf("refusal still recorded after the confirmed pass: %q", col.Refused)
		}
	})
}

func TestSync_InvalidFileReportedOthersContinue(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.syncOK()
		e.WriteFile(e.Events, "broken.ics", []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
		e.WriteFile(e.Events, "task-in-events.ics", task("wrong-comp", "a task"))
		e.WriteFile(e.Events, "good.ics", event("good", "fine"))
		var s *Summary
		for _, x := range e.sync(SyncOptions{}) {
			if x.Href == e.Events {
				s = x
			}
		}
		// Xandikos ignores the component set of MKCALENDAR (it accepts every
		// component), so a task there is valid.
		wantSkipped, wrongComp := 2, true
		if e.Srv.Kind == testserver.Xandikos {
			wantSkipped, wrongComp = 1, false
		}
		if s.Uploaded != 3-wantSkipped || len(s.Skipped) != wantSkipped {
			t.Fatalf("want %d uploads and %d skipped, got %+v", 3-wantSkipped, wantSkipped, s)
		}
		joined := strings.Join(s.Skipped, "\n")
		if !strings.Contains(joined, "broken.ics") || !strings.Contains(joined, "UID") || wrongComp != strings.Contains(joined, "task-in-events.ics") {
			t.Fatalf("skip messages do not name the files and reasons: %s", joined)
		}
		if got, _ := e.Srv.Get(t, e.Events+"good.ics"); got == nil {
			t.Fatal("good file not uploaded")
		}
		if got, _ := e.Srv.Get(t, e.Events+"broken.ics"); got != nil {
			t.Fatal("invalid file uploaded")
		}
	})
}

// TestSync_CrashBetweenPutAndStateCommit_NoDuplicateNoLoss: the server
// applies an update, a create and a delete, but their answers are lost, so
// state records none of them and their journal entries stay open, as after
// a crash between the write and its commit. The created file is edited
// again before a new engine on the same state (a restarted process) runs:
// it settles the writes from the journal first, so it takes the edit for a
// local change of its own item and uploads it with If-Match, where taking
// its own create for the phone's would make a both-new conflict. Each UID
// is on the server once, nothing is lost and no conflict copy is made.
// (cmd/vdird's crash tests kill a real process.)
func TestSync_CrashBetweenPutAndStateCommit_NoDuplicateNoLoss(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.seed("x", "z")
		f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
		f.WriteFile(f.Events, "y.ics", event("y", "new local"))
		if err := os.Remove(f.File(f.Events, "z.ics")); err != nil {
			t.Fatal(err)
		}
		f.px.Add(faultproxy.Rule{Method: "PUT", Action: faultproxy.LoseAnswer()})
		f.px.Add(faultproxy.Rule{Method: "DELETE", Action: faultproxy.LoseAnswer()})
		f.run(SyncOptions{})
		reqs := f.px.Take()
		if puts, dels := faultproxy.Count(reqs, "PUT", nil), faultproxy.Count(reqs, "DELETE", nil); puts != 2 || dels != 1 {
			t.Fatalf("%d PUTs and %d DELETEs reached the server, want 2 and 1", puts, dels)
		}
		f.px.Clear()

		f.WriteFile(f.Events, "y.ics", event("y", "y edited"))
		want["x"], want["y"] = "v2 local", "y edited"
		delete(want, "z")
		f.runOK()
		var wrote []string
		for _, r := range writes(f.px.Take()) {
			wrote = append(wrote, fmt.Sprintf("%s %s if-match=%q", r.Method, r.Path, r.IfMatch))
		}
		if len(wrote) != 1 || !strings.HasPrefix(wrote[0], "PUT "+f.Events+"y.ics") || strings.HasSuffix(wrote[0], `if-match=""`) {
			t.Errorf("the pass after the lost answers wrote %v, want one update of y.ics with If-Match", wrote)
		}
		f.converged(want)
		f.noConflictCopies("conflict copies: our own writes were not recognised")
		f.idle()
	})
}

// TestSync_KhalReadsTheSyncedFolder runs the real khal (Debian package) on
// what vdird wrote: the folder is a vdir other tools understand.
func TestSync_KhalReadsTheSyncedFolder(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.Srv.Put(t, e.Events+"standup.ics", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:standup\r\n"+
		"DTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nDTEND:20250301T103000Z\r\nSUMMARY:Daily standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	e.syncOK()
	out := khaltest.New(t, e.Root, false).Run("list", "2025-03-01", "2025-03-02")
	t.Logf("khal list:\n%s", out)
	if !strings.Contains(out, "10:00-10:30 Daily standup") {
		t.Fatalf("khal does not show the synced event:\n%s", out)
	}
}

// serverItems maps every href of cal to its body, as the server lists and
// serves them to a client other than the engine.
func (e *env) serverItems(cal string) map[string][]byte {
	e.t.Helper()
	out := map[string][]byte{}
	for _, h := range e.Srv.Members(e.t, cal) {
		out[h], _ = e.Srv.Get(e.t, h)
	}
	return out
}

// serverCount counts the items of cal on the server whose body holds s.
func (e *env) serverCount(cal, s string) int {
	e.t.Helper()
	n := 0
	for _, body := range e.serverItems(cal) {
		if bytes.Contains(body, []byte(s)) {
			n++
		}
	}
	return n
}

// localCount counts the files of cal's folder that hold s.
func (e *env) localCount(cal, s string) int {
	e.t.Helper()
	n := 0
	for _, name := range e.LocalNames(cal) {
		if bytes.Contains(e.ReadFile(cal, name), []byte(s)) {
			n++
		}
	}
	return n
}

func TestSync_ReadOnlyCalendar_NeverWrittenLocalEditsKept(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	ro := e.Srv.SeedCalendar(t, "readonly-holidays", "Holidays", map[string][]byte{"h1.ics": event("h1", "New Year")})
	e.Cfg.Accounts[0].Calendars = append(e.Cfg.Accounts[0].Calendars, ro)
	sums := e.syncOK()
	if sums[ro] == nil || sums[ro].Downloaded != 1 {
		t.Fatalf("read-only calendar not downloaded: %+v", sums[ro])
	}
	// Local edit, local new file and local delete in a read-only calendar.
	e.WriteFile(ro, "h1.ics", event("h1", "New Year (my note)"))
	e.WriteFile(ro, "mine.ics", event("mine", "my own"))
	e.Rec.Take()
	var s *Summary
	for _, x := range e.sync(SyncOptions{}) {
		if x.Href == ro {
			s = x
		}
	}
	for _, r := range e.Rec.Take() {
		if r.Method == "PUT" || r.Method == "DELETE" {
			t.Fatalf("wrote to a read-only calendar: %+v", r)
		}
	}
	if len(s.Skipped) != 2 || !strings.Contains(strings.Join(s.Skipped, "\n"), "read-only") {
		t.Fatalf("local changes not reported as kept: %+v", s)
	}
	if !bytes.Contains(e.ReadFile(ro, "h1.ics"), []byte("my note")) || e.ReadFile(ro, "mine.ics") == nil {
		t.Fatal("local edits not kept")
	}
}

// TestSync_KeepBothPolicy_LocalVersionBecomesNewItem: without merging,
// keep-both keeps each version as an item of its own.
func TestSync_KeepBothPolicy_LocalVersionBecomesNewItem(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Cfg.Accounts[0].Merge = false
		e.conflictUnder("keep-both", "k", "local-version", "phone-version")
		if s := e.syncOK()[e.Events]; s.Conflicts != 1 {
			t.Fatalf("%+v", s)
		}
		var phone, local int
		for _, body := range e.serverItems(e.Events) {
			phone += bytes.Count(body, []byte("phone-version"))
			local += bytes.Count(body, []byte("local-version"))
		}
		if phone != 1 || local != 1 {
			t.Fatalf("server should hold both versions once: phone %d local %d", phone, local)
		}
		if s := e.syncOK()[e.Events]; s.Uploaded+s.Downloaded+s.Conflicts != 0 {
			t.Fatalf("not settled: %+v", s)
		}
	})
}

// TestSync_FirstContactWithExistingFolder_MatchesByUID is the migration from
// another tool: the folder and the server already hold the same items.
func TestSync_FirstContactWithExistingFolder_MatchesByUID(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"same.ics", event("same", "x"))
		e.Srv.Put(t, e.Events+"differs.ics", event("differs", "server"))
		server, _ := e.Srv.Get(t, e.Events+"same.ics")
		os.MkdirAll(filepath.Join(e.Root, "events"), 0o700)
		e.WriteFile(e.Events, "renamed-by-old-tool.ics", server)
		e.WriteFile(e.Events, "differs.ics", event("differs", "local"))
		e.WriteFile(e.Events, "only-local.ics", event("only-local", "x"))
		e.Rec.Take()
		s := e.syncOK()[e.Events]
		if s.Uploaded != 1 || s.Conflicts != 1 {
			t.Fatalf("want 1 upload (only-local) and 1 conflict (differs): %+v", s)
		}
		for _, r := range e.Rec.Take() {
			if r.Method == "PUT" && strings.HasSuffix(r.Path, "same.ics") {
				t.Fatal("identical item re-uploaded")
			}
		}
		if n := e.serverCount(e.Events, "UID:same\r\n"); n != 1 {
			t.Fatalf("UID same on the server %d times", n)
		}
	})
}
