package engine

// Engine-level fault injection: a real server (Radicale, and Xandikos where
// its behaviour differs) behind internal/faultproxy. Each test makes a pass
// fail or misbehave, then asserts what reached the real server, and that once
// the fault is gone the folder and the server converge with nothing lost or
// duplicated. Every test also checks that nothing outside the vdir root and
// the state directory was written (a canary directory), that no request
// carried credentials to any host but the configured one, and that the
// password never appears in the log.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// fenv is an env whose account talks to the server through a fault proxy.
type fenv struct {
	*env
	px      *faultproxy.Proxy
	timeout time.Duration // HTTP client timeout of the engine; 0 = none

	mu     sync.Mutex
	logBuf bytes.Buffer
	authTo map[string]int // host → requests carrying Authorization
	canary string
	snap   string
}

// authSpy records which hosts received an Authorization header.
type authSpy struct{ f *fenv }

func (a authSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		a.f.mu.Lock()
		a.f.authTo[req.URL.Host]++
		a.f.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func newFaultEnv(t *testing.T, kind testserver.Kind) *fenv {
	t.Helper()
	return withFaultProxy(t, newEnv(t, kind))
}

// withFaultProxy points e's account at a fault proxy before its server and
// plants the canary that checkInvariants looks at when t ends.
func withFaultProxy(t *testing.T, e *env) *fenv {
	t.Helper()
	px, err := faultproxy.New(e.Srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	e.Cfg.Accounts[0].URL = px.URL
	f := &fenv{env: e, px: px, authTo: map[string]int{}}

	// The canary: a directory beside the vdir root and the state dir.
	top := filepath.Dir(e.Root)
	f.canary = filepath.Join(top, "canary")
	if err := os.MkdirAll(filepath.Join(f.canary, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"keep.ics", "sub/other.ics", ".hidden"} {
		if err := os.WriteFile(filepath.Join(f.canary, n), event("canary-"+filepath.Base(n), "canary"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	_ = filepath.Walk(f.canary, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	f.snap = treeDigest(t, f.canary)
	t.Cleanup(func() { f.checkInvariants(t) })
	return f
}

// treeDigest describes every entry below dir (name, type, mode, size,
// mtime, content hash), so any write, chmod or new file shows.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// checkInvariants runs at the end of every fault test.
func (f *fenv) checkInvariants(t *testing.T) {
	if got := treeDigest(t, f.canary); got != f.snap {
		t.Errorf("canary directory changed:\nbefore:\n%s\nafter:\n%s", f.snap, got)
	}
	ents, _ := os.ReadDir(filepath.Dir(f.Root))
	for _, en := range ents {
		switch en.Name() {
		case "calendars", "contacts", "state", "password", "canary":
		default:
			t.Errorf("vdird wrote %s outside the vdir root and state dir", en.Name())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for host, n := range f.authTo {
		if host != f.px.Host() {
			t.Errorf("%d requests carried Authorization to %s (configured host %s)", n, host, f.px.Host())
		}
	}
	if log := f.logBuf.String(); f.Srv.Kind == testserver.Radicale &&
		(strings.Contains(log, f.Srv.Password) || strings.Contains(log, "Basic ") || strings.Contains(log, "Authorization")) {
		t.Errorf("the log reveals credentials:\n%s", log)
	}
}

// run is one pass like `vdird sync` (fresh engine and store), through the proxy.
func (f *fenv) run(opts SyncOptions) []*Summary {
	f.t.Helper()
	w := zerolog.SyncWriter(&lockedWriter{f: f})
	return f.syncWith(&http.Client{Transport: authSpy{f}, Timeout: f.timeout}, zerolog.New(w).Level(zerolog.DebugLevel), opts)
}

type lockedWriter struct{ f *fenv }

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	return l.f.logBuf.Write(p)
}

// events returns the summary of the events calendar, or the account-level
// failure when the pass did not get that far.
func (f *fenv) eventsOf(sums []*Summary) *Summary {
	for _, s := range sums {
		if s.Href == f.Events || s.Calendar == "*" {
			return s
		}
	}
	f.t.Fatalf("no summary for %s: %+v", f.Events, sums)
	return nil
}

func (f *fenv) runOK() *Summary {
	f.t.Helper()
	var out *Summary
	for _, s := range f.run(SyncOptions{}) {
		if s.Failed() {
			f.t.Fatalf("%s/%s failed: err=%v refused=%q problems=%v", s.Account, s.Calendar, s.Err, s.Refused, s.Problems)
		}
		if s.Href == f.Events {
			out = s
		}
	}
	return out
}

var summaryRe = regexp.MustCompile(`(?m)^SUMMARY:(.*?)\r?$`)

// itemsOnServer maps UID → SUMMARY of the events calendar, read directly
// from the server; a UID held twice fails the test.
func (f *fenv) itemsOnServer() map[string]string {
	f.t.Helper()
	return summariesByUID(f.t, "on the server", f.serverItems(f.Events))
}

func summaryOf(b []byte) string {
	if m := summaryRe.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// itemsLocal maps UID → SUMMARY of the .ics files in the events folder, and
// lists the other names (conflict copies).
func (f *fenv) itemsLocal() (map[string]string, []string) {
	f.t.Helper()
	files := map[string][]byte{}
	var other []string
	for _, n := range f.LocalNames(f.Events) {
		switch {
		case strings.HasSuffix(n, ".ics"):
			files[n] = f.ReadFile(f.Events, n)
		case n != "displayname" && n != "color" && !isConflictNote(n):
			other = append(other, n)
		}
	}
	return summariesByUID(f.t, "in the folder", files), other
}

// isConflictNote tells the hidden note kept beside a conflict copy.
func isConflictNote(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".conflict-") && strings.HasSuffix(name, ".note")
}

// summariesByUID maps UID → SUMMARY of items (name → body) found where; an
// invalid item fails the test, a UID held twice is an error.
func summariesByUID(t *testing.T, where string, items map[string][]byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, body := range items {
		info, err := ics.Inspect(body)
		if err != nil {
			t.Fatalf("invalid object %s %s: %v", name, where, err)
		}
		if _, dup := out[info.UID]; dup {
			t.Errorf("UID %s twice %s", info.UID, where)
		}
		out[info.UID] = summaryOf(body)
	}
	return out
}

// converged asserts that server and folder hold exactly want (UID → SUMMARY).
func (f *fenv) converged(want map[string]string) {
	f.t.Helper()
	srv := f.itemsOnServer()
	loc, _ := f.itemsLocal()
	if fmt.Sprint(srv) != fmt.Sprint(want) || fmt.Sprint(loc) != fmt.Sprint(want) {
		f.t.Fatalf("not converged:\nwant   %v\nserver %v\nlocal  %v", want, srv, loc)
	}
}

// idle asserts that a pass now has nothing to do and writes nothing.
func (f *fenv) idle() {
	f.t.Helper()
	f.px.Take()
	s := f.runOK()
	if changed(s) != 0 {
		f.t.Fatalf("pass after convergence not idle: %+v", s)
	}
	if w := writes(f.px.Take()); len(w) > 0 {
		f.t.Fatalf("idle pass wrote: %+v", w)
	}
}

// writes returns the PUTs and DELETEs among reqs, whether or not they
// reached the server.
func writes(reqs []faultproxy.Request) []faultproxy.Request {
	return slices.DeleteFunc(slices.Clone(reqs), func(r faultproxy.Request) bool { return r.Method != "PUT" && r.Method != "DELETE" })
}

// clearAndConverge takes the faults away, runs a pass that must succeed and
// checks that server and folder then hold want.
func (f *fenv) clearAndConverge(want map[string]string) {
	f.t.Helper()
	f.px.Clear()
	f.runOK()
	f.converged(want)
}

// recovers is clearAndConverge followed by a pass that must be idle.
func (f *fenv) recovers(want map[string]string) {
	f.t.Helper()
	f.clearAndConverge(want)
	f.idle()
}

// noConflictCopies fails the test when the events folder holds a file
// other than items and metadata; what says what such a copy would mean.
func (f *fenv) noConflictCopies(what string) {
	f.t.Helper()
	if _, other := f.itemsLocal(); len(other) != 0 {
		f.t.Errorf("%s: %v", what, other)
	}
}

// keptLocally fails the test unless the folder holds each of uids as want says.
func (f *fenv) keptLocally(want map[string]string, uids ...string) {
	f.t.Helper()
	loc, _ := f.itemsLocal()
	for _, u := range uids {
		if loc[u] != want[u] {
			f.t.Fatalf("local items lost: %v", loc)
		}
	}
}

// seed puts items on the server and syncs them down.
func (f *fenv) seed(uids ...string) map[string]string {
	f.t.Helper()
	want := map[string]string{}
	for _, u := range uids {
		f.Srv.Put(f.t, f.Events+u+".ics", event(u, "v1"))
		want[u] = "v1"
	}
	f.runOK()
	return want
}

// changeBothSides seeds four items, then edits one in the folder, one on
// the server and deletes one from the folder. It returns what server and
// folder hold once the changes are synced.
func (f *fenv) changeBothSides() map[string]string {
	f.t.Helper()
	want := f.seed("edit-local", "edit-phone", "del-local", "keep")
	f.WriteFile(f.Events, "edit-local.ics", event("edit-local", "v2 local"))
	f.Srv.Put(f.t, f.Events+"edit-phone.ics", event("edit-phone", "v2 phone"))
	os.Remove(f.File(f.Events, "del-local.ics"))
	want["edit-local"], want["edit-phone"] = "v2 local", "v2 phone"
	delete(want, "del-local")
	return want
}

// editAndCreateLocally seeds x, then edits x and creates y in the folder: a
// pass with two PUTs, an update and a create. It returns what server and
// folder hold once they are synced.
func (f *fenv) editAndCreateLocally() map[string]string {
	f.t.Helper()
	want := f.seed("x")
	f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
	f.WriteFile(f.Events, "y.ics", event("y", "new local"))
	want["x"], want["y"] = "v2 local", "new local"
	return want
}

// forEachFaultServer runs fn in parallel subtests, one per server kind, each
// with a fault env of its own.
func forEachFaultServer(t *testing.T, fn func(t *testing.T, f *fenv)) {
	forEachServer(t, func(t *testing.T, e *env) { fn(t, withFaultProxy(t, e)) })
}

// forEachCase runs fn in parallel subtests, one per name, each with a fault
// env on a Radicale of its own.
func forEachCase(t *testing.T, names []string, fn func(t *testing.T, f *fenv, name string)) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFaultEnv(t, testserver.Radicale), name)
		})
	}
}

func pathRe(re string) *regexp.Regexp { return regexp.MustCompile(re) }

// TestFault_ErrorStatuses_PassFailsNothingLostThenConverges injects 503, 429
// (with Retry-After), 500 on each request kind of a busy pass (PROPFIND of
// the home, sync-collection and multiget REPORTs, PUT, DELETE).
func TestFault_ErrorStatuses_PassFailsNothingLostThenConverges(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		rule       faultproxy.Rule
		retryAfter time.Duration // surfaced in the error when > 0
		fallsBack  bool          // a 5xx to a sync-collection is read as "token not valid" (Xandikos 0.2 quirk): full listing instead
	}{
		{"PROPFIND 503", 503, faultproxy.Rule{Method: "PROPFIND", Action: faultproxy.Status(503, "")}, 0, false},
		{"PROPFIND 429 Retry-After", 429, faultproxy.Rule{Method: "PROPFIND", Action: faultproxy.Status(429, "120")}, 120 * time.Second, false},
		{"sync REPORT 500", 500, faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Action: faultproxy.Status(500, "")}, 0, true},
		{"sync REPORT 503 Retry-After", 503, faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Action: faultproxy.Status(503, "30")}, 30 * time.Second, false},
		{"multiget REPORT 429", 429, faultproxy.Rule{Method: "REPORT", Body: "calendar-multiget", Action: faultproxy.Status(429, "5")}, 5 * time.Second, false},
		{"PUT 500", 500, faultproxy.Rule{Method: "PUT", Action: faultproxy.Status(500, "")}, 0, false},
		{"PUT 503 Retry-After", 503, faultproxy.Rule{Method: "PUT", Action: faultproxy.Status(503, "60")}, 60 * time.Second, false},
		{"PUT 429", 429, faultproxy.Rule{Method: "PUT", Action: faultproxy.Status(429, "")}, 0, false},
		{"DELETE 503", 503, faultproxy.Rule{Method: "DELETE", Action: faultproxy.Status(503, "")}, 0, false},
		{"DELETE 429 Retry-After", 429, faultproxy.Rule{Method: "DELETE", Action: faultproxy.Status(429, "90")}, 90 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultEnv(t, testserver.Radicale)
			want := f.changeBothSides()
			f.WriteFile(f.Events, "new-local.ics", event("new-local", "new"))
			want["new-local"] = "new"

			rule := f.px.Add(tc.rule)
			f.px.Take()
			s := f.eventsOf(f.run(SyncOptions{}))
			reqs := f.px.Take()
			if rule.Fired() == 0 {
				t.Fatalf("fault never fired; requests %+v", reqs)
			}
			if tc.fallsBack {
				if s.Failed() || faultproxy.Count(reqs, "REPORT", nil) < 2 || !strings.Contains(reqs[len(reqs)-1].Body+fmt.Sprint(reqs), "calendar-query") {
					t.Fatalf("no fallback to a full listing: %+v; requests %+v", s, reqs)
				}
				f.converged(want)
				f.idle()
				return
			}
			if !s.Failed() {
				t.Fatalf("pass under %s did not report a failure: %+v", tc.name, s)
			}
			var msg string
			if s.Err != nil {
				msg = s.Err.Error()
				var de *davclient.Error
				if !errors.As(s.Err, &de) || de.Status != tc.status {
					t.Errorf("error %v does not carry the HTTP status", s.Err)
				}
				if tc.retryAfter > 0 && (de == nil || de.RetryAfter != tc.retryAfter) {
					t.Errorf("Retry-After not surfaced: %#v", de)
				}
			} else {
				msg = strings.Join(s.Problems, "; ")
				if tc.retryAfter > 0 && !strings.Contains(msg, "retry after "+tc.retryAfter.String()) {
					t.Errorf("Retry-After %v not in the problem %q", tc.retryAfter, msg)
				}
			}
			t.Logf("observed: %s", msg)
			// The failed request never reached the server; nothing was deleted locally.
			for _, r := range reqs {
				if r.Fault != "" && r.Forwarded {
					t.Errorf("faulted request reached the server: %+v", r)
				}
			}
			f.keptLocally(want, "keep", "edit-local", "new-local")

			f.recovers(want)
		})
	}
}

