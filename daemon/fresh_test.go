package daemon

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// collectionState reads what the last pass recorded for cal.
func (e *env) collectionState(cal string) state.Collection {
	e.t.Helper()
	store, err := state.Open(e.cfg.StatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	col, ok, err := store.Collection(collectionKey(&e.cfg.Accounts[0], cal))
	if err != nil || !ok {
		e.t.Fatalf("collection %s: ok=%v err=%v", cal, ok, err)
	}
	return col
}

// rawDo sends one request to the server without a testing.TB, for hooks
// that run on the engine's goroutines (where t.Fatal must not be called).
func (e *env) rawDo(method, href string, body []byte) error {
	req, err := http.NewRequest(method, strings.TrimSuffix(e.srv.URL, "/")+href, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(e.srv.User, e.srv.Password)
	if body != nil {
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, href, resp.Status)
	}
	return nil
}

func TestFreshDownload_RecordsFirstSyncToken(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.cfg.Accounts[0].Calendars = []string{e.events}
			for i := 0; i < 5; i++ {
				e.srv.Put(t, fmt.Sprintf("%se%d.ics", e.events, i), event(fmt.Sprintf("e%d", i), "seeded"))
			}
			s := e.syncOK()[e.events]
			if s.Downloaded != 5 {
				t.Fatalf("downloaded %d, want 5", s.Downloaded)
			}
			if col := e.collectionState(e.events); col.SyncToken == "" {
				t.Fatal("no sync-token recorded after a quiet fresh download")
			}
			// The next remote change comes as a delta from that token.
			e.srv.Put(t, e.events+"e2.ics", event("e2", "changed on the phone"))
			e.rec.take()
			e.syncOK()
			if !bytes.Contains(e.readFile(e.events, "e2.ics"), []byte("changed on the phone")) {
				t.Fatal("remote change did not arrive")
			}
			reports := 0
			for _, r := range e.rec.take() {
				if r.Method == "REPORT" {
					reports++
				}
			}
			if reports > 2 { // sync-collection delta + multiget
				t.Fatalf("%d REPORTs for one remote change", reports)
			}
		})
	}
}

// TestFreshDownload_CalendarChangedAroundTheDownload_NothingMissed changes,
// adds and deletes items between the first token and the data, and again
// while the data is being written: the token predates all of it, so the
// next pass (a delta from it) brings every change, and nothing is doubled.
func TestFreshDownload_CalendarChangedAroundTheDownload_NothingMissed(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.cfg.Accounts[0].Calendars = []string{e.events}
			for i := 0; i < 6; i++ {
				e.srv.Put(t, fmt.Sprintf("%se%d.ics", e.events, i), event(fmt.Sprintf("e%d", i), "seeded"))
			}
			var hookErr error
			do := func(method, href string, body []byte) {
				if hookErr == nil {
					hookErr = e.rawDo(method, href, body)
				}
			}
			e.afterToken = func() {
				do("PUT", e.events+"e1.ics", event("e1", "changed before the data"))
				do("PUT", e.events+"early.ics", event("early", "added before the data"))
			}
			e.batchItems = 2
			e.afterBatch = func(done int) {
				if done == 2 { // the server already answered: these come after the data
					do("PUT", e.events+"e4.ics", event("e4", "changed during the download"))
					do("PUT", e.events+"late.ics", event("late", "added during the download"))
					do("DELETE", e.events+"e3.ics", nil)
				}
			}
			e.syncOK()
			e.afterToken, e.afterBatch = nil, nil
			if hookErr != nil {
				t.Fatal(hookErr)
			}
			if col := e.collectionState(e.events); col.SyncToken == "" {
				t.Fatal("no token recorded")
			}
			e.syncOK()
			for name, want := range map[string]string{
				"e1.ics": "changed before the data", "early.ics": "added before the data",
				"e4.ics": "changed during the download", "late.ics": "added during the download",
			} {
				if !bytes.Contains(e.readFile(e.events, name), []byte(want)) {
					t.Fatalf("%s lacks %q", name, want)
				}
			}
			names := e.localNames(e.events)
			ics := 0
			for _, n := range names {
				if n == "e3.ics" {
					t.Fatal("item deleted during the download is still local")
				}
				if strings.HasSuffix(n, ".ics") {
					ics++
				}
			}
			if ics != 7 { // e0 e1 e2 e4 e5 early late
				t.Fatalf("local items %v", names)
			}
		})
	}
}
