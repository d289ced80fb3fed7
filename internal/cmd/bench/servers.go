package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vdird/vdird/internal/testserver"
)

// event returns one VEVENT object of about 1.4 KB (the size of a typical
// invitation with a description; 10,000 of them make about 14 MB).
func event(uid string, i int, summary string) []byte {
	var b bytes.Buffer
	day := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
	f := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	f("BEGIN:VCALENDAR")
	f("VERSION:2.0")
	f("PRODID:-//vdird bench//EN")
	f("BEGIN:VEVENT")
	f("UID:%s", uid)
	f("DTSTAMP:20250101T000000Z")
	f("DTSTART:%s", day.Format("20060102T150405Z"))
	f("DTEND:%s", day.Add(time.Hour).Format("20060102T150405Z"))
	f("SUMMARY:%s", summary)
	f("LOCATION:Room %d\\, building %d", i%40, i%7)
	f("ORGANIZER;CN=Alice Example:mailto:alice@example.org")
	f("ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED:mailto:bob@example.org")
	f("ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION:mailto:carol@example.org")
	f("CATEGORIES:work,bench")
	f("STATUS:CONFIRMED")
	f("SEQUENCE:0")
	desc := fmt.Sprintf("Benchmark event %d. ", i) + strings.Repeat("Agenda: review the numbers\\, plan the next steps and write them down. ", 10)
	// Fold at 75 octets (RFC 5545 §3.1), as real servers and clients do.
	line := "DESCRIPTION:" + desc
	for len(line) > 75 {
		b.WriteString(line[:75] + "\r\n ")
		line = line[75:]
	}
	f("%s", line)
	f("BEGIN:VALARM")
	f("ACTION:DISPLAY")
	f("DESCRIPTION:Reminder")
	f("TRIGGER:-PT15M")
	f("END:VALARM")
	f("END:VEVENT")
	f("END:VCALENDAR")
	return b.Bytes()
}

func itemName(i int) string { return fmt.Sprintf("bench-%06d.ics", i) }
func itemUID(i int) string  { return fmt.Sprintf("bench-%06d@vdird.bench", i) }

// benchItem is the ith item of a seeded calendar.
func benchItem(i int) (string, []byte) {
	return itemName(i), event(itemUID(i), i, fmt.Sprintf("Meeting %d", i))
}

// seed writes a calendar of n events straight into the server's storage,
// for s.User, and warms it: seconds where n PUTs take minutes.
func seed(s *testserver.Server, cal, display string, n int) (string, error) {
	href, err := s.Seed(cal, display, n, benchItem)
	if err != nil {
		return "", err
	}
	return href, warm(s, href)
}

// warm makes the server build its caches for a calendar (Radicale: item
// cache, collection etag, sync-token history), so timed runs see a warm server.
func warm(s *testserver.Server, calHref string) error {
	steps := []struct {
		method, depth, body string
	}{
		{"PROPFIND", "0", ctagQuery},
		{"REPORT", "1", calendarQuery(true)},
		{"REPORT", "0", syncQuery("")},
	}
	for _, st := range steps {
		if _, err := expect(s, st.method, calHref, map[string]string{"Depth": st.depth}, st.body, http.StatusMultiStatus); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
	}
	return nil
}

// expect sends one request straight to the server (not through a counter)
// and wants an answer of the same class as want (2xx for 201).
func expect(s *testserver.Server, method, href string, hdr map[string]string, body string, want int) ([]byte, error) {
	resp, b, err := s.Do(context.Background(), method, href, hdr, []byte(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, href, err)
	}
	if resp.StatusCode/100 != want/100 {
		return nil, fmt.Errorf("%s %s: %s", method, href, resp.Status)
	}
	return b, nil
}

// ctagQuery asks a calendar for its ctag and sync-token.
const ctagQuery = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/><sync-token/></prop></propfind>`

// syncQuery is an RFC 6578 sync-collection REPORT from token ("" for all).
func syncQuery(token string) string {
	return `<?xml version="1.0" encoding="utf-8"?><sync-collection xmlns="DAV:"><sync-token>` + token +
		`</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>`
}

// calendarQuery is an RFC 4791 §7.8 calendar-query for every VEVENT, with or
// without the calendar data.
func calendarQuery(data bool) string {
	d := ""
	if data {
		d = "<C:calendar-data/>"
	}
	return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/>` + d + `</D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>
</C:calendar-query>`
}

// withOutput adds the last lines srv printed to a failed step's error: the
// server goes with the failed run, its work folder too.
func withOutput(err error, srv *testserver.Server) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w\n==> last lines of %s's output\n%s", err, srv.Kind, lastLines(srv.Output(), 40))
}

// lastLines returns the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}