// TestFault_ResetAndStall_PassFailsInBoundedTimeThenConverges resets or
// stalls a connection; the engine's client has a short timeout.
func TestFault_ResetAndStall_PassFailsInBoundedTimeThenConverges(t *testing.T) {
	cases := []struct {
		name string
		rule faultproxy.Rule
	}{
		{"reset sync REPORT", faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Action: faultproxy.Reset()}},
		{"reset PUT", faultproxy.Rule{Method: "PUT", Action: faultproxy.Reset()}},
		{"reset DELETE", faultproxy.Rule{Method: "DELETE", Action: faultproxy.Reset()}},
		{"stall PROPFIND", faultproxy.Rule{Method: "PROPFIND", Action: faultproxy.Stall()}},
		{"stall multiget", faultproxy.Rule{Method: "REPORT", Body: "calendar-multiget", Action: faultproxy.Stall()}},
		{"stall PUT", faultproxy.Rule{Method: "PUT", Action: faultproxy.Stall()}},
		{"stall mid-body sync REPORT", faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Action: faultproxy.StallBody(60)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultEnv(t, testserver.Radicale)
			f.timeout = 2 * time.Second
			want := f.changeBothSides()

			rule := f.px.Add(tc.rule)
			start := time.Now()
			s := f.eventsOf(f.run(SyncOptions{}))
			took := time.Since(start)
			if rule.Fired() == 0 || !s.Failed() {
				t.Fatalf("fired %d, summary %+v", rule.Fired(), s)
			}
			if took > 10*time.Second {
				t.Errorf("pass took %v under %s", took, tc.name)
			}
			t.Logf("observed after %v: err=%v problems=%v", took.Round(time.Millisecond), s.Err, s.Problems)
			f.keptLocally(want, "keep", "edit-local")
			f.recovers(want)
		})
	}
}

