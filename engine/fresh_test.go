package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// collectionState reads what the last pass recorded for cal.
func (e *env) collectionState(cal string) state.Collection {
	e.t.Helper()
	store, err := state.Open(e.Cfg.StatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	col, ok, err := store.Collection(collectionKey(&e.Cfg.Accounts[0], cal))
	if err != nil || !ok {
		e.t.Fatalf("collection %s: ok=%v err=%v", cal, ok, err)
	}
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
			e.Cfg.Accounts[0].Calendars = []string{e.Events}
			for i := 0; i < 5; i++ {
				e.Srv.Put(t, fmt.Sprintf("%se%d.ics", e.Events, i), event(fmt.Sprintf("e%d", i), "seeded"))
			}
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
// adds and deletes items between the first token and the data, and again
// while the data is being written: the token predates all of it, so the
// next pass (a delta from it) brings every change, and nothing is doubled.
func TestFreshDownload_CalendarChangedAroundTheDownload_NothingMissed(t *testing.T) {
	for _, kind := range testserver.All() {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, kind)
			e.Cfg.Accounts[0].Calendars = []string{e.Events}
			for i := 0; i < 6; i++ {
				e.Srv.Put(t, fmt.Sprintf("%se%d.ics", e.Events, i), event(fmt.Sprintf("e%d", i), "seeded"))
			}
			var hookErr error
			do := func(method, href string, body []byte) {
				if hookErr == nil {
					hookErr = e.rawDo(method, href, body)
				}
			}
			e.afterToken = func() {
				do("PUT", e.Events+"e1.ics", event("e1", "changed before the data"))
				do("PUT", e.Events+"early.ics", event("early", "added before the data"))
			}
			e.batchItems = 2
			e.afterBatch = func(done int) {
				if done == 2 { // the server already answered: these come after the data
					do("PUT", e.Events+"e4.ics", event("e4", "changed during the download"))
					do("PUT", e.Events+"late.ics", event("late", "added during the download"))
					do("DELETE", e.Events+"e3.ics", nil)
				}
			}
			e.syncOK()
			e.afterToken, e.afterBatch = nil, nil
			if hookErr != nil {
				t.Fatal(hookErr)
			}
			if col := e.collectionState(e.Events); col.SyncToken == "" {
				t.Fatal("no token recorded")
			}
			e.syncOK()
			for name, want := range map[string]string{
				"e1.ics": "changed before the data", "early.ics": "added before the data",
				"e4.ics": "changed during the download", "late.ics": "added during the download",
			} {
				if !bytes.Contains(e.ReadFile(e.Events, name), []byte(want)) {
					t.Fatalf("%s lacks %q", name, want)
				}
			}
			names := e.LocalNames(e.Events)
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
}

// TestFreshDownload_StagedUntilDone_FolderAppearsWhole checks that a first
// download never shows a half-filled calendar folder: while its batches
// are being recorded the folder does not exist yet (the files are in a
// hidden staging folder), and at the end it is there with every item and
// the staging folder is gone.
func TestFreshDownload_StagedUntilDone_FolderAppearsWhole(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	const n = 120
	cal := e.seedOnly("staged", n, "s%03d", "staged")
	folder := filepath.Join(e.Root, calDir(cal))
	var during []string
	e.batchItems = 40
	e.afterBatch = func(done int) {
		if _, err := os.Lstat(folder); !errors.Is(err, fs.ErrNotExist) {
			during = append(during, fmt.Sprintf("after %d items the folder is visible (%v)", done, err))
		}
		if _, err := os.Stat(vdir.StagePath(folder)); err != nil {
			during = append(during, fmt.Sprintf("after %d items no staging folder: %v", done, err))
		}
	}
	s := e.syncOK()[cal]
	for _, d := range during {
		t.Error(d)
	}
	if s.Downloaded != n {
		t.Fatalf("downloaded %d, want %d", s.Downloaded, n)
	}
	if got := len(e.LocalNames(cal)); got != n+1 { // + displayname
		t.Errorf("folder holds %d entries, want %d items and displayname: %v", got, n, e.LocalNames(cal))
	}
	if _, err := os.Lstat(vdir.StagePath(folder)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging folder left behind: %v", err)
	}
	if s := e.syncOK()[cal]; !s.Unchanged {
		t.Errorf("second pass not quiet: %+v", s)
	}
}

// TestFreshDownload_CrashBeforePublish_RecordedKeptTornRemoved recreates
// what a crash (kill -9, power loss) leaves in the middle of a first
// download: the staging folder holding the recorded batches, plus a torn
// file and a temp file the next batch was writing. The next pass must keep
// every recorded file, drop the torn ones, publish the folder and fetch
// exactly the missing items, uploading and deleting nothing.
func TestFreshDownload_CrashBeforePublish_RecordedKeptTornRemoved(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	const n = 300
	cal := e.seedOnly("crash", n, "c%03d", "crash")
	folder := filepath.Join(e.Root, calDir(cal))
	stage := vdir.StagePath(folder)

	// The interrupted download: cancelled after 100 items were recorded.
	// It publishes what it recorded; moving the folder back to its staging
	// name gives the state of a crash just before that.
	first := e.interruptedFirstSync(50, 100).Downloaded
	if first < 100 || first >= n {
		t.Fatalf("interrupted pass downloaded %d", first)
	}
	if err := os.Rename(folder, stage); err != nil {
		t.Fatal(err)
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
	if s := e.syncOK()[cal]; !s.Unchanged {
		t.Errorf("pass after the recovery not quiet: %+v", s)
	}
}

// TestFreshDownload_FolderMadeDuringDownload_TheirFileAndTheServersBothKept:
// someone creates the calendar's folder while its first download is still
// staged and saves a file under the name of a server item, with other
// content. Publishing merges without replacing their file, and forgets
// ours, so the next pass meets both as new and applies the conflict
// policy: neither version is lost, and no item is doubled.
func TestFreshDownload_FolderMadeDuringDownload_TheirFileAndTheServersBothKept(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	cal := e.seedOnly("merge", 60, "m%03d", "server")
	folder := filepath.Join(e.Root, calDir(cal))
	e.batchItems = 20
	made := false
	e.afterBatch = func(int) {
		if made {
			return
		}
		made = true
		if err := os.MkdirAll(folder, 0o700); err == nil {
			_ = os.WriteFile(filepath.Join(folder, "m005.ics"), event("m005", "theirs"), 0o600)
		}
	}
	if s := e.syncOK()[cal]; s.Downloaded != 60 {
		t.Fatalf("first pass: %+v", s)
	}
	e.afterBatch = nil
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
	n := 0
	for _, h := range listHrefs(t, e.Srv, cal) {
		if b, _ := e.Srv.Get(t, h); bytes.Contains(b, []byte("UID:m005\r\n")) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("UID m005 on the server %d times", n)
	}
	t.Logf("folder: %d file(s) with their version, %d with the server's; server holds theirs: %v",
		theirs, server, bytes.Contains(body, []byte("SUMMARY:theirs")))
}
