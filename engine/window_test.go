package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/window"
	"github.com/vdird/vdird/state"
)

// bodyRecorder sends requests on and keeps each one's method, path and
// body, so a test can look at what a REPORT asked for.
type bodyRecorder struct {
	mu   sync.Mutex
	reqs []recordedRequest
}

type recordedRequest struct{ Method, Path, IfMatch, Body string }

func (r *bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recordedRequest{req.Method, req.URL.Path, req.Header.Get("If-Match"), string(body)})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// take returns the requests since the last take.
func (r *bodyRecorder) take() []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// syncAt runs one pass with the engine's clock at now, through rec.
func (e *env) syncAt(now time.Time, rec *bodyRecorder) map[string]*Summary {
	e.t.Helper()
	out := map[string]*Summary{}
	e.withStore(func(store *state.Store) {
		eng := NewEngine(e.Cfg, store, zerolog.New(io.Discard))
		eng.HTTPClient = &http.Client{Transport: rec}
		eng.Now = func() time.Time { return now }
		for _, s := range eng.Sync(context.Background(), SyncOptions{}) {
			if s.Failed() {
				e.t.Fatalf("%s/%s failed: err=%v refused=%q problems=%v", s.Account, s.Calendar, s.Err, s.Refused, s.Problems)
			}
			out[s.Href] = s
		}
	})
	return out
}

// timedEvent is an event from start lasting an hour, with rrule ("" for
// none) as its RRULE.
func timedEvent(uid, summary string, start time.Time, rrule string) []byte {
	const stamp = "20060102T150405Z"
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:" + start.Format(stamp) + "\r\nDTEND:" + start.Add(time.Hour).Format(stamp) +
		"\r\nSUMMARY:" + summary + "\r\n")
	if rrule != "" {
		b.WriteString("RRULE:" + rrule + "\r\n")
	}
	b.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}

// localUIDs are the UIDs of the item files in the folder of cal.
func (e *env) localUIDs(cal string) map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	for _, n := range e.LocalNames(cal) {
		if !strings.HasSuffix(n, ".ics") {
			continue
		}
		if m := regexp.MustCompile(`(?m)^UID:(\S+)`).FindSubmatch(e.ReadFile(cal, n)); m != nil {
			out[string(m[1])] = true
		}
	}
	return out
}

// timeRangeReports counts the REPORT requests to cal among reqs whose body
// holds a time-range filter, and those that list it some other way
// (a calendar-query without one, or a sync-collection).
func timeRangeReports(reqs []recordedRequest, cal string) (ranged, unranged int) {
	for _, r := range reqs {
		if r.Method != "REPORT" || r.Path != cal {
			continue
		}
		switch {
		case strings.Contains(r.Body, "time-range"):
			ranged++
		case strings.Contains(r.Body, "calendar-query") || strings.Contains(r.Body, "sync-collection"):
			unranged++
		}
	}
	return ranged, unranged
}

