package engine

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/testserver"
)

// seedEvents limits the sync to e.Events, puts n events e00, e01, … on
// the server and syncs them down.
func (e *env) seedEvents(n int) {
	e.t.Helper()
	e.putEvents("e%02d", n)
	e.syncOK()
}

// TestSync_ScopedPass_RemoteChangesPlannedFromTheDeltaAlone: with the
// folder as recorded, server changes are planned from the sync-collection
// delta without loading the calendar, and give what a full pass gives:
// edits, deletions, an item moved to a new href, and the mass-delete guard.
// (Neither server keeps two hrefs with one UID, so the UID scan that brings
// such an item into a scoped plan is covered by plan's
// TestPlan_Partial_SameActionsAsWholeListing and state's tests only.)
func TestSync_ScopedPass_RemoteChangesPlannedFromTheDeltaAlone(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.seedEvents(20)
			scoped := func(what string) *Summary {
				t.Helper()
				e.Rec.Take()
				s := e.syncOK()[e.Events]
				if s.Strategy != plan.ScopedDelta {
					t.Fatalf("%s: strategy %v, want %v (%+v)", what, s.Strategy, plan.ScopedDelta, s)
				}
				return s
			}

			e.Srv.Put(t, e.Events+"e01.ics", event("e01", "changed on the phone"))
			if s := scoped("remote edit"); s.Downloaded != 1 {
				t.Fatalf("remote edit: %+v", s)
			}
			if !bytes.Contains(e.ReadFile(e.Events, "e01.ics"), []byte("changed on the phone")) {
				t.Fatal("remote edit not in the file")
			}
			var methods []string
			for _, r := range e.Rec.Take() {
				methods = append(methods, r.Method)
			}
			if got := strings.Join(methods, " "); got != "PROPFIND REPORT REPORT" {
				t.Fatalf("requests for one remote edit: %s", got)
			}

			e.Srv.Delete(t, e.Events+"e02.ics")
			if s := scoped("remote delete"); s.DeletedLocal != 1 {
				t.Fatalf("remote delete: %+v", s)
			}

			// Moved on the server: same UID, new href. The local file is
			// recorded under the new href: one file for the UID, no upload,
			// no deletion, no duplicate.
			body, _ := e.Srv.Get(t, e.Events+"e03.ics")
			// (Delete first: both servers keep one href per UID.)
			e.Srv.Delete(t, e.Events+"e03.ics")
			e.Srv.Put(t, e.Events+"moved.ics", body)
			if s := scoped("moved"); s.Uploaded != 0 || s.Conflicts != 0 || s.DeletedLocal != 0 {
				t.Fatalf("moved: %+v", s)
			}
			if count := e.localCount(e.Events, "UID:e03\r\n"); count != 1 {
				t.Fatalf("UID e03 in %d local files after the move", count)
			}

			// Mass deletion on the server: refused by the guard, nothing lost.
			for i := 5; i < 18; i++ {
				e.Srv.Delete(t, fmt.Sprintf("%se%02d.ics", e.Events, i))
			}
			refused := e.sync(SyncOptions{})[0]
			if refused.Strategy != plan.ScopedDelta || refused.Refused == "" || refused.DeletedLocal != 0 {
				t.Fatalf("mass delete: %+v", refused)
			}
			if len(e.LocalNames(e.Events)) < 15 {
				t.Fatalf("local files deleted despite the guard: %v", e.LocalNames(e.Events))
			}
		})
	}
}

// TestSync_ScopedLocalPass_EditsAndNewFilesFromTheChangedFilesAlone: with
// the ctag as recorded, local edits and new files are planned from the
// files whose fingerprint moved; a deleted file or a crash temp file gets a
// full pass (with its guards).
func TestSync_ScopedLocalPass_EditsAndNewFilesFromTheChangedFilesAlone(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.seedEvents(10)
			pass := func(what string, want plan.Strategy) *Summary {
				t.Helper()
				s := e.syncOK()[e.Events]
				if s.Strategy != want {
					t.Fatalf("%s: strategy %v, want %v (%+v)", what, s.Strategy, want, s)
				}
				return s
			}

			e.WriteFile(e.Events, "e01.ics", event("e01", "edited here"))
			if s := pass("local edit", plan.ScopedLocal); s.Uploaded != 1 {
				t.Fatalf("local edit: %+v", s)
			}
			if body, _ := e.Srv.Get(t, e.Events+"e01.ics"); !bytes.Contains(body, []byte("edited here")) {
				t.Fatal("edit not on the server")
			}
			e.settle()

			e.WriteFile(e.Events, "mine.ics", event("mine", "new here"))
			if s := pass("new file", plan.ScopedLocal); s.Uploaded != 1 {
				t.Fatalf("new file: %+v", s)
			}
			e.settle()

			// A copy of an existing file (same UID): planned together with the
			// item holding that UID, so it is not uploaded as a second one.
			e.WriteFile(e.Events, "copy.ics", e.ReadFile(e.Events, "e02.ics"))
			s := pass("copy", plan.ScopedLocal)
			if s.Uploaded != 0 {
				t.Fatalf("a copy with an existing UID was uploaded: %+v", s)
			}
			if n := e.serverCount(e.Events, "UID:e02\r\n"); n != 1 {
				t.Fatalf("UID e02 on the server %d times", n)
			}
			if err := os.Remove(e.File(e.Events, "copy.ics")); err != nil {
				t.Fatal(err)
			}
			e.syncOK()

			// A deleted file: a full pass (scoped passes never plan deletions).
			if err := os.Remove(e.File(e.Events, "e03.ics")); err != nil {
				t.Fatal(err)
			}
			if s := pass("local delete", plan.Full); s.DeletedRemote != 1 {
				t.Fatalf("local delete: %+v", s)
			}
		})
	}
}

