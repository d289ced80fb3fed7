package engine

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/khaltest"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// newFolder writes a folder under root as a user or khal would make it:
// the given files, by name.
func newFolder(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// folderBytes reads every file of dir, by name.
func folderBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[de.Name()] = string(b)
	}
	return out
}

// creating lets the account make collections of new folders, whatever
// calendars the fixture lists.
func (e *env) creating() {
	a := &e.Cfg.Accounts[0]
	a.CreateCollections, a.Calendars, a.AddressBooks = true, nil, nil
}

// count counts the requests of method among reqs.
func count(reqs []synctest.Request, method string) int {
	n := 0
	for _, r := range reqs {
		if r.Method == method {
			n++
		}
	}
	return n
}

// teamFolder is a new calendar folder: a display name, a colour and two
// events.
var teamFolder = map[string][]byte{
	"displayname": []byte("Team Plans\n"),
	"color":       []byte("#AA5500\n"),
	"kickoff.ics": event("kickoff", "Kickoff"),
	"review.ics":  event("review", "Review"),
}

func TestSync_NewLocalFolder_BecomesACalendarWithItsNameColourAndEvents(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.creating()
		dir := filepath.Join(e.Root, "team plans")
		newFolder(t, dir, teamFolder)
		before := folderBytes(t, dir)
		e.Rec.Take()
		href := e.Srv.HomeHref + "team%20plans/"
		s := e.syncOK()[href]
		reqs := e.Rec.Take()
		if s == nil || s.Uploaded != 2 || s.Dir != dir {
			t.Fatalf("summary of the new calendar: %+v", s)
		}
		if n := count(reqs, "MKCALENDAR"); n != 1 {
			t.Errorf("sent %d MKCALENDARs, want 1", n)
		}
		for _, r := range reqs {
			if (r.Method == "MKCALENDAR" || r.Method == "PUT") && r.IfNoneMatch != "*" {
				t.Errorf("%s %s without If-None-Match: *", r.Method, r.Path)
			}
		}
		got := propfindMeta(t, e.Srv, href)
		if !strings.Contains(got, ">Team Plans<") || !strings.Contains(strings.ToUpper(got), "#AA5500") {
			t.Fatalf("the new calendar's properties: %s", got)
		}
		if m := e.Srv.Members(t, href); len(m) != 2 {
			t.Fatalf("the new calendar holds %v, want the two events", m)
		}
		// Its items are events; Xandikos keeps no component set of a MKCALENDAR.
		_, comps, _ := e.Srv.Do(context.Background(), "PROPFIND", href, map[string]string{"Depth": "0"},
			[]byte(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:supported-calendar-component-set/></D:prop></D:propfind>`))
		if e.Srv.Kind == testserver.Radicale && (!bytes.Contains(comps, []byte(`"VEVENT"`)) || bytes.Contains(comps, []byte(`"VTODO"`))) {
			t.Errorf("components of the new calendar: %s", comps)
		}
		if after := folderBytes(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the folder changed:\n%q\n%q", before, after)
		}
		e.Rec.Take()
		e.syncOK()
		if reqs := e.Rec.Take(); len(synctest.Writes(reqs)) != 0 || count(reqs, "MKCALENDAR")+count(reqs, "PROPPATCH") != 0 {
			t.Fatalf("the next pass was not idle: %+v", reqs)
		}
		khalSees(t, e.Root, "Team Plans", "Kickoff", "Review")
	})
}

// khalSees runs the real khal on the calendars under root and checks that
// it lists the calendar named calendar and the events summaries.
func khalSees(t *testing.T, root, calendar string, summaries ...string) {
	t.Helper()
	khal := khaltest.New(t, root, false)
	if out := khal.Run("printcalendars"); !strings.Contains(out, calendar) {
		t.Fatalf("khal printcalendars does not show %q:\n%s", calendar, out)
	}
	out := khal.Run("list", "--format", "{calendar}: {title}", "2025-03-01", "2025-03-02")
	for _, s := range summaries {
		if !strings.Contains(out, calendar+": "+s) {
			t.Fatalf("khal does not list %q in %q:\n%s", s, calendar, out)
		}
	}
}

func TestSync_NewAddressBookFolder_BecomesAnAddressBookWithItsCards(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.AddAddressBook("contacts", "Contacts")
		e.creating()
		dir := filepath.Join(e.Contacts, "friends")
		newFolder(t, dir, map[string][]byte{"ann.vcf": card("3.0", "ann", "Ann"), "bo.vcf": card("4.0", "bo", "Bo")})
		e.Rec.Take()
		href := e.Srv.BookHomeHref + "friends/"
		s := e.syncOK()[href]
		reqs := e.Rec.Take()
		if s == nil || s.Uploaded != 2 || count(reqs, "MKCOL") != 1 || count(reqs, "MKCALENDAR") != 0 {
			t.Fatalf("summary %+v after %+v", s, reqs)
		}
		resp, body, err := e.Srv.Do(context.Background(), "PROPFIND", href, map[string]string{"Depth": "0"},
			[]byte(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>`))
		if err != nil || resp.StatusCode != http.StatusMultiStatus || !regexp.MustCompile(`addressbook[ /]`).Match(body) {
			t.Fatalf("PROPFIND %s: %v %v %s", href, resp, err, body)
		}
		for name, fn := range map[string]string{"ann.vcf": "FN:Ann", "bo.vcf": "FN:Bo"} {
			if got, _ := e.Srv.Get(t, href+name); !bytes.Contains(got, []byte(fn)) {
				t.Errorf("%s on the server: %q", name, got)
			}
		}
	})
}