// TestFault_WriteAcceptedAnswerLost_NoDuplicateNothingLost: the
// server stores a PUT (update or create) but the answer never arrives (the
// connection is reset after the server acted).
func TestFault_WriteAcceptedAnswerLost_NoDuplicateNothingLost(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.editAndCreateLocally()
		f.px.Add(faultproxy.Rule{Method: "PUT", Action: faultproxy.LoseAnswer()})
		s := f.eventsOf(f.run(SyncOptions{}))
		if !s.Failed() {
			t.Fatalf("lost answers not reported: %+v", s)
		}
		if n := faultproxy.Count(f.px.Take(), "PUT", nil); n != 2 {
			t.Fatalf("%d PUTs reached the server, want 2", n)
		}
		f.clearAndConverge(want)
		// Known gap (reported): the next pass sees the server's rewritten copy
		// of our own write as a concurrent edit and keeps a conflict copy.
		// Nothing is lost: any copy holds the local version.
		_, other := f.itemsLocal()
		for _, n := range other {
			if got := summaryOf(f.ReadFile(f.Events, n)); got != want[n[:strings.Index(n, ".ics")]] {
				t.Errorf("copy %s holds %q", n, got)
			}
		}
		t.Logf("observed: conflict copies after a lost answer: %v", other)
		f.idle()
	})
}

