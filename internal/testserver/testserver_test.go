package testserver

import (
	"bytes"
	"testing"
)

func TestServer_MakeCalendarPutGetDelete_RoundTrip(t *testing.T) {
	for _, kind := range All() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := Start(t, kind)
			cal := s.MakeCalendar(t, "work", "Work & Play", "VEVENT")
			if cal != s.HomeHref+"work/" {
				t.Fatalf("MakeCalendar href = %q", cal)
			}
			body := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
			etag := s.Put(t, cal+"u1.ics", body)
			got, getEtag := s.Get(t, cal+"u1.ics")
			if !bytes.Contains(got, []byte("UID:u1")) {
				t.Fatalf("GET body lacks UID: %q", got)
			}
			if etag != "" && getEtag != etag {
				t.Fatalf("PUT etag %q, GET etag %q", etag, getEtag)
			}
			s.Delete(t, cal+"u1.ics")
			if got, _ := s.Get(t, cal+"u1.ics"); got != nil {
				t.Fatalf("after Delete, GET = %q, want 404", got)
			}
		})
	}
}
