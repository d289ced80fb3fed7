package engine

// Local faults (docs/reliability.md): the vdir side fails or is tampered
// with while a pass runs. Each test checks that the pass reports the fault,
// that nothing is lost or deleted on either side, that nothing outside the
// vdir root is touched, and that the first pass after the fault converges.

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
)

// lfHookTransport runs before on each request, then hands it to next.
type lfHookTransport struct {
	mu     sync.Mutex
	before func(*http.Request)
	next   http.RoundTripper
}

func (h *lfHookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	fn := h.before
	h.mu.Unlock()
	if fn != nil {
		fn(req)
	}
	return h.next.RoundTrip(req)
}

func lfSummary(t *testing.T, sums []*Summary, href string) *Summary {
	t.Helper()
	for _, s := range sums {
		if s.Href == href {
			return s
		}
	}
	t.Fatalf("no summary for %s in %d summaries", href, len(sums))
	return nil
}

// lfMountTmpfs mounts a tmpfs of the given size on dir (created if needed)
// and unmounts it at test end; it skips the test where mounting is not
// allowed (not root, no CAP_SYS_ADMIN, a container without mount rights).
func lfMountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		testserver.Unavailable(t, "cannot mount a tmpfs on %s (%v): this local-fault test needs root with mount rights", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// lfBigEvent is a valid item of about size bytes (a long folded DESCRIPTION).
func lfBigEvent(uid, summary string, size int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + summary + "\r\nDESCRIPTION:")
	for i := 0; i < size/74; i++ {
		if i > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), 73))
	}
	b.WriteString("\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}

// lfSmallDisk is a Radicale env, in a parallel test, whose vdir root is a
// 64 KiB tmpfs.
func lfSmallDisk(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	e := newEnv(t, testserver.Radicale)
	lfMountTmpfs(t, e.Root, "64k")
	return e
}

// lfTempFiles lists the vdird temp files left in cal's folder.
func lfTempFiles(e *env, cal string) []string {
	e.t.Helper()
	return slices.DeleteFunc(e.LocalNames(cal), func(n string) bool { return !strings.HasPrefix(n, ".vdird-") })
}

// lfAssertConverged checks that folder and server hold the same items.
func lfAssertConverged(t *testing.T, e *env, cal string) {
	t.Helper()
	srv := e.serverItems(cal)
	names := map[string]bool{}
	for _, n := range e.LocalNames(cal) {
		if strings.HasSuffix(n, ".ics") {
			names[n] = true
		}
	}
	if len(srv) != len(names) {
		t.Fatalf("server has %d items, folder %d: %v vs %v", len(srv), len(names), slices.Sorted(maps.Keys(srv)), slices.Sorted(maps.Keys(names)))
	}
	for h, body := range srv {
		name := filepath.Base(h)
		if !names[name] {
			t.Fatalf("server item %s has no file", h)
		}
		if local := e.ReadFile(cal, name); !bytes.Equal(local, body) && !ics.Equivalent(local, body) {
			t.Fatalf("%s differs:\nserver %q\nlocal  %q", name, body, local)
		}
	}
}

func TestLocalFault_DiskFull_PassReportsErrorLosesNothingAndNextPassConverges(t *testing.T) {
	// 64 KiB is about 16 pages: the two small items and the metadata fit,
	// the ten 12 KB items below do not.
	e := lfSmallDisk(t)
	e.Srv.Put(t, e.Events+"a.ics", event("a", "v1"))
	e.Srv.Put(t, e.Events+"b.ics", event("b", "v1"))
	e.Srv.Put(t, e.Tasks+"t.ics", task("t", "v1"))
	e.syncOK()

	e.WriteFile(e.Events, "a.ics", event("a", "v2 local edit"))
	e.Srv.Put(t, e.Events+"b.ics", lfBigEvent("b", "v2 phone", 12000))
	for i := 0; i < 10; i++ {
		e.Srv.Put(t, fmt.Sprintf("%sbig%d.ics", e.Events, i), lfBigEvent(fmt.Sprint("big", i), "phone", 12000))
	}
	before := e.serverItems(e.Events)
	e.Rec.Take()

	s := lfSummary(t, e.sync(SyncOptions{}), e.Events)
	if !s.Failed() || len(s.Problems) == 0 {
		t.Fatalf("a full disk went unreported: %+v", s)
	}
	for _, p := range s.Problems {
		if !strings.Contains(p, "no space left on device") {
			t.Errorf("problem does not name the cause: %s", p)
		}
	}
	t.Logf("disk-full pass: ↓%d ↑%d, %d problems, e.g. %s", s.Downloaded, s.Uploaded, len(s.Problems), s.Problems[0])
	if w := synctest.Writes(e.Rec.Take()); len(w) != 1 || w[0].Method != http.MethodPut || !strings.HasSuffix(w[0].Path, "/a.ics") {
		t.Fatalf("the pass should write only the local edit of a.ics to the server, wrote %+v", w)
	}
	after := e.serverItems(e.Events)
	for h, body := range before {
		if strings.HasSuffix(h, "/a.ics") {
			continue
		}
		if !bytes.Equal(after[h], body) {
			t.Errorf("server item %s changed or vanished during the disk-full pass", h)
		}
	}
	if got := after[e.Events+"a.ics"]; !bytes.Contains(got, []byte("v2 local edit")) {
		t.Errorf("local edit not uploaded: %q", got)
	}
	if tmp := lfTempFiles(e, e.Events); len(tmp) > 0 {
		t.Errorf("failed writes left temp files: %v", tmp)
	}
	// What did land is whole: every file parses; b is the old or the new version.
	if b := e.ReadFile(e.Events, "b.ics"); !bytes.Contains(b, []byte("SUMMARY:v1")) && !bytes.Equal(b, after[e.Events+"b.ics"]) {
		t.Errorf("b.ics torn: %d bytes", len(b))
	}

	// A second pass on the still-full disk must not take missing files for deletions.
	e.Rec.Take()
	e.sync(SyncOptions{})
	if w := synctest.Writes(e.Rec.Take()); len(w) > 0 {
		t.Fatalf("second pass on a full disk wrote to the server: %+v", w)
	}

	// Space freed: the next pass converges.
	if err := syscall.Mount("tmpfs", e.Root, "tmpfs", syscall.MS_REMOUNT, "size=4m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	e.syncOK()
	e.syncIdle("pass after the fault")
	lfAssertConverged(t, e, e.Events)
	if n := len(e.serverItems(e.Events)); n != 12 {
		t.Fatalf("server holds %d items, want 12", n)
	}
}

func TestLocalFault_ReadOnlyVdir_WritesReportedNothingDeletedOrResurrected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testserver.Radicale)
	for _, n := range []string{"a", "b", "c", "d"} {
		e.Srv.Put(t, e.Events+n+".ics", event(n, "v1"))
	}
	e.syncOK()
	dir := filepath.Join(e.Root, "events")

	e.WriteFile(e.Events, "a.ics", event("a", "v2 local"))
	e.Srv.Put(t, e.Events+"b.ics", event("b", "v2 phone"))
	e.Srv.Delete(t, e.Events+"c.ics")
	e.Srv.Put(t, e.Events+"e.ics", event("e", "new on phone"))
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		testserver.Unavailable(t, "cannot bind-mount %s (%v): needs root with mount rights", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		testserver.Unavailable(t, "cannot remount %s read-only: %v", dir, err)
	}
	e.Rec.Take()

	s := lfSummary(t, e.sync(SyncOptions{}), e.Events)
	if len(s.Problems) != 3 {
		t.Fatalf("want 3 problems (download b, delete c, create e), got %+v", s)
	}
	for _, p := range s.Problems {
		if !strings.Contains(p, "read-only file system") {
			t.Errorf("problem does not name the cause: %s", p)
		}
	}
	if w := synctest.Writes(e.Rec.Take()); len(w) != 1 || !strings.HasSuffix(w[0].Path, "/a.ics") || w[0].Method != http.MethodPut {
		t.Fatalf("want only the PUT of a.ics, got %+v", w)
	}
	if got, _ := e.Srv.Get(t, e.Events+"c.ics"); got != nil {
		t.Fatal("the phone's delete of c was undone: vdird re-created it")
	}

	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	s = e.syncOK()[e.Events]
	if s.Downloaded != 2 || s.DeletedLocal != 1 || s.Uploaded != 0 || s.DeletedRemote != 0 {
		t.Fatalf("pass after the fault: want ↓2 ✗1 local, got %+v", s)
	}
	lfAssertConverged(t, e, e.Events)
	if !bytes.Contains(e.ReadFile(e.Events, "b.ics"), []byte("v2 phone")) {
		t.Error("phone edit of b lost")
	}
	if got, _ := e.Srv.Get(t, e.Events+"a.ics"); !bytes.Contains(got, []byte("v2 local")) {
		t.Error("local edit of a lost")
	}
}

