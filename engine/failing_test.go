package engine

// Where failures show: an account that cannot be synced is recorded as
// failing (since when, how many passes) until a pass works again; an item
// the server refuses is reported with the server's own words and not sent
// again until its file changes.

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// accountRow is the Overview row of the account, nil when it is not failing.
func accountRow(t *testing.T, eng *Engine) *CalendarStatus {
	t.Helper()
	sts, err := eng.Overview()
	if err != nil {
		t.Fatal(err)
	}
	for i := range sts {
		if sts[i].Calendar == "*" {
			return &sts[i]
		}
	}
	return nil
}

func TestSync_WrongPassword_AccountFailingSinceFirstAttempt_LastSyncHeld_ClearedWhenPasswordFixed(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.syncOK()
	synced := e.collectionState(e.Events).LastSync
	a := &e.Cfg.Accounts[0]
	if err := os.WriteFile(a.PasswordFile, []byte("wrong-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// One engine for every pass, as in the daemon.
	store, err := state.Open(e.Cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := NewEngine(e.Cfg, store, zerolog.Nop())
	eng.HTTPClient = e.Client()
	var since time.Time
	for attempt := 1; attempt <= 2; attempt++ {
		before := time.Now()
		sums := eng.Sync(context.Background(), SyncOptions{})
		if len(sums) != 1 || sums[0].Calendar != "*" || !LoginRefused(sums[0].Err) {
			t.Fatalf("attempt %d: %+v", attempt, sums)
		}
		row := accountRow(t, eng)
		if row == nil || row.Account != a.Name || row.Attempts != attempt ||
			!strings.Contains(row.LastError, "401") || !strings.Contains(row.LastError, e.Srv.URL) {
			t.Fatalf("attempt %d: account row %+v", attempt, row)
		}
		if attempt == 1 {
			since = row.FailingSince
			if since.Before(before) || since.After(time.Now()) {
				t.Fatalf("failing since %v, want the first attempt's time", since)
			}
		} else if !row.FailingSince.Equal(since) {
			t.Fatalf("failing since moved from %v to %v", since, row.FailingSince)
		}
	}
	col, _, _ := store.Collection(collectionKey(a, davclient.Calendar{Href: e.Events}))
	if !col.LastSync.Equal(synced) {
		t.Fatalf("last sync moved on failed passes: %v → %v", synced, col.LastSync)
	}

	// The password is read again after a refusal: fixing it is enough.
	if err := os.WriteFile(a.PasswordFile, []byte(e.Srv.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range eng.Sync(context.Background(), SyncOptions{}) {
		if s.Failed() {
			t.Fatalf("after fixing the password: %+v", s)
		}
	}
	if row := accountRow(t, eng); row != nil {
		t.Fatalf("account still failing after a pass that worked: %+v", row)
	}
	col, _, _ = store.Collection(collectionKey(a, davclient.Calendar{Href: e.Events}))
	if !col.LastSync.After(synced) {
		t.Fatalf("last sync %v did not move after a pass that worked", col.LastSync)
	}
}

// sabreRefusal is sabre/dav's answer to an item it will not store: its own
// elements, with s:message, before the precondition.
const sabreRefusal = `<?xml version="1.0" encoding="utf-8"?>
<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <s:sabredav-version>4.7.0</s:sabredav-version>
  <s:exception>Sabre\DAV\Exception\Forbidden</s:exception>
  <s:message>DTEND must occur after DTSTART</s:message>
  <cal:valid-calendar-data/>
</d:error>`

// puts counts the PUTs to paths matching re that reached the proxy,
// answered by the server or by a rule.
func puts(px *faultproxy.Proxy, re *regexp.Regexp) int {
	n := 0
	for _, r := range px.Take() {
		if r.Method == http.MethodPut && re.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// A server that refuses an item for its content (sabre/dav's 403 with a
// reason) cannot be made of Radicale or Xandikos: the fault proxy answers
// for it in front of a real Radicale.
func TestSync_ServerRefusesItem_ItsOwnReasonShown_NotSentAgainUntilTheFileChanges(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.Cfg.Accounts[0].Calendars = []string{f.Events}
	f.runOK()
	bad := regexp.MustCompile(`/bad\.ics$`)
	f.px.Add(faultproxy.Rule{Method: http.MethodPut, Path: bad, Body: "BROKEN-TIMES",
		Action: faultproxy.Answer(http.StatusForbidden, "application/xml; charset=utf-8", sabreRefusal)})
	f.WriteFile(f.Events, "bad.ics", event("bad", "BROKEN-TIMES"))
	f.px.Take()

	for pass := 1; pass <= 3; pass++ {
		s := f.eventsOf(f.run(SyncOptions{}))
		want := 0
		if pass == 1 {
			want = 1
		}
		if n := puts(f.px, bad); n != want {
			t.Fatalf("pass %d sent %d PUTs of the refused item, want %d", pass, n, want)
		}
		if s.Err != nil || len(s.Problems) != 0 || len(s.Rejected) != 1 || !s.Failed() ||
			!strings.Contains(s.Rejected[0], "bad.ics: refused by the server, not sent again until the file changes") ||
			!strings.Contains(s.Rejected[0], "403 Forbidden (valid-calendar-data): DTEND must occur after DTSTART") {
			t.Fatalf("pass %d: %+v", pass, s)
		}
		if pass > 1 && s.Strategy != plan.ScopedLocal {
			t.Errorf("pass %d took strategy %s: a refused item must not cost a full pass", pass, s.Strategy)
		}
		var row *CalendarStatus
		f.withStore(func(store *state.Store) {
			sts, err := NewEngine(f.Cfg, store, zerolog.Nop()).Overview()
			if err != nil {
				t.Fatal(err)
			}
			row = &sts[0]
		})
		if row.Calendar != calDir(f.Events) || len(row.Rejected) != 1 || !strings.Contains(row.Rejected[0], "DTEND must occur after DTSTART") || !row.Failing() {
			t.Fatalf("pass %d: status %+v", pass, row)
		}
	}
	if b, _ := f.Srv.Get(t, f.Events+"bad.ics"); b != nil {
		t.Fatal("the refused item reached the server")
	}

	// Fixed: sent at once, and nothing is left to report.
	f.WriteFile(f.Events, "bad.ics", event("bad", "fixed"))
	s := f.runOK()
	if n := puts(f.px, bad); n != 1 || s.Uploaded != 1 || len(s.Rejected) != 0 {
		t.Fatalf("after the fix: %d PUTs, %+v", n, s)
	}
	f.withStore(func(store *state.Store) {
		sts, err := NewEngine(f.Cfg, store, zerolog.Nop()).Overview()
		if err != nil || len(sts) != 1 || sts[0].Failing() {
			t.Fatalf("status after the fix: %+v, %v", sts, err)
		}
	})
}

// Radicale refuses an event whose DTSTART is no date (400), which vdird's
// own checks let through.
func TestSync_RadicaleRefusesAnInvalidDate_NotResentUntilFixed(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.Cfg.Accounts[0].Calendars = []string{e.Events}
	e.syncOK()
	garbage := strings.Replace(string(event("d", "no date")), "DTSTART:20250301T100000Z", "DTSTART:garbage", 1)
	e.WriteFile(e.Events, "d.ics", []byte(garbage))
	e.Rec.Take()
	for pass := 1; pass <= 3; pass++ {
		s := e.sync(SyncOptions{})[0]
		want := 0
		if pass == 1 {
			want = 1
		}
		if n := len(synctest.Writes(e.Rec.Take())); n != want {
			t.Fatalf("pass %d sent %d writes, want %d", pass, n, want)
		}
		if len(s.Rejected) != 1 || !strings.Contains(s.Rejected[0], "d.ics: refused by the server") ||
			!strings.Contains(s.Rejected[0], "400 Bad Request") || len(s.Problems) != 0 {
			t.Fatalf("pass %d: %+v", pass, s)
		}
	}
	e.WriteFile(e.Events, "d.ics", event("d", "a date again"))
	s := e.syncOK()[e.Events]
	if n := len(synctest.Writes(e.Rec.Take())); n != 1 || s.Uploaded != 1 || len(s.Rejected) != 0 {
		t.Fatalf("after the fix: %d writes, %+v", n, s)
	}
}