// TestFault_TruncatedListing_NoDeletions cuts listings mid-XML: the
// incremental sync-collection answer, the full etag listing, and the first
// streamed download of a new calendar.
func TestFault_TruncatedListing_NoDeletions(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		// First contact with a local-only file: a truncated download must not plan anything.
		if err := os.MkdirAll(filepath.Join(f.Root, "events"), 0o700); err != nil {
			t.Fatal(err)
		}
		f.WriteFile(f.Events, "local-only.ics", event("local-only", "mine"))
		for i := 0; i < 6; i++ {
			f.Srv.Put(t, fmt.Sprintf("%sitem%d.ics", f.Events, i), event(fmt.Sprint("item", i), "v1"))
		}
		want := map[string]string{"local-only": "mine"}
		for i := 0; i < 6; i++ {
			want[fmt.Sprint("item", i)] = "v1"
		}
		f.px.Add(faultproxy.Rule{Method: "REPORT", Path: pathRe(`/events/$`), Action: faultproxy.Truncate(700)})
		f.px.Take()
		s := f.eventsOf(f.run(SyncOptions{}))
		if s.Err == nil {
			t.Fatalf("truncated first download not an error: %+v", s)
		}
		t.Logf("observed (first download): %v", s.Err)
		if w := writes(f.px.Take()); len(w) > 0 {
			t.Errorf("write under a truncated listing: %+v", w)
		}
		f.clearAndConverge(want)

		// Later passes: the phone deletes one item so the calendar is listed.
		f.Srv.Delete(t, f.Events+"item0.ics")
		delete(want, "item0")
		for _, body := range []string{"sync-collection", "calendar-query"} {
			f.Srv.Put(t, f.Events+"item1.ics", event("item1", "v2 "+body))
			want["item1"] = "v2 " + body
			if body == "calendar-query" {
				// Force the full listing: the token is refused.
				f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Nth: 1, Action: faultproxy.InvalidSyncToken()})
			}
			f.px.Add(faultproxy.Rule{Method: "REPORT", Body: body, Action: faultproxy.Truncate(300)})
			before, _ := f.itemsLocal()
			f.px.Take()
			s := f.eventsOf(f.run(SyncOptions{}))
			if s.Err == nil || s.DeletedLocal+s.DeletedRemote != 0 {
				t.Fatalf("truncated %s: %+v", body, s)
			}
			t.Logf("observed (%s): %v", body, s.Err)
			for _, r := range f.px.Take() {
				if r.Method == "DELETE" {
					t.Errorf("DELETE under a truncated %s: %+v", body, r)
				}
			}
			if after, _ := f.itemsLocal(); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("local folder changed under a truncated %s:\n%v\n%v", body, before, after)
			}
			f.px.Clear()
		}
		f.runOK()
		f.converged(want)
		f.idle()
	})
}