func TestLocalFault_FileEditedBetweenListingAndOverwrite_EditIsNeverClobbered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testserver.Radicale)
	for _, n := range []string{"x", "y", "z"} {
		e.Srv.Put(t, e.Events+n+".ics", event(n, "v1"))
	}
	e.syncOK()
	e.Srv.Put(t, e.Events+"x.ics", event("x", "v2 phone"))
	e.Srv.Delete(t, e.Events+"y.ics")

	// The first REPORT on the calendar comes after the local listing: the
	// user saves x.ics and y.ics exactly then, so the plan (download x,
	// delete y locally) is built on stale listings.
	var once sync.Once
	edited := false
	ht := &lfHookTransport{next: e.Rec}
	ht.before = func(r *http.Request) {
		if r.Method == "REPORT" && r.URL.Path == e.Events {
			once.Do(func() {
				e.WriteFile(e.Events, "x.ics", event("x", "v2 local saved mid-pass"))
				e.WriteFile(e.Events, "y.ics", event("y", "v2 local saved mid-pass"))
				edited = true
			})
		}
	}
	s := lfSummary(t, e.syncWith(&http.Client{Transport: ht}, zerolog.New(io.Discard), SyncOptions{}), e.Events)
	if !edited {
		t.Fatal("the hook never ran: no REPORT on the calendar")
	}
	if len(s.Problems) != 2 || !strings.Contains(strings.Join(s.Problems, "\n"), "changed while syncing") {
		t.Fatalf("want two 'changed while syncing' problems, got %+v", s)
	}
	for _, n := range []string{"x.ics", "y.ics"} {
		if !bytes.Contains(e.ReadFile(e.Events, n), []byte("saved mid-pass")) {
			t.Fatalf("%s: the edit saved mid-pass was overwritten or deleted", n)
		}
	}

	// The next pass sees x changed on both sides (conflict policy) and y
	// changed locally but deleted on the server (re-created).
	s = e.syncOK()[e.Events]
	if s.Conflicts != 1 || s.Uploaded != 1 {
		t.Fatalf("want 1 conflict and 1 re-created item, got %+v", s)
	}
	if !bytes.Contains(e.ReadFile(e.Events, "x.ics"), []byte("v2 phone")) {
		t.Error("server-wins: x.ics should hold the phone's version")
	}
	if !e.HasConflictCopy(e.Events, "x.ics", "saved mid-pass") {
		t.Errorf("the mid-pass edit of x is in no conflict copy: %v", e.LocalNames(e.Events))
	}
	if got, _ := e.Srv.Get(t, e.Events+"y.ics"); !bytes.Contains(got, []byte("saved mid-pass")) {
		t.Errorf("y (edited locally after the phone deleted it) not re-created: %q", got)
	}
	e.syncIdle("third pass")
}

