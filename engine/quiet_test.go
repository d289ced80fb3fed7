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
			e.Cfg.Accounts[0].Calendars = []string{e.Events}
			for i := 0; i < 3; i++ {
				e.Srv.Put(t, fmt.Sprintf("%se%d.ics", e.Events, i), event(fmt.Sprintf("e%d", i), "seeded"))
			}
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

			// Local edit, local delete, remote change: each is synced.
			e.WriteFile(e.Events, "e2.ics", event("e2", "edited here"))
			if s := step("local edit", false); s.Uploaded != 1 {
				t.Fatalf("local edit: %+v", s)
			}
			if body, _ := e.Srv.Get(t, e.Events+"e2.ics"); !bytes.Contains(body, []byte("edited here")) {
				t.Fatal("local edit not on the server")
			}
			// Our own PUT moved the ctag after this pass read it: the next
			// pass looks (a delta with nothing new), the one after is quiet.
			step("after upload", false)
			step("after upload settled", true)
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
