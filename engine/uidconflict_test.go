package engine

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vdird/vdird/engine/window"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// TestSync_NewFileWhoseUIDTheServerHoldsAtAnotherHref_SettledInOnePass_NextPassSendsNoPUT:
// a file made after the first sync holds UID X, which the phone puts at
// a.ics of the same calendar just before the file's create reaches the
// server. Radicale refuses the create with 409 no-uid-conflict, Xandikos
// with a 207 holding a 412, neither naming a.ics. One REPORT on the UID
// finds the holder, which is then settled as when the server names it: a
// holder with the file's content is recorded, one with other content goes
// by the conflict policy (the server's version wins the file, the file's
// is kept as a conflict copy). A holder the lookup cannot find (a task
// holding the UID of a new event, in a calendar whose tasks the
// configuration leaves out) leaves the file Rejected with the server's
// answer. Either way the next pass sends no PUT, and both versions are
// kept.
func TestSync_NewFileWhoseUIDTheServerHoldsAtAnotherHref_SettledInOnePass_NextPassSendsNoPUT(t *testing.T) {
	for _, phone := range []string{"same content", "other content", "a task"} {
		t.Run(strings.ReplaceAll(phone, " ", "-"), func(t *testing.T) {
			forEachFaultServer(t, func(t *testing.T, f *fenv) {
				f.Events = f.Srv.MakeCalendar(t, "mixed", "Mixed", "VEVENT", "VTODO")
				f.Cfg.Accounts[0].Calendars = []string{f.Events}
				lookups := 1
				if phone == "a task" {
					// Only events are synced: the file is looked up by its UID
					// before it is planned as well, and the task is not found.
					f.Cfg.Accounts[0].CalendarScopes = nil
					f.Cfg.Accounts[0].Scope = window.Scope{Components: []string{"VEVENT"}}
					lookups = 2
				}
				want := f.seed("keep")
				laptop := event("X", "the laptop's")
				phoneData := map[string][]byte{"same content": laptop, "other content": event("X", "the phone's"), "a task": task("X", "the phone's task")}[phone]
				f.WriteFile(f.Events, "b.ics", laptop)
				bPath, aPath := regexp.MustCompile(`/b\.ics$`), regexp.MustCompile(`/a\.ics$`)
				hook := f.px.Add(faultproxy.Rule{Method: http.MethodPut, Path: bPath, Nth: 1,
					Action: faultproxy.Hook(func(*http.Request) { f.Srv.Put(t, f.Events+"a.ics", phoneData) })})
				f.px.Take()

				s := f.eventsOf(f.run(SyncOptions{}))
				reqs := f.px.Take()
				t.Logf("pass 1: %+v", s)
				for _, r := range reqs {
					if r.Method == "REPORT" && strings.Contains(r.Body, `prop-filter name="UID"`) {
						lookups--
					}
				}
				if hook.Fired() != 1 || faultproxy.Count(reqs, http.MethodPut, bPath) != 1 || faultproxy.Count(reqs, http.MethodPut, aPath) != 0 || lookups != 0 || s.Err != nil {
					t.Fatalf("pass 1: hook fired %d, lookups left %d, requests %+v", hook.Fired(), lookups, reqs)
				}
				local, other := f.itemsLocal()
				srv := f.itemsOnServer()
				switch phone {
				case "same content":
					if len(s.Problems)+len(s.Rejected)+s.Conflicts != 0 || len(other) != 0 || srv["X"] != "the laptop's" || local["X"] != "the laptop's" {
						t.Fatalf("not recorded as one item: %+v; server %v, folder %v %v", s, srv, local, other)
					}
				case "other content":
					if s.Conflicts != 1 || len(s.Problems)+len(s.Rejected) != 0 || srv["X"] != "the phone's" || local["X"] != "the phone's" ||
						len(other) != 1 || !strings.HasPrefix(other[0], "b.ics.conflict-") || summaryOf(f.ReadFile(f.Events, other[0])) != "the laptop's" {
						t.Fatalf("not settled by server-wins: %+v; server %v, folder %v %v", s, srv, local, other)
					}
				case "a task":
					if len(s.Rejected) != 1 || !strings.Contains(s.Rejected[0], "b.ics: refused by the server, not sent again until the file changes") ||
						!strings.Contains(s.Rejected[0], "(no-uid-conflict)") || !strings.Contains(s.Rejected[0], "no member of the collection found holding UID X") ||
						srv["X"] != "the phone's task" || local["X"] != "the laptop's" || len(other) != 0 {
						t.Fatalf("not rejected with both kept: %+v; server %v, folder %v %v", s, srv, local, other)
					}
				}
				if srv["keep"] != want["keep"] || local["keep"] != want["keep"] {
					t.Fatalf("keep lost: server %v, folder %v", srv, local)
				}

				for pass := 2; pass <= 3; pass++ {
					s := f.eventsOf(f.run(SyncOptions{}))
					reqs := f.px.Take()
					if n := faultproxy.Count(reqs, http.MethodPut, nil); n != 0 || s.Err != nil || changed(s) != 0 || len(s.Problems) != 0 {
						t.Fatalf("pass %d sent %d PUTs: %+v", pass, n, s)
					}
					if rejected := phone == "a task"; rejected != (len(s.Rejected) == 1) {
						t.Fatalf("pass %d: rejected %q", pass, s.Rejected)
					}
				}
			})
		})
	}
}