func TestLocalFault_SymlinkPlantedInVdir_OutsideTargetNeverReadNorWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testserver.Radicale)
	canary := t.TempDir()
	os.WriteFile(filepath.Join(canary, "target.ics"), event("canary", "secret outside the vdir"), 0o600)
	os.WriteFile(filepath.Join(canary, "notes.txt"), []byte("do not touch\n"), 0o600)
	before := treeDigest(t, canary)

	e.Srv.Put(t, e.Events+"x.ics", event("x", "v1"))
	e.Srv.Put(t, e.Events+"y.ics", event("y", "v1"))
	e.syncOK()
	dir := filepath.Join(e.Root, "events")
	plant := func(name, target string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// An item-looking link to a file outside, one to a folder outside, one
	// dangling link where the phone's new item would land, and a known
	// item replaced by a link while the phone edits it (so vdird wants to
	// write that name).
	plant("link.ics", filepath.Join(canary, "target.ics"))
	plant("dirlink.ics", canary)
	plant("new.ics", filepath.Join(canary, "created-through-link.ics"))
	os.Remove(filepath.Join(dir, "x.ics"))
	plant("x.ics", filepath.Join(canary, "target.ics"))
	e.Srv.Put(t, e.Events+"x.ics", event("x", "v2 phone"))
	e.Srv.Put(t, e.Events+"new.ics", event("new", "new on phone"))
	e.Rec.Take()

	var problems []string
	for i := 0; i < 2; i++ {
		s := lfSummary(t, e.sync(SyncOptions{}), e.Events)
		problems = append(problems, s.Problems...)
	}
	t.Logf("problems reported: %q", problems)
	if after := treeDigest(t, canary); after != before {
		t.Fatalf("the canary outside the vdir changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	if w := synctest.Writes(e.Rec.Take()); len(w) > 0 {
		t.Errorf("a symlink caused a server write: %+v", w)
	}
	for h, body := range e.serverItems(e.Events) {
		if bytes.Contains(body, []byte("UID:canary")) {
			t.Fatalf("the symlink's target was uploaded as %s", h)
		}
	}
	if got, _ := e.Srv.Get(t, e.Events+"x.ics"); !bytes.Contains(got, []byte("v2 phone")) {
		t.Fatal("server lost x")
	}
	for _, n := range []string{"link.ics", "dirlink.ics", "new.ics", "x.ics"} {
		fi, err := os.Lstat(filepath.Join(dir, n))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s: the planted link was replaced or removed (%v)", n, err)
		}
	}
	if len(problems) == 0 {
		t.Error("items blocked by links were not reported")
	}
}

