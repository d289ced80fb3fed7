package engine

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
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
		f.px.Add(faultproxy.Rule{Method: "PROPFIND", Action: faultproxy.RewriteBody(func(_ *http.Request, b []byte) []byte {
			return syncReportRe.ReplaceAll(syncTokenPropRe.ReplaceAll(b, nil), nil)
		})})
		f.putEvents("e%d", 3)
		pass := func(what string, wantQuiet bool) *Summary {
			t.Helper()
			f.px.Take()
			s := f.runOK()
			if got := s.Strategy == plan.Unchanged; got != wantQuiet {
				t.Fatalf("%s: quiet %v, want %v (%+v)", what, got, wantQuiet, s)
			}
			for _, r := range f.px.Take() {
				if strings.Contains(r.Body, "sync-collection") {
					t.Fatalf("%s: sync-collection sent to a server that does not offer it", what)
				}
			}
			if col := f.collectionState(f.Events); !strings.HasPrefix(col.Marker, "ctag ") || col.SyncToken != "" {
				t.Fatalf("%s: recorded %+v; want a ctag marker and no token", what, col)
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
		f.checkLocalEditSynced(pass)
	})
}