func TestSync_CreateCollectionsOff_NothingSentAndANoteTells(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.creating()
	e.Cfg.Accounts[0].CreateCollections = false
	newFolder(t, filepath.Join(e.Root, "team"), teamFolder)
	e.Rec.Take()
	sums := e.sync(SyncOptions{})
	reqs := e.Rec.Take()
	if n := count(reqs, "MKCALENDAR") + len(synctest.Writes(reqs)); n != 0 {
		t.Fatalf("sent %+v", reqs)
	}
	if !notes(sums, "create_collections = false") {
		t.Fatalf("no note tells why the folder stays local: %+v", sums)
	}
}

func TestDryRun_NewLocalFolder_WouldCreateAndSendsNothing(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.creating()
	newFolder(t, filepath.Join(e.Root, "team"), teamFolder)
	e.sync(SyncOptions{DryRun: true}) // the first dry run discovers, as a run does
	e.Rec.Take()
	sums := e.sync(SyncOptions{DryRun: true})
	reqs := e.Rec.Take()
	for _, r := range reqs {
		if r.Method != "PROPFIND" && r.Method != "REPORT" {
			t.Errorf("a dry run sent %s %s", r.Method, r.Path)
		}
	}
	if !notes(sums, `would create calendar "team"`) {
		t.Fatalf("the dry run does not say it would create the calendar: %+v", sums)
	}
	e.withStore(func(s *state.Store) {
		if cols, _ := s.Collections(); len(cols) != 0 {
			t.Errorf("a dry run recorded %+v", cols)
		}
	})
}

// notes tells whether a note of one of sums contains text.
func notes(sums []*Summary, text string) bool {
	for _, s := range sums {
		if strings.Contains(strings.Join(s.Notes, "\n"), text) {
			return true
		}
	}
	return false
}

// A server that makes no calendars (Google answers 403) is told once: the
// pass reports the folder and the URL, later passes send no MKCALENDAR,
// `vdird status` shows it, and a change to the folder or `vdird sync
// NAME` asks again.
func TestSync_ServerRefusesToMakeTheCalendar_ToldOnceNotAskedAgainUntilTheFolderChanges(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.creating()
	dir := filepath.Join(f.Root, "team")
	newFolder(t, dir, teamFolder)
	refuse := f.px.Add(faultproxy.Rule{Method: "MKCALENDAR", Action: faultproxy.Answer(http.StatusForbidden, "text/plain", "calendars cannot be made here")})
	var refused []string
	for _, s := range f.run(SyncOptions{}) {
		if s.Refused != "" {
			refused = append(refused, s.Refused)
		}
	}
	if len(refused) != 1 || !strings.Contains(refused[0], dir) || !strings.Contains(refused[0], f.px.URL) || !strings.Contains(refused[0], "403") {
		t.Fatalf("refusals %q, want one naming %s, the URL and the answer", refused, dir)
	}
	for i := 0; i < 2; i++ {
		for _, s := range f.run(SyncOptions{}) {
			if s.Failed() {
				t.Errorf("pass %d: %+v", i+2, s)
			}
		}
	}
	if refuse.Matches() != 1 {
		t.Fatalf("sent %d MKCALENDARs in three passes, want 1", refuse.Matches())
	}
	f.withStore(func(s *state.Store) {
		st, err := NewEngine(f.Cfg, s, zerolog.Nop()).Status()
		if err != nil || !slices.ContainsFunc(st, func(c CalendarStatus) bool {
			return c.Dir == dir && c.NotMade && strings.Contains(c.Refused, "refused")
		}) {
			t.Errorf("status %+v, %v: no row for the refused folder", st, err)
		}
	})
	f.run(SyncOptions{Calendars: []string{"team"}})
	if refuse.Matches() != 2 {
		t.Fatalf("vdird sync team: %d MKCALENDARs in all, want 2", refuse.Matches())
	}
	f.px.Clear()
	newFolder(t, dir, map[string][]byte{"third.ics": event("third", "Third")})
	for _, s := range f.run(SyncOptions{}) {
		if s.Failed() {
			t.Fatalf("after the folder changed: %+v", s)
		}
	}
	if m := f.Srv.Members(t, f.Srv.HomeHref+"team/"); len(m) != 3 {
		t.Fatalf("the calendar made once the folder changed holds %v", m)
	}
	f.withStore(func(s *state.Store) {
		if rec, _, _ := s.Account("test"); len(rec.CreateRefused) != 0 {
			t.Errorf("the refusal is still recorded once the calendar was made: %+v", rec.CreateRefused)
		}
	})
}

