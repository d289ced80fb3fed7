package davclient

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vdird/vdird/internal/davtest"
	"github.com/vdird/vdird/internal/testserver"
)

// icloudLike answers discovery as iCloud does: the well-known URI
// redirects to the root, the root names the principal, and the principal
// names a calendar home on a partition host (written with :443), which
// lists one calendar. home replaces that calendar home's URL.
func icloudLike(t *testing.T, home string) (*Client, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var log []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		log = append(log, r.Method+" "+r.Host+r.URL.Path)
		mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.Host + r.URL.Path {
		case "caldav.example.com/.well-known/caldav":
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
		case "caldav.example.com/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/</d:href><d:propstat><d:prop>
<d:current-user-principal><d:href>/123/principal/</d:href></d:current-user-principal></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		case "caldav.example.com/123/principal/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/123/principal/</d:href><d:propstat><d:prop>
<c:calendar-home-set><d:href>`+home+`</d:href></c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		case "p42-caldav.example.com/123/calendars/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:response><d:href>/123/calendars/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/123/calendars/home/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype>
<d:displayname>Home</d:displayname><d:sync-token>t1</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	tr := testserver.VirtualHosts(t, h, "caldav.example.com", "p42-caldav.example.com", "evil.example.net")
	c, err := New(Options{URL: "https://caldav.example.com/", Username: "alice", Password: davtest.Password, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), log...)
	}
}

func TestDiscover_HomeOnPartitionHostOfTheSameDomain_ClientMovesThere(t *testing.T) {
	c, log := icloudLike(t, "https://p42-caldav.example.com:443/123/calendars/")
	cals, err := c.Discover(bg())
	if err != nil {
		t.Fatal(err)
	}
	if len(cals) != 1 || cals[0].Href != "/123/calendars/home/" || cals[0].DisplayName != "Home" {
		t.Fatalf("calendars %+v", cals)
	}
	if _, err := c.Calendar(bg(), cals[0].Href); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	got := log()
	if last := got[len(got)-1]; last != "PROPFIND p42-caldav.example.com/123/calendars/home/" {
		t.Errorf("a later request went to %s, want the partition host (log %q)", last, got)
	}
}

func TestDiscover_HomeOnAnotherDomain_RefusedBeforeAnyRequestThere(t *testing.T) {
	c, log := icloudLike(t, "https://evil.example.net/123/calendars/")
	_, err := c.Discover(bg())
	if !errors.Is(err, ErrOutsideCollection) || !strings.Contains(err.Error(), "calendar-home-set") || !strings.Contains(err.Error(), "evil.example.net") {
		t.Errorf("Discover: %v", err)
	}
	for _, l := range log() {
		if strings.Contains(l, "evil.example.net") {
			t.Errorf("the foreign host was contacted: %s", l)
		}
	}
}
