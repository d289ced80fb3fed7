package engine

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// propfindDescription reads a calendar's description from the server
// with a PROPFIND of its own, and returns the raw answer.
func propfindDescription(t *testing.T, s *testserver.Server, href string) string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-description/></D:prop></D:propfind>`
	resp, got, err := s.Do(context.Background(), "PROPFIND", href, map[string]string{"Depth": "0"}, []byte(body))
	if err != nil || resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %v %v", href, resp, err)
	}
	return string(got)
}

func TestSync_ServerRefusesDescription_NamedOnceWithItsReason_OtherPropertiesSet_NotRetried(t *testing.T) {
	e := newEnv(t, testserver.Xandikos)
	e.syncOK()
	e.WriteFile(e.Events, "description", []byte("Team events\n"))
	e.WriteFile(e.Events, "displayname", []byte("Renamed\n"))
	e.Rec.Take()
	s := e.syncOK()[e.Events]
	notes := strings.Join(s.Notes, "\n")
	if !strings.Contains(notes, "description") || !strings.Contains(notes, "409") {
		t.Fatalf("the refusal is not reported with the property and the server's reason: %q", s.Notes)
	}
	if strings.Contains(notes, "refused the folder's displayname") || !strings.Contains(notes, "displayname set on the server") {
		t.Fatalf("the display name the server took is reported refused: %q", s.Notes)
	}
	if got := e.localMeta("displayname"); got != "Renamed" {
		t.Fatalf("the folder's display name became %q after the pass that set it on the server", got)
	}
	if got := propfindMeta(t, e.Srv, e.Events); !strings.Contains(got, ">Renamed<") {
		t.Fatalf("the display name did not reach the server: %s", got)
	}
	for i := range 2 {
		e.Rec.Take()
		s := e.syncOK()[e.Events]
		if n := e.proppatches(); n != 0 {
			t.Fatalf("pass %d after the refusal sent %d PROPPATCHes", i+1, n)
		}
		if notes := strings.Join(s.Notes, "\n"); strings.Contains(notes, "refused") {
			t.Fatalf("pass %d after the refusal reports it again: %q", i+1, s.Notes)
		}
	}
	if got := e.localMeta("displayname"); got != "Renamed" {
		t.Fatalf("the folder's display name became %q", got)
	}
}

func TestSync_DescriptionFile_ReachesTheServer_ServerChangeReachesTheFile(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.syncOK()
	e.WriteFile(e.Events, "description", []byte("Team events\n"))
	e.Rec.Take()
	e.syncOK()
	if n := e.proppatches(); n != 1 {
		t.Fatalf("a new description file sent %d PROPPATCHes, want 1", n)
	}
	if got := propfindDescription(t, e.Srv, e.Events); !strings.Contains(got, ">Team events<") {
		t.Fatalf("server after one sync: %s", got)
	}
	body := `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-description>Their events</C:calendar-description></D:prop></D:set></D:propertyupdate>`
	if resp, got, err := e.Srv.Do(context.Background(), "PROPPATCH", e.Events, nil, []byte(body)); err != nil || resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPPATCH: %v %v %s", resp, err, got)
	}
	e.Rec.Take()
	e.syncOK()
	if n := e.proppatches(); n != 0 {
		t.Fatalf("a server change sent %d PROPPATCHes", n)
	}
	if got := e.localMeta("description"); got != "Their events" {
		t.Fatalf("the description file holds %q, want the server's", got)
	}
	e.Rec.Take()
	e.syncOK()
	if reqs := e.Rec.Take(); len(reqs) != 1 {
		t.Fatalf("a no-change pass made %d requests, want 1: %+v", len(reqs), reqs)
	}
}

func TestFault_PropPatchAllOrNothing_OnePropertyRefused_TheOthersSentAgainAlone(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.syncOK()
	answer := `<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>` + f.Events +
		`</D:href><D:propstat><D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 424 Failed Dependency</D:status></D:propstat>` +
		`<D:propstat><D:prop><C:calendar-description/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status></D:propstat></D:response></D:multistatus>`
	f.px.Add(faultproxy.Rule{Method: "PROPPATCH", Body: "calendar-description", Action: faultproxy.Answer(http.StatusMultiStatus, "application/xml; charset=utf-8", answer)})
	f.WriteFile(f.Events, "description", []byte("Team events\n"))
	f.WriteFile(f.Events, "displayname", []byte("Renamed\n"))
	f.px.Take()
	s := f.syncOK()[f.Events]
	var sent, forwarded []string
	for _, r := range f.px.Take() {
		if r.Method == "PROPPATCH" {
			sent = append(sent, r.Body)
			if r.Forwarded {
				forwarded = append(forwarded, r.Body)
			}
		}
	}
	if len(sent) != 2 || len(forwarded) != 1 || strings.Contains(forwarded[0], "description") || !strings.Contains(forwarded[0], "displayname") {
		t.Fatalf("PROPPATCHes sent %q, reaching the server %q: want the refused one, then the display name alone", sent, forwarded)
	}
	notes := strings.Join(s.Notes, "\n")
	if !strings.Contains(notes, "refused the folder's description (calendar-description 403 Forbidden)") || !strings.Contains(notes, "displayname set on the server") {
		t.Fatalf("notes %q", s.Notes)
	}
	if got := propfindMeta(t, f.Srv, f.Events); !strings.Contains(got, ">Renamed<") {
		t.Fatalf("the display name did not reach the server: %s", got)
	}
	f.syncOK()
	if n := faultproxy.Count(f.px.Take(), "PROPPATCH", nil); n != 0 {
		t.Fatalf("the next pass sent %d PROPPATCHes", n)
	}
}
