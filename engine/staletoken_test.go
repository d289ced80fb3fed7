package engine

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/faultproxy"
)

// reportsTo counts the sync-collection and calendar-query REPORTs sent to
// the calendar href among reqs.
func reportsTo(reqs []faultproxy.Request, href string) (syncs, queries int) {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(href) + "$")
	for _, r := range reqs {
		if r.Method != "REPORT" || !re.MatchString(r.Path) {
			continue
		}
		switch {
		case strings.Contains(r.Body, "sync-collection"):
			syncs++
		case strings.Contains(r.Body, "calendar-query"):
			queries++
		}
	}
	return syncs, queries
}

// TestFault_SyncTokenUnknownButAccepted_ChangeFoundByOneEtagListing: a
// server that no longer knows the recorded sync-token but accepts it
// (sabre/dav 4 after a restore from a backup) answers the delta with no
// changes and the token it was sent. The change marker moved, so one etag
// listing tells what changed, in a scoped pass and in a full one; a normal
// pass, with or without a change, sends no such listing.
func TestFault_SyncTokenUnknownButAccepted_ChangeFoundByOneEtagListing(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.seed("a", "b", "c")
		pass := func(what string, wantSyncs, wantQueries int) *Summary {
			t.Helper()
			f.px.Take()
			s := f.runOK()
			syncs, queries := reportsTo(f.px.Take(), f.Events)
			t.Logf("%s: ↓%d ↑%d ✗local %d ✗server %d; %d sync-collection, %d calendar-query", what,
				s.Downloaded, s.Uploaded, s.DeletedLocal, s.DeletedRemote, syncs, queries)
			if syncs != wantSyncs || queries != wantQueries {
				t.Errorf("%s: %d sync-collection and %d calendar-query REPORTs, want %d and %d", what, syncs, queries, wantSyncs, wantQueries)
			}
			return s
		}

		// The phone puts an event; the local file of removed ("" = none) is deleted.
		change := func(uid, summary, removed string) {
			t.Helper()
			f.Srv.Put(t, f.Events+uid+".ics", event(uid, summary))
			want[uid] = summary
			if removed != "" {
				if err := os.Remove(f.File(f.Events, removed+".ics")); err != nil {
					t.Fatal(err)
				}
				delete(want, removed)
			}
		}

		change("a", "v2 phone", "")
		if s := pass("one change", 1, 0); s.Downloaded != 1 {
			t.Fatalf("the change was not pulled: %+v", s)
		}
		pass("no change", 0, 0)

		rule := f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Action: faultproxy.EchoSyncToken()})
		change("n1", "new phone", "")
		if s := pass("scoped pass, token echoed", 1, 1); s.Downloaded != 1 || rule.Fired() != 1 {
			t.Fatalf("the phone's new event was not pulled (echo fired %d times): %+v", rule.Fired(), s)
		}
		f.converged(want)
		// A deleted file rules out a scoped pass: the full pass's delta.
		change("n2", "new phone", "c")
		if s := pass("full pass, token echoed", 1, 1); s.Downloaded != 1 || s.DeletedRemote != 1 {
			t.Fatalf("the phone's new event was not pulled, or the deletion not sent: %+v", s)
		}
		f.converged(want)

		f.px.Clear()
		change("b", "v2 phone", "n1")
		if s := pass("full pass, one change", 1, 0); s.Downloaded != 1 || s.DeletedRemote != 1 {
			t.Fatalf("the change was not pulled, or the deletion not sent: %+v", s)
		}
		change("a", "v3 phone", "")
		pass("one change after the fault", 1, 0)
		f.converged(want)
		f.idle()
	})
}
