package daemon

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fireLog records the watcher's triggers.
type fireLog struct {
	mu          sync.Mutex
	local, full int
}

func (f *fireLog) fire(full bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if full {
		f.full++
	} else {
		f.local++
	}
}

func (f *fireLog) counts() (local, full int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.local, f.full
}

// startWatcher watches root (with one calendar folder "cal") until the test ends.
func startWatcher(t *testing.T, rescan time.Duration) (root string, fl *fireLog, wt *watcher) {
	t.Helper()
	root = t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "cal"), 0o700); err != nil {
		t.Fatal(err)
	}
	fl, wt = runWatcher(t, []watchRoot{{root, ".ics"}}, 100*time.Millisecond, rescan)
	return root, fl, wt
}

// runWatcher runs a watcher of roots until the test ends.
func runWatcher(t *testing.T, roots []watchRoot, debounce, rescan time.Duration) (*fireLog, *watcher) {
	t.Helper()
	fl := &fireLog{}
	wt, err := newWatcher(roots, debounce, rescan, zerolog.Nop(), fl.fire)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); wt.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(50 * time.Millisecond) // the watches are added by run
	return fl, wt
}

// settle waits until no trigger fired for 300 ms and returns the counts.
func (f *fireLog) settle() (local, full int) {
	l, fu := f.counts()
	for {
		time.Sleep(300 * time.Millisecond)
		l2, fu2 := f.counts()
		if l2 == l && fu2 == fu {
			return l, fu
		}
		l, fu = l2, fu2
	}
}