// TestFault_EmptyListing_RefusedNothingDeletedLocally: the server suddenly
// lists no items (full listing after a refused token), for a big and a small
// calendar.
func TestFault_EmptyListing_RefusedNothingDeletedLocally(t *testing.T) {
	for _, n := range []int{2, 8} {
		t.Run(fmt.Sprintf("%d items", n), func(t *testing.T) {
			t.Parallel()
			f := newFaultEnv(t, testserver.Radicale)
			var uids []string
			for i := 0; i < n; i++ {
				uids = append(uids, fmt.Sprint("u", i))
			}
			want := f.seed(uids...)
			f.Srv.Put(t, f.Events+"u0.ics", event("u0", "v2 phone"))
			want["u0"] = "v2 phone"
			f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Action: faultproxy.InvalidSyncToken()})
			f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "calendar-query", Action: faultproxy.EmptyListing()})
			f.px.Take()
			s := f.eventsOf(f.run(SyncOptions{}))
			if s.Refused == "" || s.DeletedLocal != 0 {
				t.Fatalf("empty listing not refused: %+v", s)
			}
			t.Logf("observed: %s", s.Refused)
			if loc, _ := f.itemsLocal(); len(loc) != n {
				t.Fatalf("local items deleted: %v", loc)
			}
			if w := writes(f.px.Take()); len(w) > 0 {
				t.Errorf("write under an empty listing: %+v", w)
			}
			f.recovers(want)
		})
	}
}

