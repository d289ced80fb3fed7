package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/fresh"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// collectionState reads what the last pass recorded for cal.
func (e *env) collectionState(cal string) state.Collection {
	e.t.Helper()
	var col state.Collection
	e.withStore(func(store *state.Store) {
		var ok bool
		var err error
		col, ok, err = store.Collection(collectionKey(&e.Cfg.Accounts[0], cal))
		if err != nil || !ok {
			e.t.Fatalf("collection %s: ok=%v err=%v", cal, ok, err)
		}
	})
	return col
}

// rawDo sends one request to the server without a testing.TB, for hooks
// that run on the engine's goroutines (where t.Fatal must not be called).
func (e *env) rawDo(method, href string, body []byte) error {
	req, err := http.NewRequest(method, strings.TrimSuffix(e.Srv.URL, "/")+href, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(e.Srv.User, e.Srv.Password)
	if body != nil {
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, href, resp.Status)
	}
	return nil
}

func TestFreshDownload_RecordsFirstSyncToken(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.putEvents("e%d", 5)
			s := e.syncOK()[e.Events]
			if s.Downloaded != 5 {
				t.Fatalf("downloaded %d, want 5", s.Downloaded)
			}
			if col := e.collectionState(e.Events); col.SyncToken == "" {
				t.Fatal("no sync-token recorded after a quiet fresh download")
			}
			// The next remote change comes as a delta from that token.
			e.Srv.Put(t, e.Events+"e2.ics", event("e2", "changed on the phone"))
			e.Rec.Take()
			e.syncOK()
			if !bytes.Contains(e.ReadFile(e.Events, "e2.ics"), []byte("changed on the phone")) {
				t.Fatal("remote change did not arrive")
			}
			reports := 0
			for _, r := range e.Rec.Take() {
				if r.Method == "REPORT" {
					reports++
				}
			}
			if reports > 2 { // sync-collection delta + multiget
				t.Fatalf("%d REPORTs for one remote change", reports)
			}
		})
	}
}

// TestFreshDownload_CalendarChangedAroundTheDownload_NothingMissed changes,
// adds and deletes items between the first token and the data (a hook
// before the download's calendar-query reaches the server), and again
// once the server has answered it and before the answer reaches the client:
// the token predates all of it, so the next pass (a delta from it) brings
// every change, and nothing is doubled.
func TestFreshDownload_CalendarChangedAroundTheDownload_NothingMissed(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		f.putEvents("e%d", 6)
		var (
			mu      sync.Mutex
			hookErr error
		)
		do := func(method, href string, body []byte) {
			mu.Lock()
			defer mu.Unlock()
			if hookErr == nil {
				hookErr = f.rawDo(method, href, body)
			}
		}
		f.px.Add(faultproxy.Rule{Method: "REPORT", Body: downloadQuery, Nth: 1, Action: faultproxy.Hook(func(*http.Request) {
			do("PUT", f.Events+"e1.ics", event("e1", "changed before the data"))
			do("PUT", f.Events+"early.ics", event("early", "added before the data"))
		})})
		f.px.Add(faultproxy.Rule{Method: "REPORT", Body: downloadQuery, Nth: 1, Action: faultproxy.RewriteBody(func(_ *http.Request, b []byte) []byte {
			do("PUT", f.Events+"e4.ics", event("e4", "changed during the download"))
			do("PUT", f.Events+"late.ics", event("late", "added during the download"))
			do("DELETE", f.Events+"e3.ics", nil)
			return b
		})})
		if s := f.runOK(); s.Strategy != plan.FirstDownload || s.Downloaded != 7 { // e0-e5 and early
			t.Fatalf("first pass: %+v", s)
		}
		f.px.Clear()
		mu.Lock()
		err := hookErr
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if col := f.collectionState(f.Events); col.SyncToken == "" {
			t.Fatal("no token recorded")
		}
		f.runOK()
		for name, want := range map[string]string{
			"e1.ics": "changed before the data", "early.ics": "added before the data",
			"e4.ics": "changed during the download", "late.ics": "added during the download",
		} {
			if !bytes.Contains(f.ReadFile(f.Events, name), []byte(want)) {
				t.Fatalf("%s lacks %q", name, want)
			}
		}
		names := f.LocalNames(f.Events)
		ics := 0
		for _, n := range names {
			if n == "e3.ics" {
				t.Fatal("item deleted during the download is still local")
			}
			if strings.HasSuffix(n, ".ics") {
				ics++
			}
		}
		if ics != 7 { // e0 e1 e2 e4 e5 early late
			t.Fatalf("local items %v", names)
		}
	})
}