func TestSync_Window_200EventsOverFiveYears_OnlyThoseOverlappingTheWindowArrive_NothingDeletedOnServer(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		items := map[string][]byte{}
		starts := map[string]time.Time{}
		for i := range 200 {
			uid := fmt.Sprintf("ev%03d", i)
			starts[uid] = now.AddDate(0, 0, -912+i*9).Add(10 * time.Hour)
			items[uid+".ics"] = timedEvent(uid, "Event "+uid, starts[uid], "")
		}
		items["weekly.ics"] = timedEvent("weekly", "Weekly since years", now.AddDate(-3, 0, 0).Add(9*time.Hour), "FREQ=WEEKLY")
		items["ended.ics"] = timedEvent("ended", "Weekly that ended", now.AddDate(-3, 0, 0).Add(9*time.Hour), "FREQ=WEEKLY;UNTIL=20240101T000000Z")
		cal := e.Srv.SeedCalendar(t, "windowed", "Windowed", items)
		a := &e.Cfg.Accounts[0]
		a.Calendars = []string{cal}
		w, err := window.Parse([]string{"-30d", "+365d"})
		if err != nil {
			t.Fatal(err)
		}
		a.Scope = window.Scope{Window: w}

		// Which events overlap the window of whole UTC days from the day
		// of at-30d to the day of at+365d, worked out here from the
		// events' own times.
		inWindow := func(at time.Time) map[string]bool {
			midnight := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
			from, to := midnight.AddDate(0, 0, -30), midnight.AddDate(0, 0, 366)
			want := map[string]bool{"weekly": true}
			for uid, s := range starts {
				if s.Before(to) && s.Add(time.Hour).After(from) {
					want[uid] = true
				}
			}
			return want
		}
		onServer := len(e.Srv.Members(t, cal))
		rec := &bodyRecorder{}

		sums := e.syncAt(now, rec)
		want := inWindow(now)
		if got := e.localUIDs(cal); !maps.Equal(got, want) {
			t.Fatalf("first download: %d items %v, want the %d overlapping the window %v", len(got), slices.Sorted(maps.Keys(got)), len(want), slices.Sorted(maps.Keys(want)))
		}
		if len(want) < 40 || len(want) > 50 || sums[cal].Downloaded != len(want) {
			t.Fatalf("expected about 45 of 202 in the window, downloaded %d of %d", sums[cal].Downloaded, len(want))
		}
		reqs := rec.take()
		if ranged, unranged := timeRangeReports(reqs, cal); ranged == 0 || unranged > 0 {
			t.Fatalf("first download: %d REPORTs with a time-range, %d listing the calendar without one", ranged, unranged)
		}

		// An idle pass lists nothing.
		idle := e.syncAt(now.Add(time.Hour), rec)
		if ranged, unranged := timeRangeReports(rec.take(), cal); ranged+unranged != 0 {
			t.Fatalf("an idle pass the same day listed the calendar: %d, %d (%+v)", ranged, unranged, idle[cal])
		}

		// 400 days later the window has moved: what is in it now arrives,
		// what left it stays synced, and the server keeps everything.
		later := now.AddDate(0, 0, 400)
		sums = e.syncAt(later, rec)
		wantLater := inWindow(later)
		both := maps.Clone(want)
		maps.Copy(both, wantLater)
		if got := e.localUIDs(cal); !maps.Equal(got, both) {
			t.Fatalf("after the clock moved: %v, want what either window held %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(both)))
		}
		newly := 0
		for uid := range wantLater {
			if !want[uid] {
				newly++
			}
		}
		if newly == 0 || sums[cal].Downloaded != newly || sums[cal].DeletedLocal+sums[cal].DeletedRemote != 0 {
			t.Fatalf("clock moved: downloaded %d, want the %d newly in the window; deleted %d/%d", sums[cal].Downloaded, newly, sums[cal].DeletedLocal, sums[cal].DeletedRemote)
		}
		reqs = rec.take()
		if ranged, unranged := timeRangeReports(reqs, cal); ranged == 0 || unranged > 0 {
			t.Fatalf("after the clock moved: %d REPORTs with a time-range, %d without", ranged, unranged)
		}
		for _, r := range reqs {
			if r.Method == http.MethodDelete || r.Method == http.MethodPut {
				t.Fatalf("the moving window wrote to the server: %s %s", r.Method, r.Path)
			}
		}
		if n := len(e.Srv.Members(t, cal)); n != onServer {
			t.Fatalf("server holds %d items, had %d", n, onServer)
		}

		// An item that left the window, edited here, is uploaded with
		// If-Match; a new file far outside the window is created.
		var left string
		for uid := range want {
			if !wantLater[uid] {
				left = uid
				break
			}
		}
		name := left + ".ics"
		if _, err := os.Stat(e.File(cal, name)); err != nil {
			t.Fatalf("the item that left the window is not in the folder: %v", err)
		}
		_, before := e.Srv.Get(t, cal+name)
		e.WriteFile(cal, name, timedEvent(left, "Edited after it left the window", starts[left], ""))
		e.WriteFile(cal, "ancient.ics", timedEvent("ancient", "Ten years ago", now.AddDate(-10, 0, 0), ""))
		sums = e.syncAt(later.Add(time.Hour), rec)
		if sums[cal].Uploaded != 2 {
			t.Fatalf("uploaded %d, want the edit and the new file", sums[cal].Uploaded)
		}
		var ifMatch bool
		for _, r := range rec.take() {
			if r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/"+name) {
				ifMatch = r.IfMatch != "" && r.IfMatch == before
			}
		}
		if got, _ := e.Srv.Get(t, cal+name); !ifMatch || !bytes.Contains(got, []byte("Edited after it left the window")) {
			t.Fatalf("the edit of an item outside the window did not reach the server (PUT with If-Match %s seen: %v)", before, ifMatch)
		}
		if n := len(e.Srv.Members(t, cal)); n != onServer+1 {
			t.Fatalf("server holds %d items, want %d and the new one", n, onServer)
		}

		// Deleted on the server while outside the window: the lookup finds
		// it gone, and its file goes.
		var gone string
		for uid := range want {
			if !wantLater[uid] && uid != left {
				gone = uid
				break
			}
		}
		e.Srv.Delete(t, cal+gone+".ics")
		sums = e.syncAt(later.Add(2*time.Hour), rec)
		if _, err := os.Stat(e.File(cal, gone+".ics")); !os.IsNotExist(err) || sums[cal].DeletedLocal != 1 || sums[cal].DeletedRemote != 0 {
			t.Fatalf("an item outside the window deleted on the server: file %v, deleted %d here, %d there", err, sums[cal].DeletedLocal, sums[cal].DeletedRemote)
		}
		if n := len(e.Srv.Members(t, cal)); n != onServer {
			t.Fatalf("server holds %d items, want %d", n, onServer)
		}
	})
}

