package davclient_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/davclient/calfilter"
	"github.com/vdird/vdird/internal/testserver"
)

// TestCreate_UIDHeldAtAnotherHref_UIDConflictWithoutHref_ByUIDFindsTheHolder:
// neither server names the href holding the UID when it refuses a second
// one in a calendar (Radicale answers 409, Xandikos a 207 holding a 412),
// and both refusals are ErrUIDConflict, not a stored item. One REPORT on
// the UID then finds the holder, among the members whose UID only contains
// it, which Radicale lists too and Xandikos does not.
func TestCreate_UIDHeldAtAnotherHref_UIDConflictWithoutHref_ByUIDFindsTheHolder(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		href := s.MakeCalendar(t, "events", "Events", "VEVENT", "VTODO")
		s.Put(t, href+"a.ics", event("X", "the phone's"))
		s.Put(t, href+"longer.ics", event("X-and-more", "another"))
		s.Put(t, href+"task.ics", todo("X"+"-task"))
		c, counter := newClient(t, s)
		cal := davclient.Calendar{Href: href, Kind: davclient.KindCalendar}

		_, err := c.Create(ctx(t), cal, href+"b.ics", event("X", "the laptop's"))
		var de *davclient.Error
		if !errors.Is(err, davclient.ErrUIDConflict) || !errors.Is(err, davclient.ErrConflict) || errors.Is(err, davclient.ErrPreconditionFailed) ||
			!errors.As(err, &de) || de.Condition != "no-uid-conflict" || de.Href != "" {
			t.Fatalf("create of a second X: %v (%#v)", err, err)
		}
		t.Logf("%s answers: %v", s.Kind, err)
		if b, _ := s.Get(t, href+"b.ics"); b != nil {
			t.Fatalf("b.ics stored: %q", b)
		}
		if b, _ := s.Get(t, href+"a.ics"); !strings.Contains(string(b), "the phone's") {
			t.Fatalf("a.ics replaced: %q", b)
		}

		before := counter.n.Load()
		items, err := calfilter.ByUID(ctx(t), c, cal, "VEVENT", "X")
		hrefs := make([]string, 0, len(items))
		for _, it := range items {
			hrefs = append(hrefs, it.Href)
			if it.ETag == "" {
				t.Errorf("no etag for %s", it.Href)
			}
		}
		slices.Sort(hrefs)
		want := []string{href + "a.ics"}
		if s.Kind == testserver.Radicale {
			want = append(want, href+"longer.ics")
		}
		if err != nil || !slices.Equal(hrefs, want) || counter.n.Load()-before != 1 {
			t.Fatalf("ByUID = %v, %v in %d requests; want %v in one", hrefs, err, counter.n.Load()-before, want)
		}
	})
}

// TestByUID_AddressBook_RadicaleRefusesASecondCard_OneAddressbookQueryFindsTheFirst:
// Radicale refuses a second card of a UID as it refuses a second event,
// and the lookup is one addressbook-query with a UID prop-filter.
// Xandikos 0.2.8 keeps both cards of one UID, and answers any filtered
// addressbook-query with 500.
func TestByUID_AddressBook_RadicaleRefusesASecondCard_OneAddressbookQueryFindsTheFirst(t *testing.T) {
	s := testserver.Start(t, testserver.Radicale)
	book := s.MakeAddressBook(t, "people", "People")
	s.Put(t, book+"ann.vcf", card("3.0", "urn:uuid:ann", "Ann"))
	s.Put(t, book+"bo.vcf", card("3.0", "urn:uuid:bo", "Bo"))
	c, counter := newClient(t, s)
	ab := davclient.Calendar{Href: book, Kind: davclient.KindAddressBook}
	if _, err := c.Create(ctx(t), ab, book+"ann2.vcf", card("3.0", "urn:uuid:ann", "Ann again")); !errors.Is(err, davclient.ErrUIDConflict) {
		t.Fatalf("second card of ann: %v", err)
	}
	before := counter.n.Load()
	items, err := calfilter.ByUID(ctx(t), c, ab, "", "urn:uuid:ann")
	if err != nil || len(items) != 1 || items[0].Href != book+"ann.vcf" || counter.n.Load()-before != 1 {
		t.Fatalf("ByUID = %+v, %v in %d requests", items, err, counter.n.Load()-before)
	}
}
