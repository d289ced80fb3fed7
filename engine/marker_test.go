package engine

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/state"
)

var (
	syncTokenPropRe = regexp.MustCompile(`(?s)<([A-Za-z0-9_.-]+:)?sync-token>.*?</([A-Za-z0-9_.-]+:)?sync-token>`)
	syncReportRe    = regexp.MustCompile(`<([A-Za-z0-9_.-]+:)?sync-collection\s*/>`)
)

// TestSync_ServerWithoutSyncToken_CTagIsTheMarker runs against real servers
// made to look like a CalDAV server without RFC 6578 (no DAV:sync-token, no
// sync-collection in supported-report-set): the getctag becomes the change
// marker, a pass with nothing new is quiet, and changes on either side are
// still found and synced.
func TestSync_ServerWithoutSyncToken_CTagIsTheMarker(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		f.Cfg.Accounts[0].Calendars = []string{f.Events}
		f.px.Add(faultproxy.Rule{Method: "PROPFIND", Action: faultproxy.RewriteBody(func(_ *http.Request, b []byte) []byte {
			return syncReportRe.ReplaceAll(syncTokenPropRe.ReplaceAll(b, nil), nil)
		})})
		for i := 0; i < 3; i++ {
			f.Srv.Put(t, fmt.Sprintf("%se%d.ics", f.Events, i), event(fmt.Sprintf("e%d", i), "seeded"))
		}
		pass := func(what string, wantQuiet bool) *Summary {
			t.Helper()
			store, err := state.Open(f.Cfg.StatePath)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			eng := NewEngine(f.Cfg, store, zerolog.Nop())
			eng.HTTPClient = &http.Client{Transport: authSpy{f}}
			f.px.Take()
			var s *Summary
			for _, x := range eng.Sync(context.Background(), SyncOptions{}) {
				if x.Failed() {
					t.Fatalf("%s: %+v", what, x)
				}
				if x.Href == f.Events {
					s = x
				}
			}
			if got := s.Strategy == plan.Unchanged; got != wantQuiet {
				t.Fatalf("%s: quiet %v, want %v (%+v)", what, got, wantQuiet, s)
			}
			for _, r := range f.px.Take() {
				if strings.Contains(r.Body, "sync-collection") {
					t.Fatalf("%s: sync-collection sent to a server that does not offer it", what)
				}
			}
			col, ok, err := store.Collection(collectionKey(&f.Cfg.Accounts[0], f.Events))
			if err != nil || !ok || !strings.HasPrefix(col.Marker, "ctag ") || col.SyncToken != "" {
				t.Fatalf("%s: recorded %+v, %v, %v; want a ctag marker and no token", what, col, ok, err)
			}
			return s
		}
		if s := pass("first", false); s.Downloaded != 3 {
			t.Fatalf("first pass: %+v", s)
		}
		pass("nothing changed", true)
		f.Srv.Put(t, f.Events+"e1.ics", event("e1", "changed on the phone"))
		if s := pass("remote change", false); s.Downloaded != 1 {
			t.Fatalf("remote change: %+v", s)
		}
		pass("after download", true)
		f.WriteFile(f.Events, "e2.ics", event("e2", "edited here"))
		if s := pass("local edit", false); s.Uploaded != 1 {
			t.Fatalf("local edit: %+v", s)
		}
		if body, _ := f.Srv.Get(t, f.Events+"e2.ics"); !bytes.Contains(body, []byte("edited here")) {
			t.Fatal("local edit not on the server")
		}
		pass("after upload", false) // our PUT moved the ctag after the pass read it
		pass("after upload settled", true)
	})
}
