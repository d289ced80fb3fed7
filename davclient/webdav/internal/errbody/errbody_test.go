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