// TestFreshDownload_StagedUntilDone_FolderAppearsWhole checks that a first
// download never shows a half-filled calendar folder: with half of the
// server's answer out (the proxy holds the rest), its first batch is
// written into a hidden staging folder while the folder does not exist
// yet, and at the end the folder is there with every item and the staging
// folder is gone.
func TestFreshDownload_StagedUntilDone_FolderAppearsWhole(t *testing.T) {
	f := newFaultEnv(t, testserver.Xandikos)
	const n = 1000
	cal := f.seedOnly("staged", n, "s%04d", "staged")
	folder := filepath.Join(f.Root, calDir(cal))
	release := make(chan struct{})
	f.px.Add(faultproxy.Rule{Method: "REPORT", Body: downloadQuery, Nth: 1, Action: faultproxy.HoldBody(0, release)})
	done := make(chan []*Summary, 1)
	go func() {
		defer close(done)
		store, err := state.Open(f.Cfg.StatePath)
		if err != nil {
			return
		}
		defer store.Close()
		eng := NewEngine(f.Cfg, store, zerolog.Nop())
		done <- eng.Sync(context.Background(), SyncOptions{})
	}()
	// Half the answer is out: its first batch is written; where to?
	waitForFiles(t, fresh.BatchItems, vdir.StagePath(folder), folder)
	_, err := os.Lstat(folder)
	close(release)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("while the download is under way the folder is visible (%v)", err)
	}
	sums := <-done
	if len(sums) != 1 || sums[0].Failed() || sums[0].Downloaded != n {
		t.Fatalf("first pass: %+v", sums)
	}
	if got := len(f.LocalNames(cal)); got != n+1 { // + displayname
		t.Errorf("folder holds %d entries, want %d items and displayname", got, n)
	}
	if _, err := os.Lstat(vdir.StagePath(folder)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging folder left behind: %v", err)
	}
	if s := f.syncOK()[cal]; s.Strategy != plan.Unchanged {
		t.Errorf("second pass not quiet: %+v", s)
	}
}

