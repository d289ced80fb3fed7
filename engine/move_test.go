package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
)

// uniqueUIDFront stands before a real server and keeps UIDs unique across
// the account's calendars, as Cyrus does: a create (PUT If-None-Match: *)
// whose UID lives in another calendar is refused with 403 and
// CALDAV:unique-scheduling-object-resource naming that href (RFC 6638
// §3.2.4.1). Radicale keeps UIDs unique per calendar only.
type uniqueUIDFront struct {
	*hostileFront
	refused atomic.Int64
}

func newUniqueUIDFront(t *testing.T, srv *testserver.Server, cals []string) *uniqueUIDFront {
	t.Helper()
	c, err := davclient.New(davclient.Options{URL: srv.URL, Username: srv.User, Password: srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	f := &uniqueUIDFront{}
	f.hostileFront = newHostileFront(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if !isCreate(r) {
			return false
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		holder := holderOf(r.Context(), c, cals, r.URL.Path, body)
		if holder == "" {
			return false
		}
		f.refused.Add(1)
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>
<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:unique-scheduling-object-resource><D:href>%s</D:href></C:unique-scheduling-object-resource><D:responsedescription>UID already in use</D:responsedescription></D:error>`, holder)
		return true
	})
	return f
}

// holderOf is the href of another calendar of cals that holds the UID of
// body, or "".
func holderOf(ctx context.Context, c *davclient.Client, cals []string, target string, body []byte) string {
	info, err := ics.Inspect(body)
	if err != nil {
		return ""
	}
	var holder string
	for _, cal := range cals {
		if strings.HasPrefix(target, cal) {
			continue
		}
		_ = c.Download(ctx, davclient.Calendar{Href: cal}, func(o davclient.Object) error {
			if in, err := ics.Inspect(o.Data); err == nil && in.UID == info.UID {
				holder = o.Href
			}
			return nil
		})
	}
	return holder
}

// TestSync_MoveBetweenCalendars_ServerWithAccountWideUIDs_OnePass: a file
// moved locally from events/ to agenda/ (which the pass visits first) is
// created in agenda and deleted from events in one pass, although the server
// refuses a UID that lives in another calendar of the account; the next pass
// writes nothing.
func TestSync_MoveBetweenCalendars_ServerWithAccountWideUIDs_OnePass(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	agenda := e.Srv.MakeCalendar(t, "agenda", "Agenda", "VEVENT")
	e.Srv.Put(t, e.Events+"x.ics", event("x", "move me"))
	e.Srv.Put(t, e.Events+"y.ics", event("y", "stay"))
	front := newUniqueUIDFront(t, e.Srv, []string{agenda, e.Events, e.Tasks})
	e.Cfg.Accounts[0].URL = front.URL
	e.Cfg.Accounts[0].Calendars = nil
	e.syncOK()

	if err := os.Rename(e.File(e.Events, "x.ics"), e.File(agenda, "x.ics")); err != nil {
		t.Fatal(err)
	}
	e.Rec.Take()
	sums := e.syncOK()
	var writes []string
	for _, r := range e.Rec.Take() {
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			writes = append(writes, r.Method+" "+r.Path)
		}
	}
	t.Logf("move pass: writes %q, creates refused by the front %d", writes, front.refused.Load())
	if s := sums[agenda]; s.Uploaded != 1 {
		t.Errorf("agenda: uploaded %d, want 1: %+v", s.Uploaded, s)
	}
	if s := sums[e.Events]; s.DeletedRemote != 1 {
		t.Errorf("events: deleted on the server %d, want 1: %+v", s.DeletedRemote, s)
	}
	c, err := davclient.New(davclient.Options{URL: e.Srv.URL, Username: e.Srv.User, Password: e.Srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), davclient.Calendar{}, e.Events+"x.ics"); !errors.Is(err, davclient.ErrNotFound) {
		t.Errorf("events/x.ics on the server after the move: %v, want not found", err)
	}
	if o, err := c.Get(context.Background(), davclient.Calendar{}, agenda+"x.ics"); err != nil || summaryOf(o.Data) != "move me" {
		t.Errorf("agenda/x.ics on the server after the move: %v %q", err, o.Data)
	}

	sums = e.syncOK()
	for _, r := range e.Rec.Take() {
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			t.Errorf("the pass after the move wrote: %s %s", r.Method, r.Path)
		}
	}
	for href, s := range sums {
		if changed(s) != 0 {
			t.Errorf("%s: the pass after the move did something: %+v", href, s)
		}
	}
	if _, err := os.Stat(e.File(agenda, "x.ics")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(e.File(e.Events, "x.ics")); !os.IsNotExist(err) {
		t.Errorf("events/x.ics came back: %v", err)
	}
}

// TestSync_CopyToAnotherCalendar_ServerWithAccountWideUIDs_ReportedNotRetried:
// a file copied (not moved) to another calendar keeps its UID in events, so
// the refused create is not sent again in the pass: it is reported on
// agenda, every pass, and events is left alone.
func TestSync_CopyToAnotherCalendar_ServerWithAccountWideUIDs_ReportedNotRetried(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	agenda := e.Srv.MakeCalendar(t, "agenda", "Agenda", "VEVENT")
	e.Srv.Put(t, e.Events+"x.ics", event("x", "copy me"))
	front := newUniqueUIDFront(t, e.Srv, []string{agenda, e.Events, e.Tasks})
	e.Cfg.Accounts[0].URL = front.URL
	e.Cfg.Accounts[0].Calendars = nil
	e.syncOK()

	e.WriteFile(agenda, "x.ics", e.ReadFile(e.Events, "x.ics"))
	for pass := 1; pass <= 2; pass++ {
		front.refused.Store(0)
		var s *Summary
		for _, sum := range e.sync(SyncOptions{}) {
			if sum.Href == agenda {
				s = sum
			} else if sum.Failed() || sum.DeletedRemote+sum.DeletedLocal != 0 {
				t.Errorf("pass %d: %s: %+v", pass, sum.Calendar, sum)
			}
		}
		if s == nil || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "unique-scheduling-object-resource") {
			t.Fatalf("pass %d: agenda %+v, want one problem naming the refusal", pass, s)
		}
		if n := front.refused.Load(); n != 1 {
			t.Errorf("pass %d: %d creates refused, want 1 (no retry while events holds the UID)", pass, n)
		}
	}
	if summaryOf(e.ReadFile(e.Events, "x.ics")) != "copy me" || summaryOf(e.ReadFile(agenda, "x.ics")) != "copy me" {
		t.Error("a local file changed")
	}
}
