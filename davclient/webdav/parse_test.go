package webdav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/davtest"
)

// calendarData is the content property of the CalDAV client's decoders.
var calendarData = xml.Name{Space: nsCalDAV, Local: "calendar-data"}

const nsCalDAV = "urn:ietf:params:xml:ns:caldav"

// parseAll drains a multistatus the way the listing calls do and returns
// what they would see.
func parseAll(r io.Reader, maxObject int64) (n int, token string, err error) {
	base, _ := url.Parse("http://h.example/cal/")
	p := NewDecoder(r, []xml.Name{calendarData}, maxObject)
	for {
		resp, err := p.Next()
		if errors.Is(err, io.EOF) {
			return n, p.SyncToken(), nil
		}
		if err != nil {
			return n, "", err
		}
		for _, h := range resp.Hrefs {
			if err := memberEscapes(base, "/cal/", h); err != nil {
				return n, "", err
			}
		}
		if d := resp.Prop(nsCalDAV, "calendar-data"); d != nil && int64(len(d.Text)) > maxObject {
			return n, "", fmt.Errorf("calendar-data of %d bytes passed the %d cap", len(d.Text), maxObject)
		}
		readProps(resp)
		n++
	}
}

// memberEscapes returns an error when raw, listed in an answer about coll
// at base, is accepted as a member (Canonical, then Inside) but could name
// something outside coll: once cleaned it must stay below coll, and it must
// be its own canonical form, so that resolving it again gives the same href.
func memberEscapes(base *url.URL, coll, raw string) error {
	c, err := Canonical(base, raw)
	if err != nil || !Inside(coll, c) {
		return nil
	}
	if clean := path.Clean(c); !strings.HasPrefix(clean, coll) {
		return fmt.Errorf("href %q accepted as %q, which cleans to %q outside %s", raw, c, clean, coll)
	}
	if again, err := Canonical(base, c); err != nil || again != c {
		return fmt.Errorf("href %q accepted as %q, which resolves again to %q, %v", raw, c, again, err)
	}
	return nil
}

// readProps reads a response's properties the way a client does: by name,
// through children and descendants.
func readProps(r *Response) {
	if rt := r.Prop(nsDAV, "resourcetype"); rt != nil {
		_ = rt.Child(nsCalDAV, "calendar")
	}
	_ = r.PropStatus(nsCalDAV, "calendar-data")
	for _, name := range []string{"displayname", "sync-token", "getetag"} {
		if n := r.Prop(nsDAV, name); n != nil {
			_ = n.Value()
		}
	}
	if n := r.Prop(nsDAV, "current-user-privilege-set"); n != nil {
		_ = n.Has(nsDAV, "write")
	}
}

// FuzzParseMultistatus: the parser never panics, never hangs, keeps
// calendar-data within its cap, and every error it returns is typed.
func FuzzParseMultistatus(f *testing.F) {
	f.Add([]byte(`<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response><d:sync-token>t</d:sync-token></d:multistatus>`))
	f.Add([]byte("<d:multistatus xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:response><d:href>/cal/b.ics</d:href><d:propstat><d:prop><c:calendar-data><![CDATA[BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n]]></c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><d:multistatus xmlns:d="DAV:"/>`))
	for _, s := range []string{"", "<", "<d:multistatus xmlns:d=\"DAV:\"><d:response>", strings.Repeat("<a>", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := parseAll(bytes.NewReader(data), 256)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzCanonical_MembersStayInside: no href a server lists is accepted as a
// member of a collection it could lead out of.
func FuzzCanonical_MembersStayInside(f *testing.F) {
	base, _ := url.Parse("http://h.example/cal/")
	f.Fuzz(func(t *testing.T, raw string) {
		if err := memberEscapes(base, "/cal/", raw); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzStatusError: any error answer (body, Retry-After, status) becomes an
// *Error matching a sentinel, with a non-negative wait, an href that is
// canonical on the request's origin, and a URL without credentials.
func FuzzStatusError(f *testing.F) {
	c, err := New(Options{URL: "http://h.example/", Conditions: map[string]error{"max-resource-size": ErrTooLarge}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, retryAfter string, status int) {
		req, _ := http.NewRequest(http.MethodPut, "http://alice:"+davtest.Password+"@h.example/cal/a.ics", nil)
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}}, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
		e := c.StatusError(http.MethodPut, resp)
		if e.Err == nil || !errors.Is(e, e.Err) || e.RetryAfter < 0 {
			t.Fatalf("StatusError = %+v", e)
		}
		if e.Href != "" {
			if again, err := Canonical(req.URL, e.Href); err != nil || again != e.Href {
				t.Fatalf("href %q not canonical: %q, %v", e.Href, again, err)
			}
		}
		if e.URL != "http://h.example/cal/a.ics" {
			t.Fatalf("URL %q, want the request URL without credentials", e.URL)
		}
		_ = e.Error()
	})
}

// BenchmarkParseMultistatus10k parses a 10k-object calendar-query answer
// (~1 KB calendar-data each) from memory.
func BenchmarkParseMultistatus10k(b *testing.B) {
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:%05d\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\nSUMMARY:Meeting &amp; more\r\nDESCRIPTION:" +
		strings.Repeat("x", 800) + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	var doc bytes.Buffer
	doc.WriteString(`<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`)
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&doc, `<d:response><d:href>/cal/%05d.ics</d:href><d:propstat><d:prop><d:getetag>"%d"</d:getetag><c:calendar-data>`+ics+`</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, i, i, i)
	}
	doc.WriteString(`</d:multistatus>`)
	raw := doc.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, _, err := parseAll(bytes.NewReader(raw), defaultMaxResource)
		if err != nil || n != 10000 {
			b.Fatalf("n=%d err=%v", n, err)
		}
	}
}
func TestParse_CRLFInPrologAndEpilog_Accepted(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- c -->\r\n<d:multistatus xmlns:d=\"DAV:\">\r\n <d:response>\r\n  <d:href>/cal/a.ics</d:href>\r\n  <d:propstat><d:prop><d:getetag>\"1\"</d:getetag></d:prop>\r\n<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>\r\n</d:multistatus>\r\n"
	n, _, err := parseAll(strings.NewReader(doc), 1024)
	if err != nil || n != 1 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestParse_DoctypeWithEntities_RefusedNotExpanded(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/&lol2;.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
	})
	items, err := listMembers(c, "/cal/")
	if !errors.Is(err, ErrMalformed) || len(items) != 0 {
		t.Fatalf("items %v err %v, want ErrMalformed", items, err)
	}
}

func TestParse_DeepNesting_ErrMalformed(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		deep := strings.Repeat("<x>", 10000) + strings.Repeat("</x>", 10000)
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop>`+deep+`</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
	})
	if _, err := listMembers(c, "/cal/"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}
