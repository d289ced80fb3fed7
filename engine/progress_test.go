package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vdird/vdird/engine/work"
)

// workLog is a Progress that keeps every piece of work it heard of, and
// the calls that broke the order Start, Add…, Done.
type workLog struct {
	mu    sync.Mutex
	works []work.Status
	open  bool
	bad   []string
}

func (l *workLog) Start(w work.Step) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open {
		l.bad = append(l.bad, fmt.Sprintf("Start(%+v) before Done", w))
	}
	l.works, l.open = append(l.works, work.Status{Step: w}), true
}

func (l *workLog) Add(items, bytes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.open {
		l.bad = append(l.bad, "Add outside a piece of work")
		return
	}
	w := &l.works[len(l.works)-1]
	w.Done += items
	w.Bytes += int64(bytes)
}

func (l *workLog) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.open {
		l.bad = append(l.bad, "Done outside a piece of work")
	}
	l.open = false
}

// take returns the work heard of since the last take, and fails t on calls
// out of order.
func (l *workLog) take(t *testing.T) []work.Status {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) > 0 || l.open {
		t.Fatalf("progress calls out of order: %v (still open: %v)", l.bad, l.open)
	}
	out := l.works
	l.works = nil
	return out
}

// itemBytes sums the sizes of the item files of folder dir named in names
// (all of them when names is nil).
func itemBytes(t *testing.T, dir string, names []string) int64 {
	t.Helper()
	if names == nil {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range ents {
			if strings.HasSuffix(en.Name(), ".ics") {
				names = append(names, en.Name())
			}
		}
	}
	var n int64
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestSync_Progress_DownloadsAndUploadsReportedPerCalendarWithTheirCounts(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		const n = 30
		cal := e.seedOnly("big", n, "p%02d", "first")
		dir := filepath.Join(e.Root, calDir(cal))
		log := &workLog{}
		want := work.Step{Account: "test", Calendar: calDir(cal), Href: cal}

		// A first download streams the calendar: its size is not known ahead.
		e.sync(SyncOptions{Progress: log})
		got := log.take(t)
		want.Op = work.Downloading
		if len(got) != 1 || got[0].Step != want || got[0].Done != n || got[0].Bytes != itemBytes(t, dir, nil) {
			t.Fatalf("first download reported %+v, want one %+v of %d items and %d bytes", got, want, n, itemBytes(t, dir, nil))
		}

		// Changed items are fetched, new files uploaded: both with a total.
		for i := range 4 {
			e.Srv.Put(t, fmt.Sprintf("%sp%02d.ics", cal, i), event(fmt.Sprintf("p%02d", i), "changed on the server"))
		}
		var added []string
		for i := range 3 {
			name := fmt.Sprintf("new%d.ics", i)
			e.WriteFile(cal, name, event(fmt.Sprintf("new%d", i), "new"+strings.Repeat("x", i)))
			added = append(added, name)
		}
		sums := e.sync(SyncOptions{Progress: log})
		if len(sums) != 1 || sums[0].Failed() || sums[0].Downloaded != 4 || sums[0].Uploaded != 3 {
			t.Fatalf("second pass: %+v", sums[0])
		}
		got = log.take(t)
		down, up := want, want
		down.Op, down.Total = work.Downloading, 4
		up.Op, up.Total = work.Uploading, 3
		if len(got) != 2 || got[0].Step != down || got[0].Done != 4 || got[1].Step != up || got[1].Done != 3 {
			t.Fatalf("second pass reported %+v, want %+v with 4 done, then %+v with 3 done", got, down, up)
		}
		if b := itemBytes(t, dir, added); got[1].Bytes != b {
			t.Errorf("uploads counted %d bytes, the files hold %d", got[1].Bytes, b)
		}

		e.sync(SyncOptions{Progress: log})
		if got := log.take(t); len(got) != 0 {
			t.Errorf("an idle pass reported work: %+v", got)
		}
	})
}