// TestFault_ETagDroppedOnPut_GetFetchedAndRecorded: a PUT answered without
// an ETag (RFC 4791 §5.3.4: the server may have changed the body).
func TestFault_ETagDroppedOnPut_GetFetchedAndRecorded(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.editAndCreateLocally()
		f.px.Add(faultproxy.Rule{Method: "PUT", Action: faultproxy.DropETag()})
		f.px.Take()
		s := f.runOK()
		reqs := f.px.Take()
		if s.Uploaded != 2 {
			t.Fatalf("%+v", s)
		}
		gets := 0
		for i, r := range reqs {
			if r.Method == "PUT" {
				if i+1 >= len(reqs) || reqs[i+1].Method != "GET" || reqs[i+1].Path != r.Path {
					t.Errorf("PUT %s without ETag not followed by a GET of it: %+v", r.Path, reqs)
				}
				gets++
			}
		}
		if gets != 2 {
			t.Fatalf("requests %+v", reqs)
		}
		f.px.Clear()
		f.converged(want)
		// The fetched ETag was recorded: the next pass neither uploads nor downloads.
		f.idle()
		for _, name := range []string{"x.ics", "y.ics"} {
			got := f.ReadFile(f.Events, name)
			srv, _ := f.Srv.Get(t, f.Events+name)
			if !bytes.Equal(got, srv) && !ics.Equivalent(got, srv) {
				t.Errorf("%s: local differs from the server's version", name)
			}
		}
	})
}

// TestFault_WeakETags_NoWriteLoopNothingLost: every ETag the client sees
// is weak (W/"…"), so If-Match can never succeed (RFC 9110 §13.1.1 strong
// comparison). The engine must not loop on 412 and must not lose the local
// edit: one 412, then one retry with the strong form of the validator after
// checking the server still holds the base (TestFault_WeakETags_… checks
// the edit reaches the server).
func TestFault_WeakETags_NoWriteLoopNothingLost(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.px.Add(faultproxy.Rule{Action: faultproxy.WeakenETag()})
	want := f.seed("x", "y")
	f.Srv.Put(t, f.Events+"y.ics", event("y", "v2 phone"))
	want["y"] = "v2 phone"
	f.runOK()
	f.converged(want)
	f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
	f.px.Take()
	for i := 0; i < 3; i++ {
		s := f.eventsOf(f.run(SyncOptions{}))
		t.Logf("pass %d: up %d down %d conflicts %d problems %v", i, s.Uploaded, s.Downloaded, s.Conflicts, s.Problems)
	}
	if n := faultproxy.Count(f.px.Take(), "PUT", nil); n > 2 {
		t.Errorf("%d PUTs in three passes for one edit: a 412 loop", n)
	}
	srv := f.itemsOnServer()
	_, other := f.itemsLocal()
	kept := srv["x"] == "v2 local"
	for _, n := range other {
		kept = kept || summaryOf(f.ReadFile(f.Events, n)) == "v2 local"
	}
	if !kept {
		t.Fatalf("local edit lost: server %v, other files %v", srv, other)
	}
	t.Logf("observed: server x=%q, other files %v", srv["x"], other)
	f.idle()
}

// TestFault_LocationOnCreate_ServerChosenHrefRecorded: the server stores a
// created item under a name of its choosing and says so in Location.
func TestFault_LocationOnCreate_ServerChosenHrefRecorded(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.seed("a")
		decoy := decoyServer(t)
		f.WriteFile(f.Events, "mine.ics", event("mine", "new local"))
		f.WriteFile(f.Events, "other.ics", event("other", "new local 2"))
		want["mine"], want["other"] = "new local", "new local 2"
		f.px.Add(faultproxy.Rule{Method: "PUT", Path: pathRe(`/mine\.ics$`), Action: faultproxy.MoveTo(f.Events + "server-chosen.ics")})
		// A Location on another host must be ignored, never visited.
		f.px.Add(faultproxy.Rule{Method: "PUT", Path: pathRe(`/other\.ics$`), Action: faultproxy.AddLocation(decoy.URL + f.Events + "other.ics")})
		s := f.runOK()
		if s.Uploaded != 2 {
			t.Fatalf("%+v", s)
		}
		f.px.Clear()
		if got, _ := f.Srv.Get(t, f.Events+"server-chosen.ics"); got == nil {
			t.Fatal("the server-chosen href holds nothing")
		}
		f.converged(want)
		f.idle()
		f.withStore(func(store *state.Store) {
			if _, ok, _ := store.Item(collectionKey(&f.Cfg.Accounts[0], davclient.Calendar{Href: f.Events}), f.Events+"server-chosen.ics"); !ok {
				t.Error("state does not record the Location href")
			}
		})
		if decoy.hits.Load() != 0 {
			t.Errorf("%d requests went to the Location on another host", decoy.hits.Load())
		}
	})
}

type decoy struct {
	*httptest.Server
	hits atomic.Int64
}