// TestSync_ScopedBothPass_ChangesOnBothSidesPlannedFromBothScopes: when the
// folder gained or changed files and the server changed too, the pass is
// planned from the changed files and the sync-collection delta together,
// and gives what a full pass gives: uploads, downloads, a remote deletion,
// a conflict (server-wins: the local version kept in a conflict copy), the
// mass-delete guard; a local deletion still gets a full pass.
func TestSync_ScopedBothPass_ChangesOnBothSidesPlannedFromBothScopes(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			const n = 20
			e.seedEvents(n)
			pass := func(what string) *Summary {
				t.Helper()
				s := e.sync(SyncOptions{})[0]
				if s.Strategy != plan.ScopedBoth {
					t.Fatalf("%s: strategy %v, want %v (%+v)", what, s.Strategy, plan.ScopedBoth, s)
				}
				return s
			}

			// Both sides at once, on different items.
			e.WriteFile(e.Events, "e01.ics", event("e01", "edited here"))
			e.WriteFile(e.Events, "mine.ics", event("mine", "new here"))
			e.Srv.Put(t, e.Events+"e05.ics", event("e05", "edited on the phone"))
			e.Srv.Delete(t, e.Events+"e06.ics")
			e.Srv.Put(t, e.Events+"phone.ics", event("phone", "new on the phone"))
			s := pass("both sides")
			if s.Uploaded != 2 || s.Downloaded != 2 || s.DeletedLocal != 1 || s.DeletedRemote != 0 || s.Conflicts != 0 || len(s.Problems) != 0 {
				t.Fatalf("both sides: %+v", s)
			}
			for href, want := range map[string]string{"e01.ics": "edited here", "e05.ics": "edited on the phone"} {
				if body, _ := e.Srv.Get(t, e.Events+href); !bytes.Contains(body, []byte(want)) {
					t.Fatalf("server %s lacks %q", href, want)
				}
			}
			if !bytes.Contains(e.ReadFile(e.Events, "e05.ics"), []byte("edited on the phone")) {
				t.Fatal("remote edit not in the file")
			}
			if _, err := os.Stat(e.File(e.Events, "e06.ics")); !os.IsNotExist(err) {
				t.Fatalf("remotely deleted item still in the folder (%v)", err)
			}
			if got := e.localCount(e.Events, "new on the phone"); got != 1 {
				t.Fatalf("the phone's new item is in %d local files", got)
			}
			e.settle()

			// The same item changed on both sides: a conflict, nothing lost.
			e.WriteFile(e.Events, "e07.ics", event("e07", "mine"))
			e.Srv.Put(t, e.Events+"e07.ics", event("e07", "phone"))
			if s := pass("same item"); s.Conflicts != 1 {
				t.Fatalf("same item: %+v", s)
			}
			if !bytes.Contains(e.ReadFile(e.Events, "e07.ics"), []byte("phone")) {
				t.Fatal("server-wins: the file should hold the server version")
			}
			if !e.HasConflictCopy(e.Events, "e07.ics", "mine") {
				t.Fatalf("the local version of e07 is lost: %v", e.LocalNames(e.Events))
			}
			e.settle()

			// A mass deletion on the server with a local edit: refused as a
			// whole, nothing deleted, the edit waits.
			e.WriteFile(e.Events, "e02.ics", event("e02", "edited while the phone deleted"))
			for i := 8; i < 19; i++ {
				e.Srv.Delete(t, fmt.Sprintf("%se%02d.ics", e.Events, i))
			}
			if s := pass("mass delete"); s.Refused == "" || s.DeletedLocal != 0 {
				t.Fatalf("mass delete: %+v", s)
			}
			if len(e.LocalNames(e.Events)) < n {
				t.Fatalf("local files deleted despite the guard: %v", e.LocalNames(e.Events))
			}
		})
	}
}

// settle runs the pass that takes in our own writes (they move the change
// marker: one delta pass), then checks that the next one is quiet.
func (e *env) settle() {
	e.t.Helper()
	e.syncOK()
	for _, s := range e.syncOK() {
		if s.Strategy != plan.Unchanged {
			e.t.Fatalf("%s not quiet after settling: %+v", s.Calendar, s)
		}
	}
}
