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

// TestFreshDownload_CalendarChangedDuringDownload_TokenDroppedNothingMissed
// changes, adds and deletes items between the download and the first
// token: that token's listing disagrees with what was downloaded, so it is
// not kept, and the next pass still brings every change.
func TestFreshDownload_CalendarChangedDuringDownload_TokenDroppedNothingMissed(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.cfg.Accounts[0].Calendars = []string{e.events}
			for i := 0; i < 5; i++ {
				e.srv.Put(t, fmt.Sprintf("%se%d.ics", e.events, i), event(fmt.Sprintf("e%d", i), "seeded"))
			}
			var hookErr error
			e.beforeToken = func() {
				hookErr = e.rawDo("PUT", e.events+"e1.ics", event("e1", "changed mid-download"))
				if hookErr == nil {
					hookErr = e.rawDo("PUT", e.events+"late.ics", event("late", "added mid-download"))
				}
				if hookErr == nil {
					hookErr = e.rawDo("DELETE", e.events+"e3.ics", nil)
				}
			}
			e.syncOK()
			e.beforeToken = nil
			if hookErr != nil {
				t.Fatal(hookErr)
			}
			if col := e.collectionState(e.events); col.SyncToken != "" {
				t.Fatalf("token %q kept although the calendar changed under the download", col.SyncToken)
			}
			s := e.syncOK()[e.events]
			if !bytes.Contains(e.readFile(e.events, "e1.ics"), []byte("changed mid-download")) {
				t.Fatal("change made during the download was missed")
			}
			if !bytes.Contains(e.readFile(e.events, "late.ics"), []byte("added mid-download")) {
				t.Fatal("item added during the download was missed")
			}
			for _, n := range e.localNames(e.events) {
				if n == "e3.ics" {
					t.Fatal("item deleted during the download is still local")
				}
			}
			if s.Downloaded != 2 || s.DeletedLocal != 1 {
				t.Fatalf("second pass: %+v", s)
			}
			if col := e.collectionState(e.events); col.SyncToken == "" {
				t.Fatal("no token after the listing pass")
			}
		})
	}
}