// waitForFiles waits until the folders in dirs hold at least n item files
// together.
func waitForFiles(t *testing.T, n int, dirs ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := 0
		for _, dir := range dirs {
			ents, _ := os.ReadDir(dir)
			for _, en := range ents {
				if strings.HasSuffix(en.Name(), ".ics") {
					got++
				}
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v hold %d item files after a minute, want %d", dirs, got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// downloadQuery is in the body of a first download's calendar-query (the
// one that asks for calendar-data with a filter) and of no other request.
const downloadQuery = "<C:calendar-data/></D:prop><C:filter>"

// interruptedFirstSync runs a first sync whose streamed answer the proxy
// cuts after the given share of its bytes, and returns the pass's summary
// of cal.
func (f *fenv) interruptedFirstSync(cal string, share float64) *Summary {
	f.t.Helper()
	cut := int(share * float64(f.downloadSize(cal)))
	f.px.Add(faultproxy.Rule{Method: "REPORT", Body: downloadQuery, Nth: 1, Action: faultproxy.Truncate(cut)})
	defer f.px.Clear()
	for _, s := range f.sync(SyncOptions{}) {
		if s.Href == cal {
			return s
		}
	}
	f.t.Fatalf("no summary for %s", cal)
	return nil
}

// downloadSize asks the server (not through the proxy) for every member of
// cal with its data, as a first download does, and returns the size of the
// answer.
func (f *fenv) downloadSize(cal string) int {
	f.t.Helper()
	const query = `<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
		`<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`
	req, err := http.NewRequest("REPORT", strings.TrimSuffix(f.Srv.URL, "/")+cal, strings.NewReader(query))
	if err != nil {
		f.t.Fatal(err)
	}
	req.SetBasicAuth(f.Srv.User, f.Srv.Password)
	req.Header.Set("Depth", "1")
	req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusMultiStatus {
		f.t.Fatalf("calendar-query of %s: %s, %v", cal, resp.Status, err)
	}
	return int(n)
}

// TestFreshDownload_CrashBeforePublish_RecordedKeptTornRemoved recreates
// what a crash (kill -9, power loss) leaves in the middle of a first
// download: the staging folder holding the recorded batches, plus a torn
// file and a temp file the next batch was writing. The next pass must keep
// every recorded file, drop the torn ones, publish the folder and fetch
// exactly the missing items, uploading and deleting nothing.
func TestFreshDownload_CrashBeforePublish_RecordedKeptTornRemoved(t *testing.T) {
	f := newFaultEnv(t, testserver.Xandikos)
	e := f.env
	const n = 1000
	cal := e.seedOnly("crash", n, "c%03d", "crash")
	folder := filepath.Join(e.Root, calDir(cal))
	stage := vdir.StagePath(folder)

	// The interrupted download: its answer cut short, after some batches
	// were recorded. It leaves them in the staging folder, as a crash
	// does; a crash adds the torn files below.
	first := f.interruptedFirstSync(cal, 0.9).Downloaded
	if first < fresh.BatchItems || first >= n {
		t.Fatalf("interrupted pass downloaded %d", first)
	}
	staged := map[string]bool{}
	ents, err := os.ReadDir(stage)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		staged[en.Name()] = true
	}
	var recorded, missing string
	for i := 0; i < n && (recorded == "" || missing == ""); i++ {
		nm := fmt.Sprintf("c%03d.ics", i)
		if staged[nm] && recorded == "" {
			recorded = nm
		} else if !staged[nm] && missing == "" {
			missing = nm
		}
	}
	keptBefore, err := os.Stat(filepath.Join(stage, recorded))
	if err != nil {
		t.Fatal(err)
	}
	// Not recorded: an unfinished item under a name the server has, one
	// under a name it does not have, and an orphaned temp file.
	torn := map[string][]byte{
		missing:        []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEV"),
		"zz-torn.ics":  []byte("BEGIN:VCALENDAR\r\nVERS"),
		".vdird-1.tmp": []byte("BEGIN:"),
	}
	for name, b := range torn {
		if err := os.WriteFile(filepath.Join(stage, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store, err := state.Open(e.Cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := NewEngine(e.Cfg, store, zerolog.Nop()).Status()
	store.Close()
	if err != nil || len(sts) != 1 || !strings.Contains(sts[0].LastError, "first download not finished") {
		t.Errorf("status while staged: %+v, %v", sts, err)
	}

	s := e.syncOK()[cal]
	if s.Uploaded != 0 || s.DeletedRemote != 0 || s.DeletedLocal != 0 || s.Conflicts != 0 {
		t.Fatalf("recovery pass changed more than it fetched: %+v", s)
	}
	if s.Downloaded != n-first {
		t.Fatalf("recovery pass downloaded %d after %d: want exactly the %d missing", s.Downloaded, first, n-first)
	}
	if _, err := os.Lstat(stage); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging folder left behind: %v", err)
	}
	if keptAfter, err := os.Stat(filepath.Join(folder, recorded)); err != nil || !os.SameFile(keptBefore, keptAfter) {
		t.Errorf("recorded file %s was not kept as it was (%v)", recorded, err)
	}
	for _, nm := range e.LocalNames(cal) {
		if nm == "zz-torn.ics" || strings.HasPrefix(nm, ".vdird-") {
			t.Errorf("unrecorded file survived the recovery: %s", nm)
		}
	}
	count := 0
	for _, nm := range e.LocalNames(cal) {
		if !strings.HasSuffix(nm, ".ics") {
			continue
		}
		count++
		if info, err := ics.Inspect(e.ReadFile(cal, nm)); err != nil || info.UID != strings.TrimSuffix(nm, ".ics") {
			t.Errorf("%s after recovery: %v (uid %q)", nm, err, info.UID)
		}
	}
	if count != n {
		t.Errorf("folder holds %d items, want %d", count, n)
	}
	if s := e.syncOK()[cal]; s.Strategy != plan.Unchanged {
		t.Errorf("pass after the recovery not quiet: %+v", s)
	}
}

// TestFreshDownload_FolderMadeDuringDownload_TheirFileAndTheServersBothKept:
// someone creates the calendar's folder while its first download is still
// staged (as its calendar-query reaches the server) and saves a file under
// the name of a server item, with other content. Publishing merges without
// replacing their file, and forgets ours, so the next pass meets both as
// new and applies the conflict policy: neither version is lost, and no
// item is doubled.
func TestFreshDownload_FolderMadeDuringDownload_TheirFileAndTheServersBothKept(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	e := f.env
	cal := e.seedOnly("merge", 60, "m%03d", "server")
	folder := filepath.Join(e.Root, calDir(cal))
	f.px.Add(faultproxy.Rule{Method: "REPORT", Body: downloadQuery, Nth: 1, Action: faultproxy.Hook(func(*http.Request) {
		if err := os.MkdirAll(folder, 0o700); err == nil {
			_ = os.WriteFile(filepath.Join(folder, "m005.ics"), event("m005", "theirs"), 0o600)
		}
	})})
	if s := e.syncOK()[cal]; s.Downloaded != 60 {
		t.Fatalf("first pass: %+v", s)
	}
	f.px.Clear()
	if !bytes.Contains(e.ReadFile(cal, "m005.ics"), []byte("SUMMARY:theirs")) {
		t.Fatal("their file was replaced by the download")
	}
	e.syncOK()
	e.syncOK()
	var theirs, server int
	for _, nm := range e.LocalNames(cal) {
		b := e.ReadFile(cal, nm)
		if !bytes.Contains(b, []byte("UID:m005\r\n")) {
			continue
		}
		if bytes.Contains(b, []byte("SUMMARY:theirs")) {
			theirs++
		}
		if bytes.Contains(b, []byte("SUMMARY:server")) {
			server++
		}
	}
	body, _ := e.Srv.Get(t, cal+"m005.ics")
	if theirs == 0 && !bytes.Contains(body, []byte("SUMMARY:theirs")) {
		t.Error("their version is lost")
	}
	if server == 0 && !bytes.Contains(body, []byte("SUMMARY:server")) {
		t.Error("the server's version is lost")
	}
	if n := e.serverCount(cal, "UID:m005\r\n"); n != 1 {
		t.Errorf("UID m005 on the server %d times", n)
	}
	t.Logf("folder: %d file(s) with their version, %d with the server's; server holds theirs: %v",
		theirs, server, bytes.Contains(body, []byte("SUMMARY:theirs")))
}