func TestSync_Components_OnlyThoseTypesListed_ANewFileOfAnotherTypeNotUploaded_ChangingThemDeletesNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cal := e.Srv.MakeCalendar(t, "mixed", "Mixed", "VEVENT", "VTODO")
		e.Srv.Put(t, cal+"ev.ics", timedEvent("ev", "An event", now.AddDate(0, 0, 3), ""))
		e.Srv.Put(t, cal+"todo.ics", task("todo", "A task"))
		a := &e.Cfg.Accounts[0]
		a.Calendars = []string{cal}
		a.CalendarScopes = nil
		a.Scope = window.Scope{Components: []string{"VEVENT"}}
		rec := &bodyRecorder{}

		e.syncAt(now, rec)
		if got := e.localUIDs(cal); !maps.Equal(got, map[string]bool{"ev": true}) {
			t.Fatalf("with components = [\"VEVENT\"]: %v, want the event alone", got)
		}
		for _, r := range rec.take() {
			if r.Method == "REPORT" && r.Path == cal && !strings.Contains(r.Body, `comp-filter name="VEVENT"`) {
				t.Fatalf("a listing that is not for VEVENT alone: %s", r.Body)
			}
		}
		e.WriteFile(cal, "mine.ics", task("mine", "A local task"))
		sums := e.syncAt(now.Add(time.Minute), rec)
		if sums[cal].Uploaded != 0 || len(sums[cal].Skipped) != 0 || len(sums[cal].Problems) != 0 {
			t.Fatalf("a local task in a VEVENT-only sync: uploaded %d, skipped %v, problems %v", sums[cal].Uploaded, sums[cal].Skipped, sums[cal].Problems)
		}
		if got, _ := e.Srv.Get(t, cal+"mine.ics"); got != nil || len(e.Srv.Members(t, cal)) != 2 {
			t.Fatal("the local task reached the server")
		}

		// Every type again: the task comes down, the local task goes up,
		// and nothing is deleted anywhere.
		a.Scope = window.Scope{}
		sums = e.syncAt(now.Add(2*time.Minute), rec)
		if got := e.localUIDs(cal); !maps.Equal(got, map[string]bool{"ev": true, "todo": true, "mine": true}) {
			t.Fatalf("after components were dropped: %v", got)
		}
		if sums[cal].Downloaded != 1 || sums[cal].Uploaded != 1 || sums[cal].DeletedLocal+sums[cal].DeletedRemote != 0 {
			t.Fatalf("after components were dropped: %+v", sums[cal])
		}

		// VEVENT alone again: the synced task stays on both sides.
		a.Scope = window.Scope{Components: []string{"VEVENT"}}
		sums = e.syncAt(now.Add(3*time.Minute), rec)
		if sums[cal].DeletedLocal+sums[cal].DeletedRemote != 0 || len(e.Srv.Members(t, cal)) != 3 ||
			!maps.Equal(e.localUIDs(cal), map[string]bool{"ev": true, "todo": true, "mine": true}) {
			t.Fatalf("narrowing the components deleted something: %+v, server %v", sums[cal], e.Srv.Members(t, cal))
		}
		if _, err := os.Stat(filepath.Join(e.Root, "mixed", "todo.ics")); err != nil {
			t.Fatal(err)
		}
	})
}