// The answer to MKCALENDAR is lost (the server made the calendar), as
// after a crash right after the request: the next pass pairs the new
// calendar with the folder, makes no second one, downloads nothing over
// the folder and uploads its events.
func TestFault_AnswerToMakeCalendarLost_NextPassPairsItWithTheFolder(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		f := withFaultProxy(t, e)
		f.creating()
		dir := filepath.Join(f.Root, "team")
		newFolder(t, dir, teamFolder)
		before := folderBytes(t, dir)
		lost := f.px.Add(faultproxy.Rule{Method: "MKCALENDAR", Action: faultproxy.LoseAnswer()})
		f.run(SyncOptions{})
		if lost.Fired() != 1 {
			t.Fatalf("the MKCALENDAR answer lost %d times", lost.Fired())
		}
		href := f.Srv.HomeHref + "team/"
		f.withStore(func(s *state.Store) {
			if col, ok, err := s.Collection("test/" + href); err != nil || !ok || !col.Creating || col.Dir != dir {
				t.Fatalf("state after the lost answer: %+v %v %v; want the calendar being made from %s", col, ok, err, dir)
			}
		})
		f.px.Clear()
		f.px.Take()
		var s *Summary
		for _, x := range f.run(SyncOptions{}) {
			if x.Failed() {
				t.Fatalf("the pass after the lost answer: %+v", x)
			}
			if x.Href == href {
				s = x
			}
		}
		reqs := f.px.Take()
		f.withStore(func(s *state.Store) {
			if col, ok, _ := s.Collection("test/" + href); !ok || col.Creating {
				t.Errorf("state after the pass that found it: %+v %v; want it made", col, ok)
			}
		})
		if n := faultproxy.Count(reqs, "MKCALENDAR", nil); n != 0 {
			t.Errorf("sent %d MKCALENDARs after the lost answer, want 0", n)
		}
		if s == nil || s.Uploaded != 2 || s.Downloaded != 0 {
			t.Fatalf("the new calendar's pass: %+v", s)
		}
		if m := f.Srv.Members(t, href); len(m) != 2 {
			t.Fatalf("the calendar holds %v", m)
		}
		if after := folderBytes(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the folder changed:\n%q\n%q", before, after)
		}
		ds, _ := os.ReadDir(f.Root)
		if n := len(slices.DeleteFunc(ds, func(d os.DirEntry) bool { return !strings.HasPrefix(d.Name(), "team") })); n != 1 {
			t.Errorf("the root holds %v, want one team folder", ds)
		}
	})
}

// A folder whose calendar is gone from the server stays local: state
// still records it, and it is never made again.
func TestSync_CalendarGoneFromTheServer_FolderNeverMadeAgain(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.creating()
	e.Srv.Put(t, e.Events+"a.ics", event("a", "A"))
	e.syncOK()
	if resp, _, err := e.Srv.Do(context.Background(), "DELETE", e.Events, nil, nil); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE %s: %v %v", e.Events, resp, err)
	}
	for i := 0; i < 2; i++ {
		e.Rec.Take()
		sums := e.sync(SyncOptions{})
		if reqs := e.Rec.Take(); count(reqs, "MKCALENDAR")+len(synctest.Writes(reqs)) != 0 {
			t.Fatalf("pass %d sent %+v", i+1, reqs)
		}
		if !notes(sums, "no longer on the server") {
			t.Fatalf("pass %d: no note of the calendar gone: %+v", i+1, sums)
		}
	}
}

