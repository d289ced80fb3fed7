package webdav

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testPassword = "s3cret-pw"

// fake is an httptest server with the handler h and a Client for it.
func fake(t *testing.T, h http.HandlerFunc) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/", Username: "alice", Password: testPassword, Content: calendarData})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestCanonical_EscapingVariants_CompareEqual(t *testing.T) {
	_, c := fake(t, func(http.ResponseWriter, *http.Request) {})
	a, _ := c.Canonical("/cal/john%40doe/a%20b.ics")
	b, _ := c.Canonical(c.base.Scheme + "://" + c.base.Host + "/cal/john@doe/a b.ics")
	if a != b || a != "/cal/john@doe/a%20b.ics" {
		t.Errorf("%q vs %q", a, b)
	}
	if _, err := c.Canonical("https://other.example/cal/"); !errors.Is(err, ErrOutsideCollection) {
		t.Errorf("other origin: %v", err)
	}
}

func TestGuardReader_CRInTagAndComment_LeftAlone(t *testing.T) {
	in := "<a\r\nx='1\r\n>'><!-- c\r\n --><b>t\r\n</b><![CDATA[q\rr]]></a>"
	out, err := io.ReadAll(newGuardReader(strings.NewReader(in), 1<<20, 1<<20, ""))
	if err != nil {
		t.Fatal(err)
	}
	want := "<a\r\nx='1\r\n>'><!-- c\r\n --><b>t&#13;\n</b><![CDATA[q]]>&#13;<![CDATA[r]]></a>"
	if !bytes.Equal(out, []byte(want)) {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}
