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
// Calendar and an Object without panicking; calendar-data and
// address-data reach the Object as the decoder gave them, components are
// upper case, and a collection keeps the href it was read for.
func FuzzCalendarFrom(f *testing.F) {
	f.Add([]byte(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><c:supported-calendar-component-set><c:comp name="vevent"/></c:supported-calendar-component-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`))
	f.Add([]byte(`<d:multistatus xmlns:d="DAV:" xmlns:a="urn:ietf:params:xml:ns:carddav"><d:response><d:href>/ab/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><a:addressbook/></d:resourcetype><a:supported-address-data><a:address-data-type content-type="text/vcard" version="4.0"/></a:supported-address-data><a:max-resource-size>1000</a:max-resource-size></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d := webdav.NewDecoder(bytes.NewReader(doc), []xml.Name{dataProp(KindCalendar), dataProp(KindAddressBook)}, 1<<16)
		for {
			r, err := d.Next()
			if err != nil {
				return // io.EOF, or an error webdav's fuzz targets check
			}
			if cal, ok := collectionFrom(r, "/cal/"); ok {
				if cal.Href != "/cal/" || slices.ContainsFunc(cal.Components, func(c string) bool { return c == "" || c != strings.ToUpper(c) }) ||
					cal.MaxResourceSize < 0 || (cal.Kind == KindCalendar && cal.VCardVersions != nil) {
					t.Fatalf("collectionFrom = %+v", cal)
				}
				_ = cal.Marker()
			}
			for _, k := range []Kind{KindCalendar, KindAddressBook} {
				name := dataProp(k)
				if o, ok := objectFrom(k, "/cal/a", r); ok && !bytes.Equal(o.Data, r.Prop(name.Space, name.Local).Text) {
					t.Fatalf("%s %q, object %q", name.Local, r.Prop(name.Space, name.Local).Text, o.Data)
				}
			}
		}
	})
}
