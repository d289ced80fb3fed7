package engine

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ical "github.com/emersion/go-ical"

	"github.com/vdird/vdird/engine/conflicts"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/vdir"
)

// mergeInput reads a real-world version of an item from engine/merge's
// test data (khal's and todoman's edits, and phone edits as Radicale
// serves them), with the UID uid.
func mergeInput(t *testing.T, name, uid string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("merge", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return ics.ReplaceUID(b, uid)
}

// propValue is the value of prop in the first component of data that has
// one, "" when none has.
func propValue(t *testing.T, data []byte, prop string) string {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	for _, c := range cal.Children {
		if p := c.Props.Get(prop); p != nil {
			return p.Value
		}
	}
	return ""
}

// contentLines splits data into its content lines, each with its folded
// continuation lines and its line ending, as written.
func contentLines(data []byte) []string {
	var out []string
	for l := range strings.Lines(string(data)) {
		if (l[0] == ' ' || l[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += l
			continue
		}
		out = append(out, l)
	}
	return out
}

// changedProperties names the properties of the content lines that one of
// a and b has and the other has not, byte for byte.
func changedProperties(a, b []byte) map[string]bool {
	count := map[string]int{}
	for _, l := range contentLines(a) {
		count[l]++
	}
	for _, l := range contentLines(b) {
		count[l]--
	}
	out := map[string]bool{}
	for l, n := range count {
		if n != 0 {
			out[strings.ToUpper(strings.FieldsFunc(l, func(r rune) bool { return r == ':' || r == ';' })[0])] = true
		}
	}
	return out
}

// TestSync_BothSidesEditedDifferentProperties_OneSyncMergesBoth: real
// edits of one item on both sides since the last sync, each of other
// properties: a khal retitle or time change against a phone's new room,
// a todoman "done" against a phone's new due date. One `vdird sync`
// gives both sides both edits, keeps no conflict copy, changes only the
// lines of what came from the server in the local file, and uploads the
// merged version with If-Match the server's etag. The sync after that
// writes nothing and fetches nothing, and the one after it is quiet.
func TestSync_BothSidesEditedDifferentProperties_OneSyncMergesBoth(t *testing.T) {
	rows := []struct {
		name, base, local, server string
		tasks                     bool
		want                      map[string]string // property → value on both sides after the sync
		fromServer                []string          // the properties whose lines the server's edit gives the file
	}{
		{name: "KhalSummaryPhoneLocation", base: "event-base.ics", local: "event-khal-summary.ics", server: "event-radicale-location.ics",
			want:       map[string]string{"SUMMARY": "Team planning (moved to Q1 review)", "LOCATION": "Room 2.01 (the big one)"},
			fromServer: []string{"DTSTAMP", "LAST-MODIFIED", "LOCATION"}},
		{name: "KhalTimePhoneLocation", base: "event-base.ics", local: "event-khal-time.ics", server: "event-radicale-location.ics",
			want:       map[string]string{"DTSTART": "20270112T140000", "LOCATION": "Room 2.01 (the big one)"},
			fromServer: []string{"DTSTAMP", "LAST-MODIFIED", "LOCATION"}},
		{name: "TodomanDonePhoneDue", base: "todo-base.ics", local: "todo-todoman-done.ics", server: "todo-radicale-due.ics", tasks: true,
			want:       map[string]string{"STATUS": "COMPLETED", "PERCENT-COMPLETE": "100", "DUE": "20270122"},
			fromServer: []string{"DTSTAMP", "DUE"}},
	}
	forEachServer(t, func(t *testing.T, e *env) {
		for _, row := range rows {
			func() {
				cal := e.Events
				if row.tasks {
					cal = e.Tasks
				}
				href := cal + row.name + ".ics"
				e.Srv.Put(t, href, mergeInput(t, row.base, row.name))
				e.syncOK()
				name := row.name + ".ics"
				local := mergeInput(t, row.local, row.name)
				e.WriteFile(cal, name, local)
				e.Srv.Put(t, href, mergeInput(t, row.server, row.name))
				_, serverETag := e.Srv.Get(t, href)

				e.Rec.Take()
				s := e.syncOK()[cal]
				if s.Merged != 1 || s.Conflicts != 0 || s.Uploaded != 1 || s.Downloaded != 0 {
					t.Fatalf("%s: want one clean merge, uploaded: %+v", row.name, s)
				}
				if w := synctest.Writes(e.Rec.Take()); len(w) != 1 || w[0].Method != http.MethodPut || w[0].Path != href || w[0].IfMatch != serverETag {
					t.Errorf("%s: writes %+v, want one PUT of %s with If-Match %s", row.name, w, href, serverETag)
				}
				file := e.ReadFile(cal, name)
				server, _ := e.Srv.Get(t, href)
				for prop, want := range row.want {
					if got, on := propValue(t, file, prop), propValue(t, server, prop); got != want || on != want {
						t.Errorf("%s: %s: file %q, server %q, want %q on both sides", row.name, prop, got, on, want)
					}
				}
				if got := slices.Sorted(maps.Keys(changedProperties(local, file))); !slices.Equal(got, row.fromServer) {
					t.Errorf("%s: the merged file differs from the local one in the lines of %v, want %v", row.name, got, row.fromServer)
				}
				if slices.ContainsFunc(e.LocalNames(cal), func(n string) bool { return strings.Contains(n, ".conflict-") }) {
					t.Errorf("%s: a clean merge left a conflict copy: %v", row.name, e.LocalNames(cal))
				}

				// Our own PUT moved the calendar's marker after the pass read
				// it: the next pass asks for the delta, which holds nothing new.
				e.Rec.Take()
				s = e.syncOK()[cal]
				reqs := e.Rec.Take()
				if changed(s) != 0 || s.Merged != 0 || s.Recorded != 0 {
					t.Errorf("%s: the next sync did something: %+v", row.name, s)
				}
				for _, r := range reqs {
					if r.Method != "PROPFIND" && r.Method != "REPORT" || len(reqs) > 2 {
						t.Errorf("%s: the next sync sent %+v: want the calendar list and at most a delta", row.name, reqs)
						break
					}
				}
				e.Rec.Take()
				if s := e.syncOK()[cal]; !s.Unchanged || len(e.Rec.Take()) != 1 {
					t.Errorf("%s: the sync after that is not the quiet one-request pass: %+v", row.name, s)
				}
			}()
		}
	})
}

// threeProps is an event with a title, a room and a description.
func threeProps(uid, summary, location, description string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + summary + "\r\nLOCATION:" + location +
		"\r\nDESCRIPTION:" + description + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

// TestFault_ServerChangedAgainBeforeTheMergedUpload_MergedAgainWithItsNewVersion:
// the local title and the phone's room are merged, and while the merged
// version is on its way the phone changes the description too. The PUT
// meets a 412; the pass merges again with the server's new version and
// uploads that, so all three edits end up on both sides, without a
// conflict copy.
func TestFault_ServerChangedAgainBeforeTheMergedUpload_MergedAgainWithItsNewVersion(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		f.Srv.Put(t, f.Events+"x.ics", threeProps("x", "Planning", "Room 1", "Agenda"))
		f.runOK()
		f.WriteFile(f.Events, "x.ics", threeProps("x", "Planning (moved)", "Room 1", "Agenda"))
		f.Srv.Put(t, f.Events+"x.ics", threeProps("x", "Planning", "Room 2", "Agenda"))
		f.px.Add(faultproxy.Rule{Method: "PUT", Nth: 1, Action: faultproxy.Hook(func(*http.Request) {
			f.Srv.Put(t, f.Events+"x.ics", threeProps("x", "Planning", "Room 2", "Agenda: budget first"))
		})})
		f.px.Take()
		s := f.runOK()
		var statuses []string
		for _, r := range writes(f.px.Take()) {
			statuses = append(statuses, fmt.Sprintf("%s %d", r.Method, r.Status))
		}
		if s.Merged != 1 || s.Conflicts != 0 || len(statuses) != 2 || statuses[0] != "PUT 412" {
			t.Fatalf("summary %+v, writes %v: want one merge, a PUT refused with 412, then one accepted", s, statuses)
		}
		file := f.ReadFile(f.Events, "x.ics")
		server, _ := f.Srv.Get(t, f.Events+"x.ics")
		for prop, want := range map[string]string{"SUMMARY": "Planning (moved)", "LOCATION": "Room 2", "DESCRIPTION": "Agenda: budget first"} {
			if got, on := propValue(t, file, prop), propValue(t, server, prop); got != want || on != want {
				t.Errorf("%s: file %q, server %q, want %q on both sides", prop, got, on, want)
			}
		}
		if _, other := f.itemsLocal(); len(other) != 0 {
			t.Errorf("files besides the items: %v", other)
		}
		f.idle()
	})
}

// TestSync_SamePropertyOnBothSides_PolicyDecidesOnlyIt_LoserKeptWithItsNote:
// khal and the phone both retitle an event, and the phone moves it to
// another room. The merge takes the room from the server and lets the
// policy decide the title alone; the losing version is kept whole as a
// conflict copy, whose note lets `vdird conflicts` name the title as the
// one property both sides changed.
func TestSync_SamePropertyOnBothSides_PolicyDecidesOnlyIt_LoserKeptWithItsNote(t *testing.T) {
	const localTitle, phoneTitle, room = "Team planning (moved to Q1 review)", "Team planning (all hands)", "Room 2.01"
	rows := []struct {
		policy       plan.Policy
		title        string // on both sides after the sync
		copied       conflicts.Side
		copyHas      string
		otherwiseSet conflicts.Side // the side a copy without a note would be taken for
	}{
		{plan.ServerWins, phoneTitle, conflicts.Local, localTitle, conflicts.Server},
		{plan.LocalWins, localTitle, conflicts.Server, phoneTitle, conflicts.Local},
		{plan.KeepBoth, phoneTitle, conflicts.Local, localTitle, conflicts.Server},
	}
	forEachServer(t, func(t *testing.T, e *env) {
		for _, row := range rows {
			e.Cfg.Accounts[0].ConflictPolicy = row.policy
			uid := string(row.policy)
			href, name := e.Events+uid+".ics", uid+".ics"
			e.Srv.Put(t, href, mergeInput(t, "event-base.ics", uid))
			e.syncOK()
			local := mergeInput(t, "event-khal-summary.ics", uid)
			e.WriteFile(e.Events, name, local)
			e.Srv.Put(t, href, bytes.Replace(mergeInput(t, "event-radicale-summary.ics", uid), []byte("LOCATION:Room 4.12"), []byte("LOCATION:"+room), 1))

			s := e.syncOK()[e.Events]
			// khal also rewrote the time zone and the producer: the merged
			// version goes to the server whichever title wins.
			if s.Merged != 1 || s.Conflicts != 1 || s.Uploaded != 1 {
				t.Fatalf("%s: want one merge with a conflict, uploaded: %+v", row.policy, s)
			}
			file := e.ReadFile(e.Events, name)
			server, _ := e.Srv.Get(t, href)
			for prop, want := range map[string]string{"SUMMARY": row.title, "LOCATION": room} {
				if got, on := propValue(t, file, prop), propValue(t, server, prop); got != want || on != want {
					t.Errorf("%s: %s: file %q, server %q, want %q on both sides", row.policy, prop, got, on, want)
				}
			}
			cs, err := conflicts.List(filepath.Join(e.Root, calDir(e.Events)), vdir.ICS, row.otherwiseSet)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(cs, func(c conflicts.Conflict) bool { return c.File == name })
			if i < 0 {
				t.Fatalf("%s: no conflict copy of %s: %+v", row.policy, name, cs)
			}
			c := cs[i]
			kept := e.ReadFile(e.Events, c.Copy)
			if c.Copied != row.copied || !c.Merged || !slices.Equal(c.Properties(), []string{"SUMMARY"}) || propValue(t, kept, "SUMMARY") != row.copyHas {
				t.Errorf("%s: conflict %+v, copy titled %q", row.policy, c, propValue(t, kept, "SUMMARY"))
			}
			if row.copied == conflicts.Local && !bytes.Equal(kept, local) {
				t.Errorf("%s: the copy is not the local file as it was", row.policy)
			}
			e.syncOK()
			e.syncIdle(string(row.policy) + ": the sync after the conflict")
		}
	})
}

// TestSync_AddressBook_BothSidesEditedACard_OneSyncMergesThemAsVCards:
// khard adds a home email to a contact while the phone adds a home number;
// one sync merges the two cards as vCards and uploads the result, so both
// sides hold both, without a conflict copy.
func TestSync_AddressBook_BothSidesEditedACard_OneSyncMergesThemAsVCards(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		href := book + "carla.vcf"
		e.Srv.Put(t, href, mergeInput(t, "card-base.vcf", "carla"))
		e.syncOK()
		e.WriteFile(book, "carla.vcf", mergeInput(t, "card-khard-email.vcf", "carla"))
		e.Srv.Put(t, href, mergeInput(t, "card-radicale-tel.vcf", "carla"))

		s := e.syncOK()[book]
		if s.Merged != 1 || s.Conflicts != 0 || s.Uploaded != 1 || s.Downloaded != 0 {
			t.Fatalf("want one clean merge, uploaded: %+v", s)
		}
		server, _ := e.Srv.Get(t, href)
		for side, data := range map[string][]byte{"file": e.ReadFile(book, "carla.vcf"), "server": server} {
			if !bytes.Contains(data, []byte("EMAIL;TYPE=home:carla@home.example")) || !bytes.Contains(data, []byte("TEL;TYPE=home:+351 218 765 432")) {
				t.Errorf("the %s lacks an edit of one side:\n%s", side, data)
			}
		}
		if slices.ContainsFunc(e.LocalNames(book), func(n string) bool { return strings.Contains(n, ".conflict-") }) {
			t.Errorf("a clean merge left a conflict copy: %v", e.LocalNames(book))
		}
	})
}
