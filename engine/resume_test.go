package engine

// An interrupted first download: its folder stays hidden, however the
// download stopped, until a later run completes it, and that run fetches
// only what the staging folder lacks.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vdird/vdird/engine/fresh"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/vdir"
)

// countObjects counts, from now on, the calendar objects that the server's
// REPORT answers carry through f's proxy: every item a pass downloads,
// whether by calendar-query or by calendar-multiget.
func (f *fenv) countObjects() *atomic.Int64 {
	var n atomic.Int64
	f.px.Add(faultproxy.Rule{Name: "count", Method: "REPORT", Action: faultproxy.RewriteBody(func(_ *http.Request, b []byte) []byte {
		n.Add(int64(bytes.Count(b, []byte("BEGIN:VCALENDAR"))))
		return b
	})})
	return &n
}

// hidden asserts that cal has no folder khal could read and that its
// staging folder holds want item files, and returns their names, sorted.
func (f *fenv) hidden(cal string, want int) []string {
	f.t.Helper()
	folder := filepath.Join(f.Root, calDir(cal))
	if _, err := os.Lstat(folder); !errors.Is(err, fs.ErrNotExist) {
		f.t.Fatalf("the calendar's folder is visible before its first download completed (%v)", err)
	}
	ents, err := os.ReadDir(vdir.StagePath(folder))
	if err != nil {
		f.t.Fatalf("no staging folder: %v", err)
	}
	var names []string
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), ".ics") {
			names = append(names, en.Name())
		}
	}
	if len(names) != want {
		f.t.Fatalf("the staging folder holds %d items, want the %d recorded", len(names), want)
	}
	return names
}

// dataQueries counts the first-download queries (calendar-query with the
// data of every member) among reqs.
func dataQueries(reqs []faultproxy.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == "REPORT" && strings.Contains(r.Body, "calendar-query") && strings.Contains(r.Body, "calendar-data") {
			n++
		}
	}
	return n
}

// TestSync_FirstDownloadCutOff_HiddenUntilResumeFetchesOnlyWhatIsMissing
// cuts a first download's answer short after several batches were
// recorded. Nothing of the calendar is visible then. Between the runs the
// server changes a staged item, deletes a staged and a missing one and
// gains a new one. The next run fetches exactly the missing, changed and
// new items (counted in the server's answers), deletes the staged copy of
// the deleted one, publishes a folder equal to the server, and the run
// after it is idle.
func TestSync_FirstDownloadCutOff_HiddenUntilResumeFetchesOnlyWhatIsMissing(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		f := withFaultProxy(t, &env{Env: synctest.On(t, srv), t: t})
		const n = 1000
		cal := f.seedOnly("cut", n, "c%04d", "server")
		f.Events = cal
		cut := f.interruptedFirstSync(cal, 0.6)
		first := cut.Downloaded
		if cut.Err == nil || !strings.Contains(cut.Err.Error(), fmt.Sprintf("first download interrupted, %d items staged", first)) ||
			first < fresh.BatchItems || first >= n {
			t.Fatalf("interrupted pass: downloaded %d, err %v", first, cut.Err)
		}
		staged := f.hidden(cal, first)

		want := map[string]string{}
		for i := range n {
			want[fmt.Sprintf("c%04d", i)] = "server"
		}
		uid := func(name string) string { return strings.TrimSuffix(name, ".ics") }
		edited, deleted := staged[0], staged[1]
		var missing string
		for i := range n {
			if name := fmt.Sprintf("c%04d.ics", i); !slices.Contains(staged, name) {
				missing = name
				break
			}
		}
		f.Srv.Put(t, cal+edited, event(uid(edited), "changed"))
		want[uid(edited)] = "changed"
		for _, name := range []string{deleted, missing} {
			f.Srv.Delete(t, cal+name)
			delete(want, uid(name))
		}
		f.Srv.Put(t, cal+"new.ics", event("new", "new"))
		want["new"] = "new"

		objects := f.countObjects()
		f.px.Take()
		s := f.runOK()
		fetch := n - first - 1 + 1 + 1 // missing but one deleted, the new one, the edited one
		if s.Strategy != plan.ResumeFirstDownload || s.Downloaded != fetch || s.DeletedLocal != 1 ||
			s.Uploaded+s.DeletedRemote+s.Conflicts+s.Recorded != 0 {
			t.Fatalf("resume after %d of %d: want %d downloads and 1 local delete, got %+v", first, n, fetch, s)
		}
		if got := objects.Load(); got != int64(fetch) {
			t.Errorf("the server sent %d objects, want only the %d missing, changed or new", got, fetch)
		}
		if q := dataQueries(f.px.Take()); q != 0 {
			t.Errorf("the resume sent %d queries for the whole calendar's data", q)
		}
		if _, err := os.Lstat(vdir.StagePath(filepath.Join(f.Root, calDir(cal)))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("staging folder left behind: %v", err)
		}
		f.px.Clear()
		f.converged(want)
		f.idle()
		t.Logf("cut after %d of %d; the resume fetched %d", first, n, fetch)
	})
}

