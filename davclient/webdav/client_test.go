package webdav

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vdird/vdird/davclient/webdav/internal/errbody"
	"github.com/vdird/vdird/internal/davtest"
)

func bg() context.Context { return context.Background() }

// fake is an httptest server with the handler h and a Client for it.
func fake(t *testing.T, h http.HandlerFunc) (*httptest.Server, *Client) {
	t.Helper()
	return davtest.Fake(t, h, func(url string) (*Client, error) {
		return New(Options{URL: url + "/", Username: "alice", Password: davtest.Password, Content: []xml.Name{calendarData}})
	})
}

// listMembers does what a listing does: a REPORT on coll whose members
// are collected, outside hrefs reported.
func listMembers(c *Client, coll string) (members []string, err error) {
	m, err := c.Multistatus(bg(), Request{Method: "REPORT", Href: coll, Depth: "1", Body: []byte("<x/>")}, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	outside, err := m.EachMember(coll, func(h string, self bool, r *Response) error {
		if !self {
			members = append(members, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return members, m.Outside(outside)
}

func TestCanonical_EscapingVariants_CompareEqual(t *testing.T) {
	_, c := fake(t, func(http.ResponseWriter, *http.Request) {})
	a, _ := c.Canonical("/cal/john%40doe/a%20b.ics")
	b, _ := c.Canonical(c.base.Load().Scheme + "://" + c.base.Load().Host + "/cal/john@doe/a b.ics")
	if a != b || a != "/cal/john@doe/a%20b.ics" {
		t.Errorf("%q vs %q", a, b)
	}
	if _, err := c.Canonical("https://other.example/cal/"); !errors.Is(err, ErrOutsideCollection) {
		t.Errorf("other origin: %v", err)
	}
}

func TestSend_CredentialsDepthHeadersAndTrace(t *testing.T) {
	var got http.Header
	var traced []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := New(Options{URL: strings.Replace(srv.URL, "http://", "http://bob:"+davtest.Password+"@", 1), UserAgent: "ua/1",
		Trace: func(method, url string, status int, _ time.Duration, err error) {
			traced = append(traced, fmt.Sprint(method, " ", url, " ", status, " ", err))
		}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Send(bg(), Request{Method: "PROPPATCH", Href: "/cal/", Depth: "0", ContentType: "application/xml", Header: map[string]string{"If-Match": `W/"1"`}})
	if err != nil {
		t.Fatal(err)
	}
	Discard(resp)
	user, pass, ok := (&http.Request{Header: got}).BasicAuth()
	if !ok || user != "bob" || pass != davtest.Password || got.Get("Depth") != "0" || got.Get("User-Agent") != "ua/1" ||
		got.Get("Content-Type") != "application/xml" || got.Get("If-Match") != `W/"1"` {
		t.Errorf("request headers %v", got)
	}
	if want := "PROPPATCH " + srv.URL + "/cal/ 204 <nil>"; len(traced) != 1 || traced[0] != want {
		t.Errorf("trace %q, want %q", traced, want)
	}
}

func TestStatusError_Conditions_MapToTheirSentinel(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		want      error
		condition string
		href      string
	}{
		{403, `<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`, ErrInvalidSyncToken, "valid-sync-token", ""},
		{403, `<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:max-resource-size/></D:error>`, ErrTooLarge, "max-resource-size", ""},
		{409, `<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>/cal/a%40b.ics</D:href></C:no-uid-conflict></D:error>`, ErrConflict, "no-uid-conflict", "/cal/a@b.ics"},
		{409, `<D:error xmlns:D="DAV:"><D:other/></D:error>`, ErrConflict, "other", ""},
		{409, `not xml`, ErrConflict, "", ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
		}))
		c, err := New(Options{URL: srv.URL, Conditions: map[string]error{"max-resource-size": ErrTooLarge}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Send(bg(), Request{Method: http.MethodPut, Href: "/cal/a.ics"})
		if err != nil {
			t.Fatal(err)
		}
		e := c.StatusError(http.MethodPut, resp)
		if !errors.Is(e, tc.want) || e.Condition != tc.condition || e.Href != tc.href || e.Status != tc.status {
			t.Errorf("%d %s: %+v, want %v", tc.status, tc.body, e, tc.want)
		}
		srv.Close()
	}
}

// sabreRefusal is how sabre/dav 4 answers a PUT of a component the calendar
// does not take: its own elements first, the precondition last.
const sabreRefusal = `<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <s:sabredav-version>4.7.0</s:sabredav-version>
  <s:exception>Sabre\CalDAV\Exception\InvalidComponentType</s:exception>
  <s:message>Calendar objects must have a VJOURNAL, VEVENT or VTODO component</s:message>
  <cal:supported-calendar-component/>
</d:error>`

func TestStatusError_ServersOwnExplanation_KeptAndShown(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		condition         string
		message           string
		refused           bool
	}{
		{"sabre message before the precondition", "application/xml; charset=utf-8", sabreRefusal, 403,
			"supported-calendar-component", "Calendar objects must have a VJOURNAL, VEVENT or VTODO component", true},
		{"Cyrus reason inside the precondition", "application/xml",
			`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:valid-calendar-data>DTEND must occur after DTSTART</C:valid-calendar-data></D:error>`, 403,
			"valid-calendar-data", "DTEND must occur after DTSTART", true},
		{"responsedescription", "application/xml",
			`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:supported-calendar-data/><D:responsedescription>
			  text/calendar only</D:responsedescription></D:error>`, 403,
			"supported-calendar-data", "text/calendar only", true},
		{"plain text body", "text/plain; charset=utf-8", "Invalid recurrence rules\nin VEVENT 'd'\n", 400, "", "Invalid recurrence rules in VEVENT 'd'", true},
		{"plain text repeating the status (Radicale)", "text/plain", "Bad Request", 400, "", "", true},
		{"html body is not a message", "text/html", "<html><body>Bad</body></html>", 415, "", "", true},
		{"a missing privilege is no refusal of the content", "application/xml",
			`<D:error xmlns:D="DAV:"><D:need-privileges/></D:error>`, 403, "need-privileges", "", false},
		{"a bare 403 is no refusal of the content", "text/plain", "Forbidden", 403, "", "", false},
		{"server error", "text/plain", "oops", 500, "", "oops", false},
		{"Xandikos: a 207 holding a 412 and the precondition", `text/xml; charset="utf-8"`,
			`<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>http%3A//127.0.0.1/cal/a.ics</ns0:href><ns0:status>HTTP/1.1 412 Precondition Failed</ns0:status><ns0:error><ns1:valid-calendar-data /></ns0:error><ns0:responsedescription>Not a valid calendar file: x</ns0:responsedescription></ns0:response></ns0:multistatus>`,
			207, "valid-calendar-data", "Not a valid calendar file: x", true},
		{"a 412 of If-Match is no refusal of the content (sabre)", "application/xml",
			`<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>Sabre\DAV\Exception\PreconditionFailed</s:exception><s:message>An If-Match header was specified, but none of the specified ETags matched.</s:message><s:header>If-Match</s:header></d:error>`,
			412, "", "An If-Match header was specified, but none of the specified ETags matched.", false},
		{"a bare 412 is no refusal of the content", "text/plain", "", 412, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			resp, err := c.Send(bg(), Request{Method: http.MethodPut, Href: "/cal/a.ics"})
			if err != nil {
				t.Fatal(err)
			}
			e := c.StatusError(http.MethodPut, resp)
			if e.Condition != tc.condition || e.Message != tc.message || e.Refused() != tc.refused {
				t.Fatalf("condition %q message %q refused %v; want %q %q %v", e.Condition, e.Message, e.Refused(), tc.condition, tc.message, tc.refused)
			}
			if tc.message != "" && !strings.HasSuffix(e.Error(), ": "+tc.message) {
				t.Errorf("Error() = %q, want the server's text at the end", e.Error())
			}
		})
	}
}

func TestStatusError_LongMessage_OneLineAndCut(t *testing.T) {
	long := strings.Repeat("é word\n", 200)
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, long)
	})
	resp, err := c.Send(bg(), Request{Method: http.MethodPut, Href: "/cal/a.ics"})
	if err != nil {
		t.Fatal(err)
	}
	m := c.StatusError(http.MethodPut, resp).Message
	if len(m) > errbody.MaxMessage+len("…") || strings.Contains(m, "\n") || !utf8.ValidString(m) || !strings.HasSuffix(m, "…") {
		t.Fatalf("message %q (%d bytes)", m, len(m))
	}
}

func TestRedirect_LocationResolvedOnTheSameOriginOnly(t *testing.T) {
	c, err := New(Options{URL: "http://h.example/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc, want string
		err       error
	}{
		{"/dav/%7Ealice/", "/dav/~alice/", nil},
		{"sub/", "/.well-known/sub/", nil},
		{"", "", ErrMalformed},
		{"https://u:" + davtest.Password + "@evil.example/dav/", "", ErrRedirect},
		{"http://other.h.example/dav/", "", ErrRedirect}, // plain http keeps to its host
	} {
		req, _ := http.NewRequest("PROPFIND", "http://h.example/.well-known/caldav", nil)
		resp := &http.Response{StatusCode: http.StatusMovedPermanently, Header: http.Header{}, Request: req}
		if tc.loc != "" {
			resp.Header.Set("Location", tc.loc)
		}
		got, err := c.Redirect("PROPFIND", "/.well-known/caldav", resp)
		if got != tc.want || !errors.Is(err, tc.err) || (err != nil && strings.Contains(err.Error(), davtest.Password)) {
			t.Errorf("Location %q: %q, %v; want %q, %v", tc.loc, got, err, tc.want, tc.err)
		}
	}
}

func TestPropfindOne_HrefSpelledDifferently_TheSingleResponse(t *testing.T) {
	answer := ""
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) { davtest.MultiStatus(w, answer) })
	for _, tc := range []struct{ doc, want string }{
		// The href asked about wins over a response listed before it.
		{`<d:multistatus xmlns:d="DAV:"><d:response><d:href>/other/</d:href><d:propstat><d:prop><d:displayname>other</d:displayname></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>` +
			`<d:response><d:href>/cal</d:href><d:propstat><d:prop><d:displayname>cal</d:displayname></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`, "cal"},
		// A proxy rewrote the path: the single response is the resource.
		{`<d:multistatus xmlns:d="DAV:"><d:response><d:href>/backend/cal/</d:href><d:propstat><d:prop><d:displayname>rewritten</d:displayname></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`, "rewritten"},
	} {
		answer = tc.doc
		r, err := c.PropfindOne(bg(), "/cal/", "<x/>")
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Prop(nsDAV, "displayname"); n == nil || n.Value() != tc.want {
			t.Errorf("displayname %v, want %q", n, tc.want)
		}
	}
	answer = `<d:multistatus xmlns:d="DAV:"></d:multistatus>`
	if _, err := c.PropfindOne(bg(), "/cal/", "<x/>"); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty multistatus: %v, want ErrMalformed", err)
	}
}

func TestEachMember_SelfSkippedOutsideReported(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:">
<d:response><d:href>/cal</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>
<d:response><d:href>/cal/a.ics</d:href><d:href>b%40x.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
<d:response><d:href>/cal/%2e%2e/x.ics</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>
<d:response><d:href>http://evil.example/cal/y.ics</d:href><d:status>HTTP/1.1 200 OK</d:status></d:response>
</d:multistatus>`)
	})
	members, err := listMembers(c, "/cal/")
	if fmt.Sprint(members) != "[/cal/a.ics /cal/b@x.ics]" {
		t.Errorf("members %q", members)
	}
	if !errors.Is(err, ErrOutsideCollection) || !strings.Contains(err.Error(), "/x.ics") || !strings.Contains(err.Error(), "evil.example") {
		t.Errorf("err = %v, want both outside hrefs reported", err)
	}
}
