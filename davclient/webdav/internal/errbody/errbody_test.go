package errbody

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRead_HrefInsideThePrecondition_TruncatedXMLIsNoDAVError(t *testing.T) {
	b := Read([]byte(`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>/cal/a.ics</D:href></C:no-uid-conflict></D:error>`), "application/xml", 409)
	if b != (Body{Condition: "no-uid-conflict", Space: "urn:ietf:params:xml:ns:caldav", Href: "/cal/a.ics"}) {
		t.Fatalf("%+v", b)
	}
	if b := Read([]byte(`<D:error xmlns:D="DAV:"><D:valid-sync-token>`), "application/xml", 403); b != (Body{}) {
		t.Fatalf("truncated: %+v", b)
	}
}

// FuzzRead: any body gives a message on one line within the cap.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:message>x</s:message><d:y/></d:error>`), "application/xml")
	f.Add([]byte("Bad\nRequest"), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		b := Read(body, ctype, 400)
		if len(b.Message) > MaxMessage+len("…") || strings.ContainsAny(b.Message, "\r\n") || !utf8.ValidString(b.Message) {
			t.Fatalf("message %q", b.Message)
		}
	})
}

// TestRead_MultistatusOfARefusedPut_StatusConditionAndDescription: Xandikos
// answers a PUT whose UID the calendar holds already with a 207 whose one
// response is a 412 carrying the precondition.
func TestRead_MultistatusOfARefusedPut_StatusConditionAndDescription(t *testing.T) {
	xandikos := `<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>http%3A//127.0.0.1%3A38211/user/calendars/calendar/b.ics</ns0:href><ns0:status>HTTP/1.1 412 Precondition Failed</ns0:status><ns0:error><ns1:no-uid-conflict /></ns0:error><ns0:responsedescription>UID already in use.</ns0:responsedescription></ns0:response></ns0:multistatus>`
	want := Body{Condition: "no-uid-conflict", Space: "urn:ietf:params:xml:ns:caldav", Message: "UID already in use.", Status: 412}
	if b := Read([]byte(xandikos), `text/xml; charset="utf-8"`, 207); b != want {
		t.Fatalf("%+v", b)
	}
	plain := `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/x</D:href><D:status>HTTP/1.1 403 Forbidden</D:status></D:response></D:multistatus>`
	if b := Read([]byte(plain), "application/xml", 207); b != (Body{Status: 403}) {
		t.Fatalf("status alone: %+v", b)
	}
	for _, cut := range []string{xandikos[:len(xandikos)/2], `<D:multistatus xmlns:D="DAV:"/>`} {
		if b := Read([]byte(cut), "application/xml", 207); b != (Body{}) {
			t.Fatalf("%q: %+v", cut, b)
		}
	}
}
