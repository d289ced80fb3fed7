package engine

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// xandikosRefusal is Xandikos's answer to a PUT whose content it will not
// store: a 207 whose one response is a 412 with the precondition.
const xandikosRefusal = `<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>x.ics</ns0:href>` +
	`<ns0:status>HTTP/1.1 412 Precondition Failed</ns0:status><ns0:error><ns1:valid-calendar-data /></ns0:error>` +
	`<ns0:responsedescription>Not a valid calendar file: no DTSTART</ns0:responsedescription></ns0:response></ns0:multistatus>`

// TestSync_XandikosRefusesAnEditWithA207_EditKeptRejectedNotSentAgain: an
// edit Xandikos refuses for its content is answered with a 207, which is
// no success: the edit stays in the file (it is not replaced by the
// server's version read back), the server keeps its version, and the file
// is not sent again until it changes. Real Xandikos finds nothing to
// refuse in what vdird sends, so the fault proxy answers as it would.
func TestSync_XandikosRefusesAnEditWithA207_EditKeptRejectedNotSentAgain(t *testing.T) {
	f := newFaultEnv(t, testserver.Xandikos)
	f.Cfg.Accounts[0].Calendars = []string{f.Events}
	want := f.seed("x")
	f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
	x := regexp.MustCompile(`/x\.ics$`)
	f.px.Add(faultproxy.Rule{Method: http.MethodPut, Path: x,
		Action: faultproxy.Answer(http.StatusMultiStatus, `text/xml; charset="utf-8"`, xandikosRefusal)})
	f.px.Take()
	for pass := 1; pass <= 2; pass++ {
		s := f.eventsOf(f.run(SyncOptions{}))
		wantPuts := 0
		if pass == 1 {
			wantPuts = 1
		}
		if n := puts(f.px, x); n != wantPuts || s.Err != nil || len(s.Problems) != 0 || len(s.Rejected) != 1 ||
			!strings.Contains(s.Rejected[0], "412 Precondition Failed (valid-calendar-data): Not a valid calendar file: no DTSTART") {
			t.Fatalf("pass %d: %d PUTs, %+v", pass, n, s)
		}
		if local, _ := f.itemsLocal(); local["x"] != "v2 local" || f.itemsOnServer()["x"] != want["x"] {
			t.Fatalf("pass %d: folder %v, server %v", pass, local, f.itemsOnServer())
		}
	}
}