func TestSync_RefusedFolderRemoved_NoLongerShownByStatus(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.creating()
	dir := filepath.Join(f.Root, "team")
	newFolder(t, dir, teamFolder)
	f.px.Add(faultproxy.Rule{Method: "MKCALENDAR", Action: faultproxy.Status(http.StatusForbidden, "")})
	f.run(SyncOptions{})
	refusedRows := func() int {
		n := 0
		f.withStore(func(s *state.Store) {
			st, err := NewEngine(f.Cfg, s, zerolog.Nop()).Status()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range st {
				if c.Dir == dir && c.Refused != "" {
					n++
				}
			}
		})
		return n
	}
	if n := refusedRows(); n != 1 {
		t.Fatalf("status shows %d rows for the refused folder, want 1", n)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	f.run(SyncOptions{})
	if n := refusedRows(); n != 0 {
		t.Fatalf("status shows the refused folder after it was removed")
	}
}

// Google's CalDAV makes no calendars (405): a new folder is reported once,
// with its path and the URL, and later passes send no MKCALENDAR.
func TestSync_Google_NewFolderRefused_ToldOnceNotAskedAgain(t *testing.T) {
	e := newGoogleEnv(t, time.Hour)
	e.cfg.Accounts[0].CreateCollections = true
	e.syncOK()
	dir := filepath.Join(e.root, "garden")
	newFolder(t, dir, map[string][]byte{"displayname": []byte("Garden\n"), "plant.ics": event("plant", "Plant")})
	e.g.Requests()
	first := e.sync()["garden"]
	if first == nil || !strings.Contains(first.Refused, dir) || !strings.Contains(first.Refused, "405") ||
		!strings.Contains(first.Refused, "/caldav/v2/alice@gmail.com/garden/") {
		t.Fatalf("the refused folder's summary: %+v", first)
	}
	for i := 0; i < 2; i++ {
		if s := e.sync()["garden"]; s != nil {
			t.Errorf("pass %d reports the refused folder again: %+v", i+2, s)
		}
	}
	made := 0
	for _, r := range e.g.Requests() {
		if strings.HasPrefix(r, "MKCALENDAR ") || strings.HasPrefix(r, "PUT ") {
			made++
		}
	}
	if made != 1 {
		t.Fatalf("%d MKCALENDARs and PUTs in three passes, want the one MKCALENDAR", made)
	}
}

// Another client makes a calendar at the same href just before vdird
// does: the server refuses the MKCALENDAR as the href is taken, and the
// folder syncs with the calendar found there, its events uploaded beside
// the other client's.
func TestFault_CalendarMadeMeanwhileAtTheSameHref_FolderSyncsWithIt(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		f := withFaultProxy(t, e)
		f.creating()
		newFolder(t, filepath.Join(f.Root, "team"), teamFolder)
		href := f.Srv.HomeHref + "team/"
		f.px.Add(faultproxy.Rule{Method: "MKCALENDAR", Action: faultproxy.Hook(func(*http.Request) {
			body := `<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Theirs</D:displayname></D:prop></D:set></C:mkcalendar>`
			if resp, _, err := f.Srv.Do(context.Background(), "MKCALENDAR", href, nil, []byte(body)); err != nil || resp.StatusCode != http.StatusCreated {
				t.Errorf("the other client's MKCALENDAR: %v %v", resp, err)
			}
			f.Srv.Put(t, href+"theirs.ics", event("theirs", "Theirs"))
		})})
		var s *Summary
		for _, x := range f.run(SyncOptions{}) {
			if x.Href == href {
				s = x
			}
		}
		if s == nil || s.Err != nil || s.Refused != "" || s.Uploaded != 2 || s.Downloaded != 1 || !strings.Contains(strings.Join(s.Notes, "\n"), "already") {
			t.Fatalf("the folder's summary: %+v", s)
		}
		if m := f.Srv.Members(t, href); len(m) != 3 {
			t.Fatalf("the calendar holds %v, want theirs and the folder's two", m)
		}
	})
}