// A folder another syncer filled (a move from vdirsyncer) meets a
// windowed calendar for the first time: its files outside the window are
// on the server already, under other hrefs. None is duplicated there.
func TestSync_Window_FirstContactWithAFilledFolder_ItemsOutsideTheWindowNotDuplicated(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		old := timedEvent("old-uid", "Long ago", now.AddDate(-2, 0, 0), "")
		soon := timedEvent("soon-uid", "Soon", now.AddDate(0, 0, 5), "")
		cal := e.Srv.SeedCalendar(t, "filled", "Filled", map[string][]byte{"server-old.ics": old, "server-soon.ics": soon})
		a := &e.Cfg.Accounts[0]
		a.Calendars = []string{cal}
		w, _ := window.Parse([]string{"-30d", "+365d"})
		a.Scope = window.Scope{Window: w}
		dir := filepath.Join(e.Root, "filled")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"old-uid.ics": old, "soon-uid.ics": soon} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		rec := &bodyRecorder{}
		sums := e.syncAt(now, rec)
		members := e.Srv.Members(t, cal)
		if len(members) != 2 {
			t.Fatalf("server holds %v after the first contact (%+v), want its two items alone", members, sums[cal])
		}
		e.syncAt(now.Add(time.Hour), rec)
		if members := e.Srv.Members(t, cal); len(members) != 2 {
			t.Fatalf("server holds %v after the second pass", members)
		}
		if got := e.localUIDs(cal); !maps.Equal(got, map[string]bool{"old-uid": true, "soon-uid": true}) {
			t.Fatalf("folder: %v", got)
		}
	})
}

func TestSync_Window_ChangedInTheConfig_WiderBringsMore_NarrowerDeletesNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		items := map[string][]byte{}
		for i := range 40 {
			uid := fmt.Sprintf("m%02d", i)
			items[uid+".ics"] = timedEvent(uid, "Month "+uid, now.AddDate(0, i-20, 0), "")
		}
		cal := e.Srv.SeedCalendar(t, "months", "Months", items)
		a := &e.Cfg.Accounts[0]
		a.Calendars = []string{cal}
		set := func(from, to string) {
			w, err := window.Parse([]string{from, to})
			if err != nil {
				t.Fatal(err)
			}
			a.Scope = window.Scope{Window: w}
		}
		rec := &bodyRecorder{}
		set("-2m", "+2m")
		e.withStore(func(store *state.Store) {
			eng := NewEngine(e.Cfg, store, zerolog.New(io.Discard))
			eng.HTTPClient = &http.Client{Transport: rec}
			eng.Now = func() time.Time { return now }
			sums := eng.Sync(context.Background(), SyncOptions{DryRun: true})
			if len(sums) != 1 || len(sums[0].Planned) != 5 {
				t.Fatalf("a dry run plans %d actions, want the 5 downloads in the window", len(sums[0].Planned))
			}
		})
		if _, err := os.Stat(filepath.Join(e.Root, "months")); !os.IsNotExist(err) {
			t.Fatalf("the dry run made the folder: %v", err)
		}
		e.syncAt(now, rec)
		first := e.localUIDs(cal)
		if len(first) != 5 { // months -2 to +2
			t.Fatalf("window of two months either side: %v", slices.Sorted(maps.Keys(first)))
		}

		set("-1y", "+1y")
		sums := e.syncAt(now.Add(time.Minute), rec)
		wider := e.localUIDs(cal)
		if len(wider) != 25 || sums[cal].Downloaded != 20 { // months -12 to +12
			t.Fatalf("a wider window: %d items, %d downloaded: %v", len(wider), sums[cal].Downloaded, slices.Sorted(maps.Keys(wider)))
		}

		set("-1d", "+1d")
		sums = e.syncAt(now.Add(2*time.Minute), rec)
		if got := e.localUIDs(cal); !maps.Equal(got, wider) || sums[cal].DeletedLocal+sums[cal].DeletedRemote != 0 {
			t.Fatalf("a narrower window deleted something: %d items, %+v", len(got), sums[cal])
		}
		for _, r := range rec.take() {
			if r.Method == http.MethodDelete || r.Method == http.MethodPut {
				t.Fatalf("changing the window wrote to the server: %s %s", r.Method, r.Path)
			}
		}
		if n := len(e.Srv.Members(t, cal)); n != 40 {
			t.Fatalf("server holds %d items, want 40", n)
		}
	})
}
