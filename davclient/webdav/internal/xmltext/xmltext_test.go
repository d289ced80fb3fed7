package xmltext

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
)

// viaEncodingXML is the reference: the character data encoding/xml gives
// for raw as an element's text, with raw carriage returns written as
// character references (encoding/xml turns a raw CR into LF, Unescape keeps
// it; the reader in front of Unescape's callers does the same rewrite).
func viaEncodingXML(raw []byte) ([]byte, error) {
	doc := append([]byte("<a>"), bytes.ReplaceAll(raw, []byte("\r"), []byte("&#13;"))...)
	d := xml.NewDecoder(bytes.NewReader(append(doc, "</a>"...)))
	d.Strict = true
	out := []byte{}
	for {
		t, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if cd, ok := t.(xml.CharData); ok {
			out = append(out, cd...)
		}
	}
}

// checkSameAsEncodingXML fails when Unescape and encoding/xml disagree on
// raw: one accepts what the other refuses, or they give other bytes.
func checkSameAsEncodingXML(t *testing.T, raw []byte) {
	t.Helper()
	if bytes.IndexByte(raw, '<') >= 0 {
		return // markup: never part of a text run
	}
	want, werr := viaEncodingXML(raw)
	got, gerr := Unescape(raw)
	if (werr == nil) != (gerr == nil) || (werr == nil && !bytes.Equal(got, want)) {
		t.Fatalf("Unescape(%q) = %q, %v; encoding/xml gives %q, %v", raw, got, gerr, want, werr)
	}
}

func TestUnescape_SameAsEncodingXML(t *testing.T) {
	for _, raw := range []string{
		"", "plain", "BEGIN:VCALENDAR\r\nSUMMARY:Tom &amp; Jerry &lt;3\r\n folded\r\n",
		"&#233;&#x20AC;&#X41;&#65", "&#0;", "&#xD800;", "&#1114111;", "&#1114112;", "&#99999999999999999999;",
		"&#+65;", "&#-65;", "&#x;", "&#;", "&bogus;", "&amp", "&apos;&quot;&gt;", "a]]>b", "]]", "] ]>",
		"a\x01b", "a\x7fb", "\xff\xfe", "\xef\xbf\xbe", "\xed\xa0\x80", "tab\there", "caf\u00e9 \U0001F600",
	} {
		checkSameAsEncodingXML(t, []byte(raw))
	}
}

// FuzzUnescape_SameAsEncodingXML: any text run is accepted and unescaped
// exactly as encoding/xml does, or refused by both.
func FuzzUnescape_SameAsEncodingXML(f *testing.F) {
	f.Add([]byte("X-AMP:a &amp; b &#13;&#10;"))
	f.Fuzz(checkSameAsEncodingXML)
}
