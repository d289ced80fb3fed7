package davclient_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/testserver"
)

// TestMakeCollection_CalendarAndAddressBook_ListedWithTheirPropsAndNeverMadeTwice
// makes a calendar with every property and an address book on each
// server, reads them back by listing, and makes each again: the server
// answers 405, which is ErrNotAllowed.
func TestMakeCollection_CalendarAndAddressBook_ListedWithTheirPropsAndNeverMadeTwice(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		c, _ := newClient(t, s)
		cal := davclient.NewCollection{Kind: davclient.KindCalendar, DisplayName: "Work & <play>", Color: "#112233",
			Description: "The job", Components: []string{"VEVENT", "VTODO"}}
		book := davclient.NewCollection{Kind: davclient.KindAddressBook, DisplayName: "Friends"}
		calHref, bookHref := s.HomeHref+"made%20here/", s.BookHomeHref+"friends/"
		for href, n := range map[string]davclient.NewCollection{calHref: cal, bookHref: book} {
			if err := c.MakeCollection(ctx(t), href, n); err != nil {
				t.Fatalf("MakeCollection %s: %v", href, err)
			}
		}
		cols, err := c.ListCollections(ctx(t), s.HomeHref, s.BookHomeHref)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := findCal(cols, calHref)
		if !ok || got.Kind != davclient.KindCalendar || got.DisplayName != cal.DisplayName {
			t.Errorf("calendar made: %+v %v", got, ok)
		}
		// Xandikos keeps only the display name of a MKCALENDAR.
		if s.Kind == testserver.Radicale && (!strings.EqualFold(got.Color, cal.Color) || got.Description != cal.Description) {
			t.Errorf("colour %q and description %q, want %q and %q", got.Color, got.Description, cal.Color, cal.Description)
		}
		if got, ok := findCal(cols, bookHref); !ok || got.Kind != davclient.KindAddressBook || got.DisplayName != "Friends" {
			t.Errorf("address book made: %+v %v", got, ok)
		}
		for href, n := range map[string]davclient.NewCollection{calHref: cal, bookHref: book} {
			if err := c.MakeCollection(ctx(t), href, n); !errors.Is(err, davclient.ErrNotAllowed) {
				t.Errorf("making %s again: %v, want ErrNotAllowed", href, err)
			}
		}
	})
}
