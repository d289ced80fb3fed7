package davclient

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/davclient/webdav"
)

// FuzzCalendarFrom: the properties of any parsed answer read into a
// Calendar and an Object without panicking; calendar-data reaches the
// Object as the decoder gave it, components are upper case, and a calendar
// keeps the href it was read for.
func FuzzCalendarFrom(f *testing.F) {
	f.Add([]byte(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><c:supported-calendar-component-set><c:comp name="vevent"/></c:supported-calendar-component-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`))
	calendarData := xml.Name{Space: nsCalDAV, Local: "calendar-data"}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d := webdav.NewDecoder(bytes.NewReader(doc), calendarData, 1<<16)
		for {
			r, err := d.Next()
			if err != nil {
				return // io.EOF, or an error webdav's fuzz targets check
			}
			if cal, ok := calendarFrom(r, "/cal/"); ok {
				if cal.Href != "/cal/" || slices.ContainsFunc(cal.Components, func(c string) bool { return c == "" || c != strings.ToUpper(c) }) {
					t.Fatalf("calendarFrom = %+v", cal)
				}
				_ = cal.Marker()
			}
			if o, ok := calendarObject("/cal/a.ics", r); ok && !bytes.Equal(o.Data, r.Prop(nsCalDAV, "calendar-data").Text) {
				t.Fatalf("calendar-data %q, object %q", r.Prop(nsCalDAV, "calendar-data").Text, o.Data)
			}
		}
	})
}
