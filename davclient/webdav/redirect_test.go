package webdav

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vdird/vdird/internal/davtest"
	"github.com/vdird/vdird/internal/testserver"
)

// partitioned is a Client for https "caldav.example.com" as alice, whose
// requests reach handlers by host.
func partitioned(t *testing.T, handlers map[string]http.HandlerFunc) *Client {
	t.Helper()
	tr := testserver.VirtualHosts(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[r.Host]
		if !ok {
			t.Errorf("request for unknown host %s", r.Host)
			return
		}
		h(w, r)
	}), "caldav.example.com", "p42-caldav.example.com", "evil.example.net")
	c, err := New(Options{URL: "https://caldav.example.com/", Username: "alice", Password: davtest.Password, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seenBy records the Authorization each host saw.
type seenBy struct {
	mu   sync.Mutex
	auth map[string][]string
}

func (s *seenBy) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth == nil {
		s.auth = map[string][]string{}
	}
	s.auth[r.Host] = append(s.auth[r.Host], r.Header.Get("Authorization"))
}

func (s *seenBy) of(host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auth[host]
}

func TestRedirect_GET_FollowedWithCredentialsWithinTheDomainRefusedOutside(t *testing.T) {
	var seen seenBy
	c := partitioned(t, map[string]http.HandlerFunc{
		"caldav.example.com": func(w http.ResponseWriter, r *http.Request) {
			seen.record(r)
			target := "https://p42-caldav.example.com/cal/a.ics"
			if r.URL.Path == "/cal/b.ics" {
				target = "https://evil.example.net/steal"
			}
			http.Redirect(w, r, target, http.StatusFound)
		},
		"p42-caldav.example.com": func(w http.ResponseWriter, r *http.Request) { seen.record(r) },
		"evil.example.net":       func(w http.ResponseWriter, r *http.Request) { seen.record(r) },
	})
	if _, err := get(c, "/cal/a.ics"); err != nil {
		t.Fatalf("redirect within the domain: %v", err)
	}
	if got := seen.of("p42-caldav.example.com"); len(got) != 1 || !strings.HasPrefix(got[0], "Basic ") {
		t.Errorf("partition host saw %q, want Basic credentials", got)
	}
	_, err := get(c, "/cal/b.ics")
	if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "https://evil.example.net/steal") ||
		!strings.Contains(err.Error(), "credentials go only to caldav.example.com and the hosts of example.com over https") {
		t.Errorf("redirect out of the domain: %v", err)
	}
	if got := seen.of("evil.example.net"); len(got) != 0 {
		t.Errorf("the foreign host was contacted: %q", got)
	}
}

func TestMove_PartitionHostAdoptedForLaterRequestsForeignHostRefused(t *testing.T) {
	var seen seenBy
	record := func(w http.ResponseWriter, r *http.Request) { seen.record(r) }
	c := partitioned(t, map[string]http.HandlerFunc{"caldav.example.com": record, "p42-caldav.example.com": record})
	if _, err := c.Move("https://evil.example.net/123/"); !errors.Is(err, ErrOutsideCollection) {
		t.Errorf("foreign host: %v", err)
	}
	href, err := c.Move("https://p42-caldav.example.com:443/123/calendars/")
	if err != nil || href != "/123/calendars/" {
		t.Fatalf("Move = %q, %v", href, err)
	}
	if _, err := get(c, "/123/calendars/"); err != nil {
		t.Fatal(err)
	}
	if u := c.URL("/x"); u != "https://p42-caldav.example.com/x" {
		t.Errorf("URL after the move: %s", u)
	}
	if got := seen.of("p42-caldav.example.com"); len(got) != 1 || !strings.HasPrefix(got[0], "Basic ") || len(seen.of("caldav.example.com")) != 0 {
		t.Errorf("seen %v", seen.auth)
	}
	// An href spelled with the default port is on the same origin.
	if h, err := c.Canonical("https://p42-caldav.example.com:443/123/calendars/a/"); err != nil || h != "/123/calendars/a/" {
		t.Errorf("Canonical with :443 = %q, %v", h, err)
	}
}