func TestLocalFault_VdirRootReplacedByEmptyMount_RefusedNothingWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testserver.Radicale)
	for i := 0; i < 6; i++ {
		e.Srv.Put(t, fmt.Sprintf("%se%d.ics", e.Events, i), event(fmt.Sprint("e", i), "x"))
	}
	e.Srv.Put(t, e.Tasks+"t.ics", task("t", "x"))
	e.syncOK()
	before := e.serverItems(e.Events)

	check := func(what, mountpoint string) {
		t.Helper()
		e.Rec.Take()
		sums := e.sync(SyncOptions{})
		for _, cal := range []string{e.Events, e.Tasks} {
			if s := lfSummary(t, sums, cal); s.Refused == "" {
				t.Errorf("%s: %s not refused: %+v", what, cal, s)
			}
		}
		if w := synctest.Writes(e.Rec.Take()); len(w) > 0 {
			t.Fatalf("%s: the guard let writes through: %+v", what, w)
		}
		ents, err := os.ReadDir(mountpoint)
		if err != nil || len(ents) != 0 {
			t.Fatalf("%s: vdird wrote into the empty mount point: %v %v", what, ents, err)
		}
	}

	// The whole vdir root: an unmounted disk leaves an empty mount point.
	lfMountTmpfs(t, e.Root, "1m")
	check("empty root", e.Root)
	if err := syscall.Unmount(e.Root, 0); err != nil {
		t.Fatal(err)
	}
	// One calendar's folder.
	for _, cal := range []string{e.Events, e.Tasks} {
		dir := filepath.Join(e.Root, calDir(cal))
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	}
	check("empty collection folders", filepath.Join(e.Root, "events"))
	for _, cal := range []string{e.Events, e.Tasks} {
		if err := syscall.Unmount(filepath.Join(e.Root, calDir(cal)), 0); err != nil {
			t.Fatal(err)
		}
	}

	after := e.serverItems(e.Events)
	if len(after) != len(before) {
		t.Fatalf("server held %d items, now %d", len(before), len(after))
	}
	// Disk back: nothing to do.
	for _, s := range e.syncOK() {
		if changed(s) != 0 {
			t.Fatalf("pass after remount not idle: %+v", s)
		}
	}
}

func TestLocalFault_DiskFullDuringConflict_LocalVersionNeverLost(t *testing.T) {
	e := lfSmallDisk(t)
	e.Srv.Put(t, e.Events+"c.ics", event("c", "v1"))
	e.Srv.Put(t, e.Tasks+"t.ics", task("t", "v1"))
	e.syncOK()
	e.WriteFile(e.Events, "c.ics", event("c", "v2 local"))
	e.Srv.Put(t, e.Events+"c.ics", event("c", "v2 phone"))
	// Fill the disk: the conflict copy of the local version cannot be written.
	filler := filepath.Join(e.Root, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()

	s := lfSummary(t, e.sync(SyncOptions{}), e.Events)
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "no space left on device") {
		t.Fatalf("want one disk-full problem, got %+v", s)
	}
	if !bytes.Contains(e.ReadFile(e.Events, "c.ics"), []byte("v2 local")) {
		t.Fatal("the local version was overwritten although its conflict copy could not be written")
	}
	os.Remove(filler)
	s = e.syncOK()[e.Events]
	if s.Conflicts != 1 {
		t.Fatalf("want the conflict resolved after the disk has room: %+v", s)
	}
	if !e.HasConflictCopy(e.Events, "c.ics", "v2 local") || !bytes.Contains(e.ReadFile(e.Events, "c.ics"), []byte("v2 phone")) {
		t.Fatalf("after the fault: c.ics should be the phone's version and the local one a conflict copy: %v", e.LocalNames(e.Events))
	}
	if tmp := lfTempFiles(e, e.Events); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}