func write(t *testing.T, path string, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// vimSave replays what vim does on :w with its default backupcopy=auto
// (swap file, the "4913" probe, rename to backup, write, remove backup).
func vimSave(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	write(t, filepath.Join(dir, "."+name+".swp"), "swap")
	write(t, filepath.Join(dir, "4913"), "")
	if err := os.Remove(filepath.Join(dir, "4913")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+"~"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p + "~"); err != nil {
		t.Fatal(err)
	}
}

// writeInPlace truncates and rewrites the file (nano, echo >, most scripts).
func writeInPlace(t *testing.T, p string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher_VimSaveDance_FiresExactlyOneLocalPass(t *testing.T) {
	root, fl, _ := startWatcher(t, 0)
	dir := filepath.Join(root, "cal")
	write(t, filepath.Join(dir, "x.ics"), "v1")
	base, _ := fl.settle()
	if base != 1 {
		t.Fatalf("creating x.ics fired %d local passes, want 1", base)
	}
	vimSave(t, dir, "x.ics", []byte("v2"))
	time.Sleep(400 * time.Millisecond)
	if local, full := fl.counts(); local-base != 1 || full != 0 {
		t.Fatalf("one vim save fired %d local and %d full passes, want 1 and 0", local-base, full)
	}
}

func TestWatcher_IgnoredNames_FireNothing(t *testing.T) {
	root, fl, _ := startWatcher(t, 0)
	dir := filepath.Join(root, "cal")
	for _, name := range []string{".x.ics.swp", "4913", "x.ics~", "x.ics.conflict-20250101T000000Z", ".vdird-123.tmp", "notes.txt"} {
		write(t, filepath.Join(dir, name), "data")
	}
	write(t, filepath.Join(root, "stray.ics"), "not in a calendar folder")
	if err := os.Chmod(filepath.Join(dir, "notes.txt"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if local, full := fl.counts(); local != 0 || full != 0 {
		t.Fatalf("ignored names fired %d local and %d full passes", local, full)
	}
}

func TestWatcher_MetadataFileEdited_FiresOneLocalPass(t *testing.T) {
	root, fl, _ := startWatcher(t, 0)
	dir := filepath.Join(root, "cal")
	write(t, filepath.Join(dir, "x.ics"), "v1")
	base, _ := fl.settle()
	write(t, filepath.Join(dir, "displayname"), "Renamed")
	time.Sleep(400 * time.Millisecond)
	if local, full := fl.counts(); local-base != 1 || full != 0 {
		t.Fatalf("editing displayname fired %d local and %d full passes, want 1 and 0", local-base, full)
	}
}

func TestWatcher_BurstOfWrites_CoalescesIntoOnePass(t *testing.T) {
	root, fl, _ := startWatcher(t, 0)
	dir := filepath.Join(root, "cal")
	for i := range 20 {
		write(t, filepath.Join(dir, "e"+string(rune('a'+i))+".ics"), "x")
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if local, _ := fl.counts(); local != 1 {
		t.Fatalf("20 writes in 100 ms fired %d passes, want 1", local)
	}
}

func TestWatcher_NewCalendarFolder_IsWatched(t *testing.T) {
	root, fl, _ := startWatcher(t, 0)
	nd := filepath.Join(root, "new")
	if err := os.Mkdir(nd, 0o700); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	after, _ := fl.counts()
	if after != 1 {
		t.Fatalf("a new folder fired %d passes, want 1", after)
	}
	write(t, filepath.Join(nd, "a.ics"), "x")
	time.Sleep(300 * time.Millisecond)
	if local, _ := fl.counts(); local != after+1 {
		t.Fatalf("a file in the new folder fired %d passes, want 1", local-after)
	}
}

func TestWatcher_RootCreatedLater_IsWatchedAfterRefresh(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "calendars")
	fl := &fireLog{}
	wt, err := newWatcher([]watchRoot{{root, ".ics"}}, 50*time.Millisecond, 0, zerolog.Nop(), fl.fire)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); wt.run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // run has tried (and failed) to watch the missing root
	// The first pass creates the root and its folders, then refreshes.
	if err := os.MkdirAll(filepath.Join(root, "cal"), 0o700); err != nil {
		t.Fatal(err)
	}
	wt.refreshWatches(ctx)
	write(t, filepath.Join(root, "cal", "a.ics"), "x")
	time.Sleep(250 * time.Millisecond)
	if local, _ := fl.counts(); local != 1 {
		t.Fatalf("got %d passes after refresh, want 1", local)
	}
}

func TestWatcher_PeriodicRescan_FiresFullPasses(t *testing.T) {
	_, fl, _ := startWatcher(t, 150*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	if _, full := fl.counts(); full < 2 || full > 4 {
		t.Fatalf("rescan every 150 ms fired %d full passes in 500 ms, want 2–4", full)
	}
}

func TestWatcher_DeleteAndRecreateWithinHold_IsOnePass(t *testing.T) {
	root, fl, _ := startWatcher(t, 0)
	dir := filepath.Join(root, "cal")
	p := filepath.Join(dir, "x.ics")
	write(t, p, "v1")
	base, _ := fl.settle()
	// A slow editor: renames the file away, and writes it back after more
	// than one debounce period.
	if err := os.Rename(p, p+"~"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if local, _ := fl.counts(); local != base {
		t.Fatalf("a pass ran while x.ics was missing (%d)", local-base)
	}
	write(t, p, "v2")
	time.Sleep(300 * time.Millisecond)
	if local, _ := fl.counts(); local-base != 1 {
		t.Fatalf("slow rename dance fired %d passes, want 1", local-base)
	}
}

// An account with calendars and address books: a saved .vcf in an address
// book folder fires a pass, a .ics there does not, and both roots are
// watched.
func TestWatcher_ContactsRoot_VcfFiresIcsDoesNot(t *testing.T) {
	cals, books := t.TempDir(), t.TempDir()
	for _, d := range []string{filepath.Join(cals, "cal"), filepath.Join(books, "contacts")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	fl, _ := runWatcher(t, []watchRoot{{cals, ".ics"}, {books, ".vcf"}}, 50*time.Millisecond, 0)

	write(t, filepath.Join(books, "contacts", "stray.ics"), "x")
	write(t, filepath.Join(books, "contacts", "ann.vcf~"), "x")
	if local, _ := fl.settle(); local != 0 {
		t.Fatalf("non-.vcf files in an address book fired %d passes", local)
	}
	write(t, filepath.Join(books, "contacts", "ann.vcf"), "BEGIN:VCARD")
	if local, _ := fl.settle(); local != 1 {
		t.Fatalf("a saved .vcf fired %d passes, want 1", local)
	}
	write(t, filepath.Join(cals, "cal", "x.ics"), "BEGIN:VCALENDAR")
	if local, _ := fl.settle(); local != 2 {
		t.Fatalf("a saved .ics beside it fired %d passes in all, want 2", local)
	}
}
