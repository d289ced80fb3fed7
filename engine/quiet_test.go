package engine

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/testserver"
)

// TestSync_QuietPass_OnlyWhenNothingChanged: a pass whose ctag and folder
// sum match state settles without loading items or planning; every kind of
// change on either side still gets a full pass and is synced.
func TestSync_QuietPass_OnlyWhenNothingChanged(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.putEvents("e%d", 3)
			e.syncOK()
			step := func(what string, wantQuiet bool) *Summary {
				t.Helper()
				e.Rec.Take()
				s := e.syncOK()[e.Events]
				if got := s.Strategy == plan.Unchanged; got != wantQuiet {
					t.Fatalf("%s: quiet pass %v, want %v (summary %+v)", what, got, wantQuiet, s)
				}
				// A quiet pass costs the listing of the calendar home alone.
				if n := len(e.Rec.Take()); wantQuiet && n != 1 {
					t.Fatalf("%s: quiet pass made %d requests, want 1", what, n)
				}
				return s
			}
			step("nothing changed", true)

			// Files that are not items do not count.
			e.WriteFile(e.Events, "notes.txt", []byte("mine"))
			e.WriteFile(e.Events, "e0.ics.conflict-20260101T000000Z", []byte("old loser"))
			step("non-item files added", true)

			// A touched file (same bytes, new mtime) gets a full pass, is
			// recorded, and the pass after that is quiet again.
			later := time.Now().Add(time.Minute)
			if err := os.Chtimes(e.File(e.Events, "e1.ics"), later, later); err != nil {
				t.Fatal(err)
			}
			if s := step("touched", false); s.Uploaded != 0 {
				t.Fatalf("touch uploaded: %+v", s)
			}
			step("after touch recorded", true)

			// A temp file left by a crash: a full pass cleans it.
			e.WriteFile(e.Events, ".vdird-crash.tmp", []byte("partial"))
			step("temp file", false)
			step("after cleaning", true)

			// Local edit, local delete, remote change: each is synced. Our
			// own PUT moves the ctag after the pass read it: the next pass
			// looks (a delta with nothing new), the one after is quiet.
			e.checkLocalEditSynced(step)
			if err := os.Remove(e.File(e.Events, "e0.ics")); err != nil {
				t.Fatal(err)
			}
			if s := step("local delete", false); s.DeletedRemote != 1 {
				t.Fatalf("local delete: %+v", s)
			}
			e.Srv.Put(t, e.Events+"e1.ics", event("e1", "changed on the phone"))
			if s := step("remote change", false); s.Downloaded != 1 {
				t.Fatalf("remote change: %+v", s)
			}
			step("after download", true)
		})
	}
}

// putEvents limits the sync to e.Events and puts n events on the server,
// each under the name and UID fmt.Sprintf(nameFmt, i).
func (e *env) putEvents(nameFmt string, n int) {
	e.t.Helper()
	e.Cfg.Accounts[0].Calendars = []string{e.Events}
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf(nameFmt, i)
		e.Srv.Put(e.t, e.Events+uid+".ics", event(uid, "seeded"))
	}
}

// checkLocalEditSynced edits e2.ics and checks that pass uploads the edit,
// that the pass after it still looks and that the one after that is quiet.
func (e *env) checkLocalEditSynced(pass func(what string, wantQuiet bool) *Summary) {
	e.t.Helper()
	e.WriteFile(e.Events, "e2.ics", event("e2", "edited here"))
	if s := pass("local edit", false); s.Uploaded != 1 {
		e.t.Fatalf("local edit: %+v", s)
	}
	if body, _ := e.Srv.Get(e.t, e.Events+"e2.ics"); !bytes.Contains(body, []byte("edited here")) {
		e.t.Fatal("local edit not on the server")
	}
	pass("after upload", false)
	pass("after upload settled", true)
}