func decoyServer(t *testing.T) *decoy {
	d := &decoy{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(d.Close)
	return d
}

// TestFault_ETagBumpedBetweenListingAndWrite_ConflictPolicyLoserKept: a
// phone edit lands after the listing and before the PUT or DELETE.
func TestFault_ETagBumpedBetweenListingAndWrite_ConflictPolicyLoserKept(t *testing.T) {
	forEachCase(t, []string{"server-wins", "local-wins"}, func(t *testing.T, f *fenv, policy string) {
		f.Cfg.Accounts[0].ConflictPolicy = plan.Policy(policy)
		want := f.seed("x", "gone")
		f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
		os.Remove(f.File(f.Events, "gone.ics"))
		phone := func(uid string) func(*http.Request) {
			return func(*http.Request) { f.Srv.Put(t, f.Events+uid+".ics", event(uid, "v2 phone")) }
		}
		put := f.px.Add(faultproxy.Rule{Method: "PUT", Nth: 1, Action: faultproxy.Hook(phone("x"))})
		del := f.px.Add(faultproxy.Rule{Method: "DELETE", Nth: 1, Action: faultproxy.Hook(phone("gone"))})
		f.px.Take()
		s := f.runOK()
		reqs := f.px.Take()
		if put.Fired() != 1 || del.Fired() != 1 || s.Conflicts != 1 {
			t.Fatalf("summary %+v; requests %+v", s, reqs)
		}
		var statuses []string
		for _, r := range writes(reqs) {
			statuses = append(statuses, fmt.Sprintf("%s %s %d", r.Method, filepath.Base(r.Path), r.Status))
		}
		t.Logf("writes: %v", statuses)
		if !strings.Contains(strings.Join(statuses, ","), "PUT x.ics 412") || !strings.Contains(strings.Join(statuses, ","), "DELETE gone.ics 412") {
			t.Errorf("bumped ETag did not make the writes fail with 412: %v", statuses)
		}
		// The phone's edit beats the local delete.
		want["gone"] = "v2 phone"
		winner, loser := "v2 phone", "v2 local"
		if policy == "local-wins" {
			winner, loser = loser, winner
		}
		want["x"] = winner
		f.converged(want)
		_, other := f.itemsLocal()
		if len(other) != 1 || !strings.HasPrefix(other[0], "x.ics.conflict-") || summaryOf(f.ReadFile(f.Events, other[0])) != loser {
			t.Fatalf("loser %q not kept as a conflict copy: %v", loser, other)
		}
		f.idle()
	})
}

// TestFault_InvalidSyncToken_FullListingFallback: the server refuses the
// stored token (RFC 6578 §3.2 valid-sync-token).
func TestFault_InvalidSyncToken_FullListingFallback(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.seed("a", "b", "c")
		f.Srv.Put(t, f.Events+"b.ics", event("b", "v2 phone"))
		f.Srv.Delete(t, f.Events+"c.ics")
		f.Srv.Put(t, f.Events+"d.ics", event("d", "new phone"))
		want["b"], want["d"] = "v2 phone", "new phone"
		delete(want, "c")
		rule := f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Nth: 1, Action: faultproxy.InvalidSyncToken()})
		f.px.Take()
		s := f.runOK()
		reqs := f.px.Take()
		if rule.Fired() != 1 || s.Downloaded != 2 || s.DeletedLocal != 1 {
			t.Fatalf("summary %+v; requests %+v", s, reqs)
		}
		// A full listing: sync-collection from an empty token (which also
		// yields a fresh token), or a calendar-query.
		var full bool
		for _, r := range reqs {
			full = full || (r.Method == "REPORT" && r.Forwarded &&
				(strings.Contains(r.Body, "calendar-query") || strings.Contains(r.Body, "<D:sync-token></D:sync-token>")))
		}
		if !full {
			t.Errorf("no full listing after the refused token: %+v", reqs)
		}
		f.converged(want)
		// The new token was recorded: the next pass uses sync-collection again.
		f.Srv.Put(t, f.Events+"a.ics", event("a", "v2 phone"))
		want["a"] = "v2 phone"
		f.runOK()
		evRe := pathRe("^" + regexp.QuoteMeta(f.Events) + "$")
		for _, r := range f.px.Take() {
			if evRe.MatchString(r.Path) && strings.Contains(r.Body, "calendar-query") {
				t.Errorf("after the fallback the pass did not go back to sync-collection: %+v", r)
			}
		}
		f.converged(want)
		f.idle()
	})
}

