package engine

// What a pass does when a write meets a surprise that real servers (or the
// proxies before them) produce: weak or missing ETags on a conflict, a
// server-chosen href for a re-created item, and a server that keeps naming
// an href that does not exist. Each test runs several passes and asserts
// what the folder, state and the server hold, and how many requests it took.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vdird/vdird/davclient"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// conflictCopies lists the conflict copies in the events folder.
func (f *fenv) conflictCopies() []string {
	var out []string
	for _, n := range f.LocalNames(f.Events) {
		if strings.Contains(n, ".conflict-") && !isConflictNote(n) {
			out = append(out, n)
		}
	}
	return out
}

func TestSync_LocalWinsWithWeakOrNoETags_OneConflictCopyNotOnePerPass(t *testing.T) {
	stripETags := []faultproxy.Rule{
		{Action: faultproxy.RewriteBody(func(_ *http.Request, b []byte) []byte { return getetagRe.ReplaceAll(b, nil) })},
		{Action: faultproxy.DropETag()},
	}
	cases := []struct {
		name  string
		rules []faultproxy.Rule
		// uploaded: the server gives a usable strong ETag (the strong form of
		// a weakened one), so the local version reaches the server; else
		// both versions are kept and the item is reported.
		uploaded bool
	}{
		{"weak-etags", []faultproxy.Rule{{Action: faultproxy.WeakenETag()}}, true},
		{"no-etags", stripETags, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultEnv(t, testserver.Radicale)
			f.Cfg.Accounts[0].ConflictPolicy = plan.LocalWins
			for _, r := range tc.rules {
				f.px.Add(r)
			}
			f.seed("x")
			f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
			f.Srv.Put(t, f.Events+"x.ics", event("x", "v2 phone"))
			xRe := pathRe(`/x\.ics$`)
			for pass := 1; pass <= 3; pass++ {
				f.px.Take()
				s := f.eventsOf(f.run(SyncOptions{}))
				puts := faultproxy.Count(f.px.Take(), "PUT", xRe)
				copies := f.conflictCopies()
				t.Logf("pass %d: uploaded %d conflicts %d problems %q PUTs of x %d copies %v", pass, s.Uploaded, s.Conflicts, s.Problems, puts, copies)
				if len(copies) > 1 {
					t.Fatalf("pass %d: %d conflict copies of one conflict: %v", pass, len(copies), copies)
				}
				if tc.uploaded && pass > 1 && (puts != 0 || len(s.Problems) != 0 || s.Conflicts != 0) {
					t.Fatalf("pass %d after the conflict was resolved is not quiet: %d PUTs, %+v", pass, puts, s)
				}
				if !tc.uploaded {
					if puts != 0 {
						t.Fatalf("pass %d: %d PUTs of x without a usable ETag", pass, puts)
					}
					if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "x.ics") || !strings.Contains(s.Problems[0], "ETag") {
						t.Fatalf("pass %d: want one problem about x.ics and its ETag: %q", pass, s.Problems)
					}
				}
			}
			srv := f.itemsOnServer()
			local := summaryOf(f.ReadFile(f.Events, "x.ics"))
			copies := f.conflictCopies()
			if tc.uploaded {
				if srv["x"] != "v2 local" || local != "v2 local" {
					t.Fatalf("local version did not win: server %q local %q", srv["x"], local)
				}
				if len(copies) != 1 || summaryOf(f.ReadFile(f.Events, copies[0])) != "v2 phone" {
					t.Fatalf("the server version is not kept in one conflict copy: %v", copies)
				}
				f.idle()
				return
			}
			if srv["x"] != "v2 phone" || local != "v2 local" {
				t.Fatalf("a version was lost: server %q local %q", srv["x"], local)
			}
		})
	}
}

// stateItems lists the events calendar's state entries as "href name".
func (f *fenv) stateItems() []string {
	f.t.Helper()
	var out []string
	f.withStore(func(store *state.Store) {
		items, err := store.Items(collectionKey(&f.Cfg.Accounts[0], davclient.Calendar{Href: f.Events}))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, it := range items {
			out = append(out, it.Href+" "+it.Name)
		}
	})
	return out
}

func TestSync_RecreateAnsweredWithLocationElsewhere_OneStateEntryNoDuplicate(t *testing.T) {
	// The server-chosen href sorts before and after the old one.
	forEachCase(t, []string{"a-chosen.ics", "z-chosen.ics"}, func(t *testing.T, f *fenv, chosen string) {
		want := f.seed("x", "keep")
		f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
		f.Srv.Delete(t, f.Events+"x.ics")
		want["x"] = "v2 local"
		f.px.Add(faultproxy.Rule{Method: "PUT", Path: pathRe(`/x\.ics$`), Action: faultproxy.MoveTo(f.Events + chosen)})
		s := f.runOK()
		if s.Uploaded != 1 {
			t.Fatalf("re-create not uploaded: %+v", s)
		}
		wantState := []string{f.Events + chosen + " x.ics", f.Events + "keep.ics keep.ics"}
		got := f.stateItems()
		if !slicesEqualSorted(got, wantState) {
			t.Fatalf("state after the re-create:\n got %q\nwant %q", got, wantState)
		}
		if hrefs := f.Srv.Members(t, f.Events); len(hrefs) != 2 {
			t.Fatalf("server holds %v", hrefs)
		}
		f.converged(want)
		for i := 0; i < 2; i++ {
			f.idle()
		}
		if got := f.stateItems(); !slicesEqualSorted(got, wantState) {
			t.Fatalf("state after later passes: %q", got)
		}
		if names := f.LocalNames(f.Events); fmt.Sprint(names) != "[displayname keep.ics x.ics]" {
			t.Fatalf("folder: %v", names)
		}
	})
}

