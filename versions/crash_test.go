package versions

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// childEnv makes the test binary a child that saves versions into the
// store it names until it is killed (see TestMain).
const childEnv = "VDIRD_VERSIONS_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		saveForever(dir)
		return
	}
	os.Exit(m.Run())
}

// saveForever saves numbered versions, in batches and one by one, and
// never returns: the parent kills it.
func saveForever(dir string) {
	s, err := Open(dir, DefaultOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pid := os.Getpid()
	for n := 0; ; n++ {
		var vs []Version
		for i := range 1 + n%40 {
			vs = append(vs, ver("a", pid*100000+n*100+i, t0.Add(time.Duration(n)*time.Hour)))
		}
		if len(vs) == 1 {
			err = s.Save(context.Background(), vs[0])
		} else {
			err = s.SaveBatch(context.Background(), vs)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Println("saved")
	}
}

// checkStore asserts what must hold after any crash: every listed version
// reads back with the bytes ver or sized (for a version of size bytes)
// gives its UID, every file is a listed version or an index, and IDs are
// unique.
func checkStore(t *testing.T, s *Store) []Entry {
	t.Helper()
	es := list(t, s, Filter{})
	ids := map[string]bool{}
	for _, e := range es {
		if ids[e.ID] {
			t.Fatalf("%s listed twice", e.ID)
		}
		ids[e.ID] = true
		data, _, err := s.Read(e.ID)
		must(t, err)
		n, _ := strconv.Atoi(strings.TrimPrefix(e.UID, "uid-"))
		want := ver("a", n, t0).Data
		if e.Size != int64(len(want)) {
			want = sized("a", n, int(e.Size), t0).Data
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("%s (%s): %d bytes read are not the %d saved", e.ID, e.UID, len(data), len(want))
		}
	}
	for _, f := range dirFiles(t, s.Dir()) {
		if base := filepath.Base(f); base != indexName && !ids[base] {
			t.Fatalf("file %s is neither an index nor a listed version", f)
		}
	}
	return es
}

func TestCrash_KillNineDuringSaves_OpenRepairsEveryTime(t *testing.T) {
	dir := t.TempDir()
	total := 0
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		// Killed at a random moment once it has saved something.
		saved := bufio.NewScanner(out).Scan()
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		must(t, cmd.Process.Kill())
		_ = cmd.Wait()
		if !saved {
			t.Fatalf("round %d: child saved nothing: %s", round, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Fatalf("round %d: child failed: %s", round, stderr.String())
		}
		s := open(t, dir, DefaultOptions())
		es := checkStore(t, s)
		if len(es) <= total {
			t.Fatalf("round %d: %d versions, %d before: the child saved nothing", round, len(es), total)
		}
		total = len(es)
		// A save after the repair lands whole.
		v := ver("a", 1000000000+round, t0)
		must(t, s.Save(context.Background(), v))
		total++
		s.Close()
	}
}

func TestOpen_RepairsWhatACrashLeft(t *testing.T) {
	day := dayOf(t0)
	index := func(dir string) string { return filepath.Join(dir, day, indexName) }
	for name, tc := range map[string]struct {
		crash func(t *testing.T, dir string, es []Entry)
		want  []string // uids listed after Open, newest first
		rep   Repair
	}{
		"temp file of an interrupted save": {func(t *testing.T, dir string, es []Entry) {
			must(t, os.WriteFile(filepath.Join(dir, day, tempPrefix+"123"), []byte(headerTag+"\t1\t"), 0o600))
		}, []string{"uid-2", "uid-1", "uid-0"}, Repair{Temps: 1}},
		"torn last index line": {func(t *testing.T, dir string, es []Entry) {
			b, _ := os.ReadFile(index(dir))
			must(t, os.WriteFile(index(dir), b[:len(b)-10], 0o600))
		}, []string{"uid-2", "uid-1", "uid-0"}, Repair{Indexed: 1}},
		"index entry without its file": {func(t *testing.T, dir string, es []Entry) {
			must(t, os.Remove(filepath.Join(dir, day, es[1].ID)))
		}, []string{"uid-2", "uid-0"}, Repair{Dropped: 1}},
		"file without an index entry": {func(t *testing.T, dir string, es []Entry) {
			b, _ := os.ReadFile(index(dir))
			lines := strings.SplitAfter(string(b), "\n")
			must(t, os.WriteFile(index(dir), []byte(lines[0]+lines[2]), 0o600))
		}, []string{"uid-2", "uid-1", "uid-0"}, Repair{Indexed: 1}},
		"index lost": {func(t *testing.T, dir string, es []Entry) {
			must(t, os.Remove(index(dir)))
		}, []string{"uid-2", "uid-1", "uid-0"}, Repair{Indexed: 3}},
		"garbage line in the index": {func(t *testing.T, dir string, es []Entry) {
			b, _ := os.ReadFile(index(dir))
			i := strings.IndexByte(string(b), '\n') + 1
			must(t, os.WriteFile(index(dir), append(append(b[:i:i], "\x00\x00+\tjunk\n"...), b[i:]...), 0o600))
		}, []string{"uid-2", "uid-1", "uid-0"}, Repair{}},
		"damaged version file without an entry": {func(t *testing.T, dir string, es []Entry) {
			must(t, os.WriteFile(filepath.Join(dir, day, dayOf(t0)+"T000000Z-00000000ab"), []byte(headerTag+"\t1\t2\n"), 0o600))
		}, []string{"uid-2", "uid-1", "uid-0"}, Repair{Damaged: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, DefaultOptions())
			for i := range 3 {
				must(t, s.Save(context.Background(), ver("a", i, t0.Add(time.Duration(i)*time.Second))))
			}
			es := slices.Clone(list(t, s, Filter{}))
			slices.Reverse(es) // oldest first, as in the index
			s.Close()
			tc.crash(t, dir, es)

			s = open(t, dir, DefaultOptions())
			if got := uids(checkStore(t, s)); !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			// Open repaired it all: a prune finds nothing left to repair.
			if rep := prune(t, s, t0); rep.Repaired != (Repair{}) {
				t.Fatalf("second repair found %+v", rep.Repaired)
			}
			must(t, s.Save(context.Background(), ver("a", 3, t0.Add(time.Minute))))
			if got := uids(checkStore(t, s)); !slices.Equal(got, append([]string{"uid-3"}, tc.want...)) {
				t.Fatalf("after a save: %v", got)
			}
		})
	}
}

// TestRepair_CountsWhatWasPutRight checks the Repair numbers Prune reports
// for faults that appear while the store is open (another process crashed).
func TestRepair_CountsWhatWasPutRight(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, DefaultOptions())
	for i := range 3 {
		must(t, s.Save(context.Background(), ver("a", i, t0)))
	}
	es := list(t, s, Filter{})
	d := filepath.Join(dir, dayOf(t0))
	must(t, os.WriteFile(filepath.Join(d, tempPrefix+"x"), nil, 0o600))
	must(t, os.Remove(filepath.Join(d, es[0].ID)))
	b, _ := os.ReadFile(filepath.Join(d, indexName))
	must(t, os.WriteFile(filepath.Join(d, indexName), b[:strings.IndexByte(string(b), '\n')+1], 0o600))
	// es[0] is the last saved (uid-2): its file is gone and its entry was
	// cut with the index; uid-1's file goes back into the index.
	rep := prune(t, s, t0)
	if want := (Repair{Temps: 1, Indexed: 1}); rep.Repaired != want {
		t.Fatalf("repaired %+v, want %+v", rep.Repaired, want)
	}
	if got := uids(checkStore(t, s)); !slices.Equal(got, []string{"uid-1", "uid-0"}) {
		t.Fatalf("listed %v", got)
	}
}

