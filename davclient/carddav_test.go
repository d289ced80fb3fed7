package davclient_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
)

// card builds a vCard of the given version with a folded line.
func card(version, uid, fn string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:" + version + "\r\nUID:" + uid + "\r\nFN:" + fn + "\r\n" +
		"NOTE:A note long enough that it has to be folded onto a second line by a\r\n ny vCard writer & <escaped> in XML\r\nEND:VCARD\r\n")
}

// TestCardDAV_ClientFlow_AgainstRealServers walks the CardDAV side of the
// client against every server: discovery of the address book home next to
// the calendar home, the address book's props, addressbook-query with and
// without data, addressbook-multiget (a missing member answered 404), a
// create, an update with If-Match, a refused stale update, the delta and
// a delete. Every vCard comes back as the server stores it, CRLF kept.
func TestCardDAV_ClientFlow_AgainstRealServers(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		book := s.MakeAddressBook(t, "people", "People")
		s.MakeCalendar(t, "events", "Events", "VEVENT")
		s.Put(t, book+"ann.vcf", card("3.0", "ann", "Ann"))
		s.Put(t, book+"bo.vcf", card("4.0", "urn:uuid:bo", "Bo"))
		s.Put(t, book+"pic.vcf", synctest.PhotoCard("pic", 200<<10))
		c, counter := newClient(t, s)
		ctx := ctx(t)

		cols, err := c.Discover(ctx)
		if err != nil {
			t.Fatalf("Discover: %v", err)
		}
		ab, ok := findCal(cols, book)
		if !ok || ab.Kind != davclient.KindAddressBook || ab.DisplayName != "People" || ab.Components != nil || !ab.SupportsSync || ab.SyncToken == "" || ab.ReadOnly {
			t.Fatalf("address book %s in %+v: %+v", book, cols, ab)
		}
		if ev, ok := findCal(cols, s.HomeHref+"events/"); !ok || ev.Kind != davclient.KindCalendar {
			t.Errorf("calendar missing next to the address book: %+v", cols)
		}
		if homes, err := c.Homes(ctx); err != nil || homes.AddressBooks != s.BookHomeHref || homes.Calendars != s.HomeHref {
			t.Errorf("Homes = %+v, %v; want %s and %s", homes, err, s.HomeHref, s.BookHomeHref)
		}
		before := counter.n.Load()
		if _, err := c.ListCollections(ctx, s.HomeHref, s.BookHomeHref); err != nil {
			t.Fatal(err)
		}
		want := int64(2)
		if s.HomeHref == s.BookHomeHref {
			want = 1
		}
		if n := counter.n.Load() - before; n != want {
			t.Errorf("listing both homes took %d requests, want %d (one per distinct home)", n, want)
		}

		served := map[string][]byte{}
		for _, f := range []string{"ann.vcf", "bo.vcf", "pic.vcf"} {
			served[book+f], _ = s.Get(t, book+f)
		}
		got := map[string][]byte{}
		if err := c.Download(ctx, ab, func(o davclient.Object) error { got[o.Href] = o.Data; return nil }); err != nil {
			t.Fatalf("Download: %v", err)
		}
		for h, want := range served {
			if !bytes.Equal(got[h], want) {
				t.Errorf("Download %s: %d bytes, not the %d the server serves", h, len(got[h]), len(want))
			}
		}
		if !bytes.Contains(got[book+"ann.vcf"], []byte("\r\n")) {
			t.Errorf("CRLF lost: %q", got[book+"ann.vcf"])
		}
		items, err := c.ListETags(ctx, ab)
		if err != nil || len(items) != 3 || slices.ContainsFunc(items, func(it davclient.Item) bool { return it.ETag == "" }) {
			t.Fatalf("ListETags = %+v, %v", items, err)
		}

		var multi []davclient.Object
		err = c.Multiget(ctx, ab, []string{book + "pic.vcf", book + "gone.vcf"}, func(o davclient.Object) error { multi = append(multi, o); return nil })
		if err != nil || len(multi) != 2 {
			t.Fatalf("Multiget = %v, %v", multi, err)
		}
		for _, o := range multi {
			switch o.Href {
			case book + "pic.vcf":
				if !bytes.Equal(o.Data, served[o.Href]) || o.ETag == "" {
					t.Errorf("multiget photo card: %d bytes, etag %q", len(o.Data), o.ETag)
				}
			case book + "gone.vcf":
				if o.Data != nil {
					t.Errorf("missing member with data %q", o.Data)
				}
			}
		}

		res, err := c.SyncCollection(ctx, ab.Href, ab.SyncToken)
		if err != nil || len(res.Changed) != 0 || res.Token == "" {
			t.Fatalf("delta from the current token: %+v, %v", res, err)
		}
		cr, err := c.Create(ctx, ab, book+"cy.vcf", card("3.0", "cy", "Cy"))
		if err != nil || cr.Href != book+"cy.vcf" {
			t.Fatalf("Create = %+v, %v", cr, err)
		}
		if _, err := c.Create(ctx, ab, book+"cy.vcf", card("3.0", "cy", "Cy again")); !errors.Is(err, davclient.ErrPreconditionFailed) {
			t.Errorf("Create over an existing card: %v, want ErrPreconditionFailed", err)
		}
		o, err := c.Get(ctx, ab, book+"cy.vcf")
		if err != nil || !bytes.Contains(o.Data, []byte("FN:Cy")) {
			t.Fatalf("Get = %q, %v", o.Data, err)
		}
		up, err := c.Put(ctx, ab, book+"cy.vcf", card("3.0", "cy", "Cy Updated"), o.ETag)
		if err != nil {
			t.Fatalf("Put with If-Match: %v", err)
		}
		if _, err := c.Put(ctx, ab, book+"cy.vcf", card("3.0", "cy", "Lost update"), o.ETag); !errors.Is(err, davclient.ErrPreconditionFailed) {
			t.Errorf("Put with a stale If-Match: %v, want ErrPreconditionFailed", err)
		}
		if err := c.Delete(ctx, book+"ann.vcf", items[0].ETag); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		delta, err := c.SyncCollection(ctx, ab.Href, res.Token)
		if err != nil {
			t.Fatal(err)
		}
		if len(delta.Changed) != 1 || delta.Changed[0].Href != book+"cy.vcf" || !slices.Equal(delta.Deleted, []string{book + "ann.vcf"}) {
			t.Errorf("delta = %+v (PUT etag %q)", delta, up.ETag)
		}
	})
}