func slicesEqualSorted(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// hostileFront is an httptest server before Radicale that answers some
// requests itself, as no real server does (answer returns true when it did),
// and counts the requests per method and path.
type hostileFront struct {
	*httptest.Server
	mu    sync.Mutex
	count map[string]int // "METHOD /path" → requests
}

func newHostileFront(t *testing.T, target string, answer func(w http.ResponseWriter, r *http.Request) bool) *hostileFront {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	h := &hostileFront{count: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.count[r.Method+" "+r.URL.Path]++
		h.mu.Unlock()
		if !answer(w, r) {
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPut && r.Header.Get("If-None-Match") == "*"
}

// n counts the requests of method to path, when called.
func (h *hostileFront) n(method, path string) func() int {
	return func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.count[method+" "+path]
	}
}

// total counts the requests of method, when called.
func (h *hostileFront) total(method string) func() int {
	return func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for k, c := range h.count {
			if strings.HasPrefix(k, method+" ") {
				n += c
			}
		}
		return n
	}
}

// newItemThrough syncs keep.ics straight from the server, then writes a
// new local item new.ics and runs one pass through front under a deadline.
// The pass must end promptly, without error, having made at most six
// writes and six reads (counted by writes and reads once it ran).
func newItemThrough(t *testing.T, e *env, front *hostileFront, writes, reads func() int) *Summary {
	t.Helper()
	e.Srv.Put(t, e.Events+"keep.ics", event("keep", "v1"))
	e.syncOK()
	e.WriteFile(e.Events, "new.ics", event("new", "new local"))
	e.Cfg.Accounts[0].URL = front.URL + mustPath(t, e.Srv.URL)
	store, err := state.Open(e.Cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := NewEngine(e.Cfg, store, zerolog.New(io.Discard))
	const deadline = 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	sums := eng.Sync(ctx, SyncOptions{})
	took := time.Since(start)
	var s *Summary
	for _, x := range sums {
		if x.Href == e.Events {
			s = x
		}
	}
	if s == nil {
		t.Fatalf("no summary for %s: %+v", e.Events, sums)
	}
	w, r := writes(), reads()
	t.Logf("took %v: err=%v problems=%q conflicts=%d; PUTs %d, GETs %d", took, s.Err, s.Problems, s.Conflicts, w, r)
	if s.Err != nil {
		t.Fatalf("the pass failed instead of reporting the item: %v", s.Err)
	}
	if w > 6 || r > 6 || took > deadline/4 {
		t.Fatalf("not bounded: %d PUTs, %d GETs in %v", w, r, took)
	}
	return s
}

func TestSync_CreateRefusedByUIDConflictAtMissingHref_BoundedAndReportedOnce(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	missing := e.Events + "missing.ics"
	front := newHostileFront(t, e.Srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if !isCreate(r) {
			return false
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>%s</D:href></C:no-uid-conflict></D:error>`, missing)
		return true
	})
	s := newItemThrough(t, e, front, front.total("PUT"), front.n("GET", missing))
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "new.ics") || !strings.Contains(s.Problems[0], missing) {
		t.Fatalf("want one problem for new.ics naming %s: %q", missing, s.Problems)
	}
	if names := e.LocalNames(e.Events); fmt.Sprint(names) != "[displayname keep.ics new.ics]" {
		t.Fatalf("folder: %v", names)
	}
}

// TestSync_CreateRefused412ThenHrefNotFound_Bounded: a server that refuses a
// create as "name taken" (412) but then has nothing at that href, steadily
// or every other GET.
func TestSync_CreateRefused412ThenHrefNotFound_Bounded(t *testing.T) {
	for _, flip := range []bool{false, true} {
		t.Run(fmt.Sprintf("flipping=%v", flip), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testserver.Radicale)
			href := e.Events + "new.ics"
			var mu sync.Mutex
			gets := 0
			front := newHostileFront(t, e.Srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
				switch {
				case isCreate(r):
					w.WriteHeader(http.StatusPreconditionFailed)
				case r.Method == http.MethodGet && r.URL.Path == href:
					mu.Lock()
					gets++
					n := gets
					mu.Unlock()
					if !flip || n%2 == 0 {
						http.NotFound(w, r)
						break
					}
					// Every other GET: an item with our UID, not our content.
					w.Header().Set("ETag", fmt.Sprintf(`"g%d"`, n))
					_, _ = w.Write(event("new", "the server's own"))
				default:
					return false
				}
				return true
			})
			s := newItemThrough(t, e, front, front.total("PUT"), front.n("GET", href))
			if !flip && (len(s.Problems) != 1 || !strings.Contains(s.Problems[0], href)) {
				t.Fatalf("want one problem naming %s: %q", href, s.Problems)
			}
		})
	}
}

func mustPath(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