func TestSave_TwoStoresOnOneDir_ConcurrentWriters_NothingCorrupt(t *testing.T) {
	dir := t.TempDir()
	stores := []*Store{open(t, dir, DefaultOptions()), open(t, dir, DefaultOptions())}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for n := range 20 {
				var vs []Version
				for i := range 1 + n%7 {
					vs = append(vs, ver("a", w*10000+n*10+i, t0.Add(time.Duration(n)*time.Hour)))
				}
				errs <- s.SaveBatch(context.Background(), vs)
			}
		}()
	}
	go func() { wg.Wait(); close(errs) }()
	for err := range errs {
		must(t, err)
	}
	want := 8 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 1 + 2 + 3 + 4 + 5 + 6)
	for _, s := range append(stores, open(t, dir, DefaultOptions())) {
		if es := checkStore(t, s); len(es) != want {
			t.Fatalf("%d versions, want %d", len(es), want)
		}
	}
}

func TestSave_ContextEndsWhileAnotherWriterHoldsTheLock_NothingKept(t *testing.T) {
	dir := t.TempDir()
	holder := open(t, dir, DefaultOptions())
	release, err := holder.acquire(context.Background())
	must(t, err)
	defer release()
	s := open(t, dir, DefaultOptions()) // opens: repair waits only while it needs the lock
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = s.Save(ctx, ver("a", 1, t0))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	if files := dirFiles(t, dir); len(files) != 0 {
		t.Fatalf("left %v", files)
	}
}

// Another process may prune a day folder away between listing the days
// and taking the lock: repairing or removing it is then nothing to do.
func TestRepair_DayFolderRemovedMeanwhile_NothingToDo(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	r, idx, err := s.repairDay("20250101")
	if err != nil || r != (Repair{}) || len(idx.entries) != 0 {
		t.Fatalf("repair of a missing day: %+v %d %v", r, len(idx.entries), err)
	}
	must(t, s.removeDayIfEmpty("20250101"))
}
