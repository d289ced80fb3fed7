package engine

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
)

// propfindMeta reads a collection's display name and colour from the
// server with a PROPFIND of its own, and returns the raw answer.
func propfindMeta(t *testing.T, s *testserver.Server, href string) string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"><D:prop><D:displayname/><I:calendar-color/></D:prop></D:propfind>`
	resp, got, err := s.Do(context.Background(), "PROPFIND", href, map[string]string{"Depth": "0"}, []byte(body))
	if err != nil || resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %v %v", href, resp, err)
	}
	return string(got)
}

// proppatchMeta sets a collection's display name and colour on the
// server, as another client would.
func proppatchMeta(t *testing.T, s *testserver.Server, href, name, color string) {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>` +
		name + `</D:displayname><I:calendar-color>` + color + `</I:calendar-color></D:prop></D:set></D:propertyupdate>`
	resp, got, err := s.Do(context.Background(), "PROPPATCH", href, nil, []byte(body))
	if err != nil || resp.StatusCode != http.StatusMultiStatus || strings.Contains(string(got), " 403 ") || strings.Contains(string(got), " 409 ") {
		t.Fatalf("PROPPATCH %s: %v %v %s", href, resp, err, got)
	}
}

// localMeta reads a metadata file of the events folder, "" if missing.
func (e *env) localMeta(name string) string {
	e.t.Helper()
	return strings.TrimSpace(string(e.ReadFile(e.Events, name)))
}

// proppatches counts the PROPPATCH requests sent since the last Take.
func (e *env) proppatches() int {
	n := 0
	for _, r := range e.Rec.Take() {
		if r.Method == "PROPPATCH" {
			n++
		}
	}
	return n
}

func TestSync_MetadataChangedLocally_ServerShowsItAfterOneSync(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.syncOK()
		e.WriteFile(e.Events, "displayname", []byte("Renamed\n"))
		e.WriteFile(e.Events, "color", []byte("#112233\n"))
		e.Rec.Take()
		e.syncOK()
		if n := e.proppatches(); n != 1 {
			t.Errorf("sent %d PROPPATCHes, want 1", n)
		}
		got := propfindMeta(t, e.Srv, e.Events)
		if !strings.Contains(got, ">Renamed<") || !strings.Contains(strings.ToUpper(got), "#112233") {
			t.Fatalf("server after one sync: %s", got)
		}
		// Xandikos moves the sync-token when a property changes, so the
		// next pass reads an empty delta; it sends nothing either way.
		e.Rec.Take()
		e.syncOK()
		for _, r := range e.Rec.Take() {
			if r.Method != "PROPFIND" && r.Method != "REPORT" {
				t.Fatalf("the pass after the rename sent %+v", r)
			}
		}
		e.syncOK()
		if reqs := e.Rec.Take(); len(reqs) != 1 {
			t.Fatalf("a no-change pass made %d requests, want 1: %+v", len(reqs), reqs)
		}
	})
}

func TestSync_MetadataChangedOnServer_FilesFollow(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.syncOK()
		proppatchMeta(t, e.Srv, e.Events, "Theirs", "#445566")
		e.Rec.Take()
		e.syncOK()
		if n := e.proppatches(); n != 0 {
			t.Errorf("sent %d PROPPATCHes for a server change, want 0", n)
		}
		if e.localMeta("displayname") != "Theirs" || !strings.EqualFold(e.localMeta("color"), "#445566") {
			t.Fatalf("folder: displayname %q color %q", e.localMeta("displayname"), e.localMeta("color"))
		}
	})
}

func TestSync_MetadataChangedOnBothSides_ServerWinsAndSaysSo(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.syncOK()
		e.WriteFile(e.Events, "displayname", []byte("Mine\n"))
		proppatchMeta(t, e.Srv, e.Events, "Theirs", "#445566")
		e.Rec.Take()
		s := e.syncOK()[e.Events]
		if n := e.proppatches(); n != 0 {
			t.Errorf("sent %d PROPPATCHes, want 0", n)
		}
		if e.localMeta("displayname") != "Theirs" {
			t.Fatalf("folder displayname %q, want the server's", e.localMeta("displayname"))
		}
		if !strings.Contains(strings.Join(s.Notes, "\n"), "displayname changed on both sides") {
			t.Fatalf("no note of the conflict: %q", s.Notes)
		}
	})
}

func TestSync_ColorSpelledOtherwiseLocally_NoPropPatch(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		proppatchMeta(t, e.Srv, e.Events, "Events", "#AABBCC")
		e.syncOK()
		e.WriteFile(e.Events, "color", []byte("#aabbccff\n"))
		e.Rec.Take()
		e.syncOK()
		if reqs := e.Rec.Take(); len(reqs) != 1 {
			t.Fatalf("a respelled colour made %d requests, want the one listing: %+v", len(reqs), reqs)
		}
	})
}

func TestSync_ReadOnlyCalendar_RenamedLocally_NotPatchedButReported(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	ro := e.Srv.SeedCalendar(t, "readonly-holidays", "Holidays", map[string][]byte{"h1.ics": event("h1", "New Year")})
	e.Cfg.Accounts[0].Calendars = append(e.Cfg.Accounts[0].Calendars, ro)
	e.syncOK()
	e.WriteFile(ro, "displayname", []byte("My holidays\n"))
	e.Rec.Take()
	s := e.syncOK()[ro]
	if n := e.proppatches(); n != 0 {
		t.Fatalf("PROPPATCHed a read-only calendar %d times", n)
	}
	if !strings.Contains(strings.Join(s.Notes, "\n"), "read-only") {
		t.Fatalf("local rename of a read-only calendar not reported: %q", s.Notes)
	}
	if got := strings.TrimSpace(string(e.ReadFile(ro, "displayname"))); got != "My holidays" {
		t.Fatalf("local displayname %q, want the folder's kept", got)
	}
}

func TestSync_CalendarDeletedOnServer_FolderKeptAndReported(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"a.ics", event("a", "Alpha"))
		e.Cfg.Accounts[0].Calendars = nil // every calendar of the account
		e.syncOK()
		e.Srv.Delete(t, e.Events)
		e.Rec.Take()
		var gone *Summary
		for _, s := range e.sync(SyncOptions{}) {
			if s.Href == e.Events {
				gone = s
			}
		}
		for _, r := range synctest.Writes(e.Rec.Take()) {
			t.Fatalf("a calendar gone from the server made the pass write %+v", r)
		}
		if gone == nil || !strings.Contains(strings.Join(gone.Notes, "\n"), "no longer on the server") {
			t.Fatalf("the gone calendar is not reported: %+v", gone)
		}
		if got := e.ReadFile(e.Events, "a.ics"); !strings.Contains(string(got), "Alpha") {
			t.Fatalf("the folder's item changed: %s", got)
		}
	})
}

func TestSync_AddressBook_ColorFileKeptNeverSent(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		e.Srv.Put(t, book+"ann.vcf", synctest.Card("3.0", "ann", "Ann"))
		e.syncOK()
		e.WriteFile(book, "color", []byte("#112233\n"))
		e.WriteFile(book, "displayname", []byte("People\n"))
		e.Rec.Take()
		e.syncOK()
		if n := e.proppatches(); n != 1 {
			t.Fatalf("sent %d PROPPATCHes for a renamed address book, want 1", n)
		}
		e.syncOK()
		e.syncOK()
		if got := strings.TrimSpace(string(e.ReadFile(book, "color"))); got != "#112233" {
			t.Fatalf("an address book's color file became %q", got)
		}
		if n := e.proppatches(); n != 0 {
			t.Fatalf("later passes sent %d PROPPATCHes", n)
		}
		got := propfindMeta(t, e.Srv, book)
		if !strings.Contains(got, ">People<") {
			t.Fatalf("server after the rename: %s", got)
		}
	})
}
