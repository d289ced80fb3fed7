package davclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/testserver"
)

// countingTransport counts requests so tests can assert request budgets.
type countingTransport struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.base.RoundTrip(r)
}

func newClient(t *testing.T, s *testserver.Server) (*davclient.Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{base: http.DefaultTransport}
	c, err := davclient.New(davclient.Options{
		URL: s.URL, Username: s.User, Password: s.Password,
		HTTPClient: &http.Client{Transport: ct},
		UserAgent:  "vdird-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

// event builds an iCalendar object with a folded line and an X- property,
// the two things a re-serialising client loses first.
func event(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird//test//EN\r\nBEGIN:VEVENT\r\n" +
		"UID:" + uid + "\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\nDURATION:PT1H\r\n" +
		"SUMMARY:" + summary + "\r\n" +
		"DESCRIPTION:A description long enough that it has to be folded onto a secon\r\n d line by any RFC 5545 writer & <escaped> in XML\r\n" +
		"X-VDIRD-TEST;X-PARAM=1:kept verbatim\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

func todo(uid string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird//test//EN\r\nBEGIN:VTODO\r\n" +
		"UID:" + uid + "\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Do the dishes\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func findCal(cals []davclient.Calendar, href string) (davclient.Calendar, bool) {
	for _, c := range cals {
		if c.Href == href {
			return c, true
		}
	}
	return davclient.Calendar{}, false
}

// TestClientFlow_AgainstRealServers walks the whole CalDAV client flow
// (discovery, calendar properties, ctag, download, etag listing, multiget,
// update with If-Match, create, delete) plus sync-collection and the
// precondition failures against every server.
func TestClientFlow_AgainstRealServers(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		events := s.MakeCalendar(t, "home", "Home calendar", "VEVENT")
		tasks := s.MakeCalendar(t, "tasks", "My TODO list", "VTODO")
		e1 := events + "e1.ics"
		s.Put(t, e1, event("e1", "Weekly meeting"))
		s.Put(t, tasks+"t1.ics", todo("t1"))
		c, counter := newClient(t, s)
		ctx := ctx(t)

		// Step 0: discovery.
		cals, err := c.Discover(ctx)
		if err != nil {
			t.Fatalf("Discover: %v", err)
		}
		ev, ok := findCal(cals, events)
		if !ok {
			t.Fatalf("Discover = %+v, missing %s", cals, events)
		}
		tk, ok := findCal(cals, tasks)
		if !ok {
			t.Fatalf("Discover = %+v, missing %s", cals, tasks)
		}
		if ev.DisplayName != "Home calendar" || tk.DisplayName != "My TODO list" {
			t.Errorf("display names %q, %q", ev.DisplayName, tk.DisplayName)
		}
		// Listings carry the sync-token as the change marker and leave
		// out getctag (each costs a walk of the calendar on Radicale);
		// Calendar has both.
		if ev.CTag != "" || !ev.SupportsSync || ev.SyncToken == "" || ev.Marker() != "sync-token "+ev.SyncToken || ev.ReadOnly {
			t.Errorf("events calendar props: %+v", ev)
		}
		if !slices.Contains(ev.Components, "VEVENT") || !slices.Contains(tk.Components, "VTODO") {
			t.Errorf("components: events %v, tasks %v", ev.Components, tk.Components)
		}
		if s.Kind == testserver.Radicale && (slices.Contains(ev.Components, "VTODO") || slices.Contains(tk.Components, "VEVENT")) {
			t.Errorf("radicale keeps the MKCALENDAR component set: events %v, tasks %v", ev.Components, tk.Components)
		}
		if !slices.IsSortedFunc(cals, func(a, b davclient.Calendar) int { return compare(a.Href, b.Href) }) {
			t.Errorf("Discover not sorted: %+v", cals)
		}
		if homes, err := c.Homes(ctx); err != nil || homes.Calendars != s.HomeHref {
			t.Errorf("Homes = %+v, %v; want calendars at %q", homes, err, s.HomeHref)
		}
		before := counter.n.Load()
		if _, err := c.ListCollections(ctx, s.HomeHref); err != nil {
			t.Fatalf("ListCollections: %v", err)
		}
		if n := counter.n.Load() - before; n != 1 {
			t.Errorf("ListCollections used %d requests, want 1", n)
		}

		// Step 1: Depth-0 PROPFIND of one calendar.
		one, err := c.Calendar(ctx, events)
		if err != nil {
			t.Fatalf("Calendar: %v", err)
		}
		if one.CTag == "" || one.Marker() != ev.Marker() || one.DisplayName != ev.DisplayName || one.Href != events {
			t.Errorf("Calendar = %+v, Discover said %+v", one, ev)
		}

		// Step 3: download everything; bytes equal the server's own GET.
		serverBytes, serverETag := s.Get(t, e1)
		if !bytes.Equal(serverBytes, event("e1", "Weekly meeting")) {
			t.Logf("%s rewrites PUT bodies; comparing against its GET bytes", s.Kind)
		}
		var got []davclient.Object
		if err := c.Download(ctx, davclient.Calendar{Href: events}, func(o davclient.Object) error { got = append(got, o); return nil }); err != nil {
			t.Fatalf("Download: %v", err)
		}
		if len(got) != 1 || got[0].Href != e1 || got[0].ETag != serverETag || !bytes.Equal(got[0].Data, serverBytes) {
			t.Fatalf("Download = %+v\nwant href %s etag %s data\n%q", got, e1, serverETag, serverBytes)
		}
		if !bytes.Contains(got[0].Data, []byte("\r\n ")) || !bytes.Contains(got[0].Data, []byte("X-VDIRD-TEST;X-PARAM=1:kept verbatim\r\n")) {
			t.Errorf("folded line or X- property lost: %q", got[0].Data)
		}
		obj, err := c.Get(ctx, davclient.Calendar{}, e1)
		if err != nil || !bytes.Equal(obj.Data, serverBytes) || obj.ETag != serverETag {
			t.Errorf("Get = %+v, %v", obj, err)
		}

		// Step 4: a change by another client moves the ctag and the etag.
		time.Sleep(10 * time.Millisecond)
		s.Put(t, e1, event("e1", "Weekly meeting moved"))
		after, err := c.Calendar(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		if after.CTag == one.CTag || after.Marker() == ev.Marker() {
			t.Errorf("ctag or marker unchanged after a change: %q, %q", after.CTag, after.Marker())
		}
		items, err := c.ListETags(ctx, davclient.Calendar{Href: events})
		if err != nil {
			t.Fatalf("ListETags: %v", err)
		}
		_, etag2 := s.Get(t, e1)
		if len(items) != 1 || items[0].Href != e1 || items[0].ETag != etag2 || etag2 == serverETag {
			t.Fatalf("ListETags = %+v, want [%s %s] (old %s)", items, e1, etag2, serverETag)
		}

		// Multiget: one present, one missing.
		missing := events + "missing.ics"
		var mg []davclient.Object
		if err := c.Multiget(ctx, davclient.Calendar{Href: events}, []string{e1, missing}, func(o davclient.Object) error { mg = append(mg, o); return nil }); err != nil {
			t.Fatalf("Multiget: %v", err)
		}
		body2, _ := s.Get(t, e1)
		var sawE1, sawMissing bool
		for _, o := range mg {
			switch o.Href {
			case e1:
				sawE1 = bytes.Equal(o.Data, body2) && o.ETag == etag2
			case missing:
				sawMissing = o.Data == nil
			}
		}
		if !sawE1 {
			t.Errorf("Multiget did not return e1 verbatim: %+v", mg)
		}
		if !sawMissing {
			t.Errorf("%s: Multiget did not report the missing href as 404: %+v", s.Kind, mg)
		}

		// Sync: initial, after change, after delete, bogus token.
		sr, err := c.SyncCollection(ctx, events, "")
		if err != nil {
			t.Fatalf("SyncCollection initial: %v", err)
		}
		if sr.Token == "" || len(sr.Changed) != 1 || sr.Changed[0] != (davclient.Item{Href: e1, ETag: etag2}) {
			t.Fatalf("initial sync = %+v", sr)
		}

		// Step 5: update with If-Match.
		res, err := c.Put(ctx, davclient.Calendar{}, e1, event("e1", "Updated by vdird"), etag2)
		if err != nil {
			t.Fatalf("Put If-Match: %v", err)
		}
		body3, etag3 := s.Get(t, e1)
		if res.Href != e1 || (res.ETag != "" && res.ETag != etag3) || !bytes.Contains(body3, []byte("Updated by vdird")) {
			t.Errorf("Put = %+v; server has etag %s body %q", res, etag3, body3)
		}
		// Stale If-Match: refused, server object unchanged.
		_, err = c.Put(ctx, davclient.Calendar{}, e1, event("e1", "Lost update"), etag2)
		var de *davclient.Error
		if !errors.Is(err, davclient.ErrPreconditionFailed) || !errors.As(err, &de) || de.Status != 412 {
			t.Fatalf("Put with stale etag: %v, want ErrPreconditionFailed", err)
		}
		if b, e := s.Get(t, e1); !bytes.Equal(b, body3) || e != etag3 {
			t.Errorf("server object changed by a refused PUT: %q", b)
		}

		sr2, err := c.SyncCollection(ctx, events, sr.Token)
		if err != nil {
			t.Fatalf("SyncCollection after change: %v", err)
		}
		if sr2.Token == sr.Token || len(sr2.Changed) != 1 || sr2.Changed[0].Href != e1 || sr2.Changed[0].ETag != etag3 || len(sr2.Deleted) != 0 {
			t.Errorf("sync after change = %+v (etag %s)", sr2, etag3)
		}

		// Step 6: create with If-None-Match: *; again on the same href is refused.
		e2 := events + "e2.ics"
		cr, err := c.Create(ctx, davclient.Calendar{}, e2, event("e2", "New"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if cr.Href != e2 {
			t.Errorf("Create href = %q", cr.Href)
		}
		if _, err := c.Create(ctx, davclient.Calendar{}, e2, event("e2", "Clobber")); !errors.Is(err, davclient.ErrPreconditionFailed) {
			t.Errorf("Create on existing href: %v, want ErrPreconditionFailed", err)
		}
		if b, _ := s.Get(t, e2); bytes.Contains(b, []byte("Clobber")) {
			t.Errorf("Create overwrote an existing object")
		}

		// Step 7: delete with If-Match; a stale etag is refused.
		if err := c.Delete(ctx, e1, etag2); !errors.Is(err, davclient.ErrPreconditionFailed) {
			t.Errorf("Delete with stale etag: %v, want ErrPreconditionFailed", err)
		}
		if b, _ := s.Get(t, e1); b == nil {
			t.Fatalf("object deleted despite stale etag")
		}
		if err := c.Delete(ctx, e1, etag3); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if b, _ := s.Get(t, e1); b != nil {
			t.Errorf("object still there after Delete")
		}
		if err := c.Delete(ctx, e1, etag3); err != nil {
			t.Errorf("Delete of a gone object: %v, want nil", err)
		}

		sr3, err := c.SyncCollection(ctx, events, sr2.Token)
		if err != nil {
			t.Fatalf("SyncCollection after delete: %v", err)
		}
		if !slices.Contains(sr3.Deleted, e1) {
			t.Errorf("sync after delete = %+v, want %s deleted", sr3, e1)
		}
		if len(sr3.Changed) != 1 || sr3.Changed[0].Href != e2 {
			t.Errorf("sync after delete = %+v, want %s changed", sr3, e2)
		}

		_, err = c.SyncCollection(ctx, events, "http://example.invalid/bogus-token")
		if !errors.Is(err, davclient.ErrInvalidSyncToken) {
			t.Errorf("bogus token: %v, want ErrInvalidSyncToken", err)
		}
		_, err = c.SyncCollection(ctx, events, fmt.Sprintf("%040x", 12345))
		if !errors.Is(err, davclient.ErrInvalidSyncToken) {
			t.Errorf("unknown hex token: %v, want ErrInvalidSyncToken", err)
		}

		// MakeCollection through the client shows up in the next listing.
		made := davclient.NewCollection{Kind: davclient.KindCalendar, DisplayName: "Made & <named>", Components: []string{"VEVENT", "VTODO"}}
		if err := c.MakeCollection(ctx, s.HomeHref+"made/", made); err != nil {
			t.Fatalf("MakeCollection: %v", err)
		}
		cals, err = c.ListCollections(ctx, s.HomeHref)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := findCal(cals, s.HomeHref+"made/"); !ok || m.DisplayName != "Made & <named>" {
			t.Errorf("made calendar: %+v %v", m, ok)
		}
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestSyncToken_ReadBeforeChanges_DeltaRepeatsThem: the token read with a
// Depth-0 PROPFIND is one sync-collection accepts, and changes made after
// it come back in the delta (what a fresh download relies on).
func TestSyncToken_ReadBeforeChanges_DeltaRepeatsThem(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		cal := s.MakeCalendar(t, "c", "C", "VEVENT")
		for _, u := range []string{"a", "b", "c"} {
			s.Put(t, cal+u+".ics", event(u, "v1"))
		}
		c, ct := newClient(t, s)
		ct.n.Store(0)
		token, err := c.SyncToken(ctx(t), cal)
		if err != nil || token == "" || ct.n.Load() != 1 {
			t.Fatalf("SyncToken = %q, %v (%d requests)", token, err, ct.n.Load())
		}
		s.Put(t, cal+"b.ics", event("b", "v2"))
		res, err := c.SyncCollection(ctx(t), cal, token)
		if err != nil || len(res.Changed) != 1 || res.Changed[0].Href != cal+"b.ics" {
			t.Fatalf("delta after one change: %+v %v", res, err)
		}
	})
}