// TestFault_TruncatedSyncPage507_Continued: the sync-collection answer is a
// partial page (RFC 6578 §3.6) holding only one change.
func TestFault_TruncatedSyncPage507_Continued(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.seed("a", "b")
		for _, u := range []string{"n1", "n2", "n3"} {
			f.Srv.Put(t, f.Events+u+".ics", event(u, "new phone"))
			want[u] = "new phone"
		}
		f.Srv.Delete(t, f.Events+"b.ics")
		delete(want, "b")
		rule := f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "sync-collection", Nth: 1, Action: faultproxy.TruncatedSyncPage(1)})
		f.px.Take()
		s := f.runOK()
		reqs := f.px.Take()
		n := 0
		for _, r := range reqs {
			if strings.Contains(r.Body, "sync-collection") {
				n++
			}
		}
		if rule.Fired() != 1 || n < 2 || s.Downloaded != 3 || s.DeletedLocal != 1 {
			t.Fatalf("%d sync-collection requests; summary %+v", n, s)
		}
		f.converged(want)
		f.idle()
	})
}

var calDataRe = regexp.MustCompile(`(?s)(<(?:[A-Za-z0-9]+:)?calendar-data[^>]*>).*?(</(?:[A-Za-z0-9]+:)?calendar-data>)`)

// TestFault_CalendarDataNotICalendar_EngineSurvives: the server answers
// HTML or garbage where iCalendar belongs, in listings and GETs.
func TestFault_CalendarDataNotICalendar_EngineSurvives(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.Srv.Put(t, f.Events+"good.ics", event("good", "v1"))
	f.Srv.Put(t, f.Events+"bad.ics", event("bad", "v1"))
	garbage := func(r *http.Request, b []byte) []byte {
		if r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/bad.ics") {
			return []byte("<html><body>502 Bad Gateway</body></html>")
		}
		return calDataRe.ReplaceAllFunc(b, func(m []byte) []byte {
			if !bytes.Contains(m, []byte("UID:bad")) {
				return m
			}
			s := calDataRe.FindSubmatch(m)
			return append(append(append([]byte{}, s[1]...), "&lt;html&gt;&lt;body&gt;oops&lt;/body&gt;&lt;/html&gt;"...), s[2]...)
		})
	}
	f.px.Add(faultproxy.Rule{Action: faultproxy.RewriteBody(garbage)})
	badBefore, _ := f.Srv.Get(t, f.Events+"bad.ics")
	for i := 0; i < 2; i++ {
		s := f.eventsOf(f.run(SyncOptions{}))
		t.Logf("pass %d: %+v", i, s)
		// The first pass is a first download: its writers validate.
		if !strings.Contains(strings.Join(s.Problems, "\n"), "invalid data for "+f.Events+"bad.ics") {
			t.Errorf("pass %d does not report the bad item: %q", i, s.Problems)
		}
		if loc, other := f.itemsLocalLenient(); len(other) != 0 || loc["good"] != "v1" {
			t.Errorf("pass %d: local %v, other files %v", i, loc, other)
		}
	}
	f.WriteFile(f.Events, "good.ics", event("good", "v2 local"))
	f.run(SyncOptions{})
	loc, other := f.itemsLocalLenient()
	t.Logf("observed: local %v, other files %v", loc, other)
	if loc["good"] != "v2 local" {
		t.Fatalf("the good item was not synced next to the bad one: %v", loc)
	}
	for _, r := range writes(f.px.Requests()) {
		if strings.HasSuffix(r.Path, "/bad.ics") {
			t.Errorf("the garbage went back to the server: %+v", r)
		}
	}
	if got, _ := f.Srv.Get(t, f.Events+"bad.ics"); !bytes.Equal(got, badBefore) {
		t.Errorf("server copy of bad.ics changed:\n%q\n%q", badBefore, got)
	}
	if srv := f.itemsOnServer(); srv["good"] != "v2 local" || srv["bad"] != "v1" {
		t.Errorf("server: %v", srv)
	}
}

// itemsLocalLenient is itemsLocal that tolerates invalid files (named by file).
func (f *fenv) itemsLocalLenient() (map[string]string, []string) {
	out := map[string]string{}
	var other []string
	for _, n := range f.LocalNames(f.Events) {
		body := f.ReadFile(f.Events, n)
		if info, err := ics.Inspect(body); err == nil && strings.HasSuffix(n, ".ics") {
			out[info.UID] = summaryOf(body)
		} else if n != "displayname" && n != "color" && !isConflictNote(n) {
			other = append(other, n)
		}
	}
	sort.Strings(other)
	return out, other
}