// TestSync_FirstDownloadFailures_StayHiddenUntilARunCompletes runs a
// first download into one failure after another: the server answers its
// data query with 503, then the answer is cut off midway, then the
// resume's multiget is answered with 500 while others are under way. A
// dry run meanwhile plans the resume and writes nothing. The calendar
// stays hidden throughout, each failed run says how many items are staged,
// and the run that completes fetches only what the staging folder lacks.
func TestSync_FirstDownloadFailures_StayHiddenUntilARunCompletes(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	const n = 1000
	cal := f.seedOnly("fail", n, "f%04d", "server")
	f.Events = cal
	folder := filepath.Join(f.Root, calDir(cal))

	f.px.Add(faultproxy.Rule{Method: "REPORT", Body: downloadQuery, Nth: 1, Action: faultproxy.Status(503, "")})
	s := f.eventsOf(f.run(SyncOptions{}))
	f.px.Clear()
	if s.Err == nil || s.Downloaded != 0 {
		t.Fatalf("503 on the data query: %+v", s)
	}
	if _, err := os.Lstat(folder); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after a 503 the calendar's folder is there (%v)", err)
	}

	first := f.interruptedFirstSync(cal, 0.5).Downloaded
	f.hidden(cal, first)

	dry := f.eventsOf(f.run(SyncOptions{DryRun: true}))
	if dry.Strategy != plan.ResumeFirstDownload || len(dry.Planned) != n-first {
		t.Fatalf("dry run while staged: %v with %d actions, want the resume's %d downloads", dry.Strategy, len(dry.Planned), n-first)
	}
	for _, a := range dry.Planned {
		if a.Kind != plan.Download {
			t.Fatalf("dry run while staged plans %v", a)
		}
	}
	f.hidden(cal, first)

	f.px.Add(faultproxy.Rule{Method: "REPORT", Body: "calendar-multiget", Nth: 2, Action: faultproxy.Status(500, "")})
	s = f.eventsOf(f.run(SyncOptions{}))
	f.px.Clear()
	if s.Err == nil || !strings.Contains(s.Err.Error(), fmt.Sprintf("first download interrupted, %d of %d items staged", first, n)) {
		t.Fatalf("500 on a multiget of the resume: %+v", s)
	}
	f.hidden(cal, first)

	objects := f.countObjects()
	if s := f.runOK(); s.Downloaded != n-first || s.Uploaded+s.DeletedLocal+s.DeletedRemote+s.Conflicts != 0 {
		t.Fatalf("the completing run after %d of %d: %+v", first, n, s)
	}
	if got := objects.Load(); got != int64(n-first) {
		t.Errorf("the server sent %d objects, want the %d missing", got, n-first)
	}
	f.px.Clear()
	want := map[string]string{}
	for i := range n {
		want[fmt.Sprintf("f%04d", i)] = "server"
	}
	f.converged(want)
	f.idle()
}

// TestSync_FilesSavedWhereAStagedCalendarWillAppear_NothingOfTheirsLost:
// between an interrupted first download and its resume, the user makes
// the calendar's folder and saves a new event and a file under the name
// of a staged item with their own version of it. The resume merges the
// staging folder in without replacing their files. The next passes upload
// the new event and treat the other as met for the first time: the
// conflict policy keeps both versions, and no UID is doubled.
func TestSync_FilesSavedWhereAStagedCalendarWillAppear_NothingOfTheirsLost(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	const n = 1000
	cal := f.seedOnly("theirs", n, "t%04d", "server")
	f.Events = cal
	first := f.interruptedFirstSync(cal, 0.5).Downloaded
	clash := f.hidden(cal, first)[0]
	clashUID := strings.TrimSuffix(clash, ".ics")

	if err := os.MkdirAll(filepath.Join(f.Root, calDir(cal)), 0o700); err != nil {
		t.Fatal(err)
	}
	f.WriteFile(cal, "mine.ics", event("mine", "mine"))
	f.WriteFile(cal, clash, event(clashUID, "theirs"))

	if s := f.runOK(); s.Strategy != plan.ResumeFirstDownload || s.Downloaded != n-first {
		t.Fatalf("resume: %+v", s)
	}
	if !bytes.Contains(f.ReadFile(cal, clash), []byte("SUMMARY:theirs")) {
		t.Fatal("their file was replaced when the staging folder was published")
	}
	f.runOK()
	f.runOK()

	onServer := f.itemsOnServer()
	if len(onServer) != n+1 || onServer["mine"] != "mine" {
		t.Fatalf("server holds %d items (want %d), mine = %q", len(onServer), n+1, onServer["mine"])
	}
	local, other := f.itemsLocal()
	if len(local) != n+1 {
		t.Errorf("folder holds %d items, want %d", len(local), n+1)
	}
	versions := []string{local[clashUID], onServer[clashUID]}
	for _, c := range other {
		versions = append(versions, summaryOf(f.ReadFile(cal, c)))
	}
	if !slices.Contains(versions, "theirs") || !slices.Contains(versions, "server") {
		t.Errorf("a version of %s is lost: folder %q, server %q, copies %v", clashUID, local[clashUID], onServer[clashUID], other)
	}
	f.idle()
}