// TestSync_AddressBook_NewCardWhoseUIDRadicaleHoldsAtAnotherHref_SettledInOnePass:
// the same with a card. Radicale refuses the second card of a UID with
// 409 CARDDAV:no-uid-conflict, naming no href, and the holder is found
// with one addressbook-query on the UID. (Xandikos keeps both cards.)
func TestSync_AddressBook_NewCardWhoseUIDRadicaleHoldsAtAnotherHref_SettledInOnePass(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	book := f.AddAddressBook("contacts", "Contacts")
	f.runOK()
	f.WriteFile(book, "b.vcf", card("3.0", "X", "Laptop"))
	bPath := regexp.MustCompile(`/b\.vcf$`)
	f.px.Add(faultproxy.Rule{Method: http.MethodPut, Path: bPath, Nth: 1,
		Action: faultproxy.Hook(func(*http.Request) { f.Srv.Put(t, book+"a.vcf", card("3.0", "X", "Phone")) })})
	f.px.Take()
	for pass := 1; pass <= 2; pass++ {
		var s *Summary
		for _, x := range f.run(SyncOptions{}) {
			if x.Href == book {
				s = x
			}
		}
		reqs := f.px.Take()
		wantPuts, wantConflicts := 1, 1
		if pass == 2 {
			wantPuts, wantConflicts = 0, 0
		}
		if s == nil || s.Err != nil || len(s.Problems)+len(s.Rejected) != 0 || s.Conflicts != wantConflicts || faultproxy.Count(reqs, http.MethodPut, nil) != wantPuts {
			t.Fatalf("pass %d: %+v; requests %+v", pass, s, reqs)
		}
	}
	var copies []string
	for _, n := range f.LocalNames(book) {
		if strings.HasPrefix(n, "b.vcf.conflict-") {
			copies = append(copies, n)
		}
	}
	srv, _ := f.Srv.Get(t, book+"a.vcf")
	if !strings.Contains(string(f.ReadFile(book, "b.vcf")), "FN:Phone") || !strings.Contains(string(srv), "FN:Phone") ||
		len(copies) != 1 || !strings.Contains(string(f.ReadFile(book, copies[0])), "FN:Laptop") {
		t.Fatalf("folder %v, server a.vcf %q", f.LocalNames(book), srv)
	}
	if b, _ := f.Srv.Get(t, book+"b.vcf"); b != nil {
		t.Fatalf("b.vcf on the server: %q", b)
	}
}
