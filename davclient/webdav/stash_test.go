package webdav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// dumpMultistatus parses a whole multistatus and prints everything the
// callers can see of it; stashOff parses without setting calendar-data
// aside, the way encoding/xml alone reads it.
func dumpMultistatus(data []byte, stashOff bool) (string, error) {
	p := NewDecoder(bytes.NewReader(data), []xml.Name{calendarData}, 1<<20)
	p.g.stash.off = stashOff
	var b strings.Builder
	var dump func(n *Node, depth int)
	dump = func(n *Node, depth int) {
		fmt.Fprintf(&b, "%*s{%s}%s %q %q\n", depth, "", n.Name.Space, n.Name.Local, n.Attr, n.Text)
		for _, c := range n.Children {
			dump(c, depth+1)
		}
	}
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			fmt.Fprintf(&b, "token %q\n", p.SyncToken())
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		fmt.Fprintf(&b, "response %q %d\n", r.Hrefs, r.Status)
		for _, pv := range r.props {
			fmt.Fprintf(&b, " status %d\n", pv.status)
			dump(pv.n, 1)
		}
	}
}

const stashSeedDoc = `<?xml version="1.0" encoding="utf-8"?>` + "\r\n" +
	`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:x="urn:x">` +
	`<d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag>` +
	"<c:calendar-data>BEGIN:VCALENDAR\r\nSUMMARY:Tom &amp; Jerry &lt;3 &#233;&#x20AC; caf\u00e9\r\n" +
	` folded]]</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>` +
	`<d:response><d:href>/cal/b.ics</d:href><d:propstat><d:prop>` +
	"<c:calendar-data  a=\"/\" >\r\n <![CDATA[BEGIN:VCALENDAR\r\n]]>tail &amp;<!-- c -->more</c:calendar-data>" +
	`<x:calendar-data>other namespace &gt;</x:calendar-data><calendar-data xmlns="urn:ietf:params:xml:ns:caldav">default ns</calendar-data>` +
	`<c:calendar-data/></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>` +
	`<d:sync-token>http://t/1</d:sync-token></d:multistatus>`

// TestStash_SameAsPlainDecoder: with calendar-data set aside the parser
// sees exactly what encoding/xml alone shows it, for valid documents and
// for each kind of invalid text (bad entities, control characters, bad
// UTF-8, "]]>"), which fail both ways.
func TestStash_SameAsPlainDecoder(t *testing.T) {
	docs := []string{stashSeedDoc}
	for _, text := range []string{
		"&bogus;", "&#0;", "&#x;", "&#X41;", "&#65", "&amp", "&#0000000000065;", "&#1114112;", "&#xD800;",
		"a\x01b", "a\x7fb", "\xff\xfe", "\xef\xbf\xbe", "x]]>y", "]]", "&#13;&#10;", "\r\n", "",
		"vdird-stash-0000000000000000-1", "&#99999999999999999999;",
	} {
		docs = append(docs, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/a</d:href><d:propstat><d:prop><c:calendar-data>`+
			text+`</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
	}
	for _, doc := range docs {
		checkStashEquivalent(t, []byte(doc))
	}
	// Every run was taken by the parser: the marker never reaches callers.
	out, err := dumpMultistatus([]byte(stashSeedDoc), false)
	if err != nil || strings.Contains(out, "vdird-stash-") || !strings.Contains(out, `"BEGIN:VCALENDAR\r\nSUMMARY:Tom & Jerry <3 é€ café\r\n folded]]"`) {
		t.Fatalf("stashed parse: %v\n%s", err, out)
	}
}

func checkStashEquivalent(t *testing.T, doc []byte) {
	t.Helper()
	plain, perr := dumpMultistatus(doc, true)
	fast, ferr := dumpMultistatus(doc, false)
	if (perr == nil) != (ferr == nil) || (perr == nil && plain != fast) {
		t.Fatalf("document %q:\nplain (%v):\n%s\nstashed (%v):\n%s", doc, perr, plain, ferr, fast)
	}
	if ferr != nil && !errors.Is(ferr, ErrMalformed) && !errors.Is(ferr, ErrTooLarge) {
		t.Fatalf("untyped error %v", ferr)
	}
}

// FuzzStash_SameAsPlainDecoder: any input parses the same with and without
// calendar-data set aside (or fails both ways).
func FuzzStash_SameAsPlainDecoder(f *testing.F) {
	f.Add([]byte(stashSeedDoc))
	f.Add([]byte(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/a</d:href><d:propstat><d:prop><c:calendar-data>x&#13;y&lt;</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkStashEquivalent(t, doc)
	})
}
