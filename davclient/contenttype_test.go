package davclient

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Every PUT, a create or an update, and also one resent after a Digest
// challenge, carries the calendar type with its charset and the whole body.
func TestPut_CreateAndUpdate_SendCalendarContentTypeAlsoWhenResentAfterAChallenge(t *testing.T) {
	body := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
	var got []string
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Digest ") {
			w.Header().Set("WWW-Authenticate", `Digest realm="r", nonce="n1", qop="auth"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got = append(got, r.Header.Get("Content-Type"))
		if !bytes.Equal(b, body) {
			t.Errorf("%s body %q", r.Method, b)
		}
		w.WriteHeader(http.StatusCreated)
	})
	if _, err := c.Create(bg(), Calendar{}, "/cal/a.ics", body); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(bg(), Calendar{}, "/cal/a.ics", body, `"1"`); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "text/calendar; charset=utf-8" || got[1] != got[0] {
		t.Errorf("Content-Type of the accepted PUTs: %q", got)
	}
}
