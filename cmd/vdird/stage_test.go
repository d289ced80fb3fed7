package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/vdir"
)

// throughProxy puts a fault proxy between w's vdird and its server.
func (w *crashWorld) throughProxy() *faultproxy.Proxy {
	w.t.Helper()
	px, err := faultproxy.New(w.srv.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(px.Close)
	w.cfg.URL = px.URL
	w.cfgPath = w.cfg.MustWrite(w.t)
	return px
}

// interruptWhen runs `vdird sync`, sends it sig as soon as ready holds,
// and returns its exit status and everything it printed.
func (w *crashWorld) interruptWhen(sig os.Signal, ready func() bool) (code int, output string) {
	w.t.Helper()
	c := w.start("sync")
	printed := func() string { return c.out.String() + c.errb.String() }
	// A bound for a hang only: a loaded machine makes Radicale slow to
	// answer a big calendar the first time.
	deadline := time.After(3 * time.Minute)
	for !ready() {
		select {
		case err := <-c.done:
			w.t.Fatalf("vdird sync ended (%v) before it could be interrupted:\n%s", err, printed())
		case <-deadline:
			_ = c.cmd.Process.Kill()
			<-c.done
			w.t.Fatalf("vdird sync was not ready to be interrupted within 3 minutes:\n%s", printed())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		w.t.Fatal(err)
	}
	select {
	case err := <-c.done:
		return exitCode(err), printed()
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		w.t.Fatalf("vdird sync still running 30 s after %v:\n%s", sig, printed())
	}
	return 0, ""
}

// itemFiles counts the item files in dir (none when it does not exist).
func itemFiles(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), ".ics") && !strings.HasPrefix(en.Name(), ".") {
			n++
		}
	}
	return n
}

// TestBinary_SignalsDuringFirstDownload_CalendarHiddenUntilARunCompletesIt
// interrupts the first sync of a 3,000-item calendar on Radicale with
// SIGINT while the server's answer is held halfway, then the resuming run
// with SIGTERM while one of its multigets is held. After each, no item file
// is where khal looks, the output says how many items wait staged, and the
// exit status is 130 and 1. The run after them completes the calendar and
// receives only the items that were not staged; the run after that is
// idle.
func TestBinary_SignalsDuringFirstDownload_CalendarHiddenUntilARunCompletesIt(t *testing.T) {
	const n = 3000
	bin := buildVdird(t)
	w := newCrashWorld(t, testserver.Radicale, bin, 1)
	items := make(map[string][]byte, n)
	for i := range n {
		uid := fmt.Sprintf("big-%04d", i)
		items[uid+".ics"] = crashEvent(uid, "first download "+uid, i%50)
	}
	w.srv.SeedCalendar(t, "events", "Events", items)
	px := w.throughProxy()
	stage := vdir.StagePath(w.dir)
	hidden := func(when string) {
		t.Helper()
		if got := itemFiles(w.dir); got != 0 {
			t.Fatalf("%s: %d item files visible in %s", when, got, w.dir)
		}
	}

	// The first download's answer stops halfway: some batches are on disk.
	px.Add(faultproxy.Rule{Method: "REPORT", Body: "<C:calendar-data/></D:prop><C:filter>", Nth: 1, Action: faultproxy.HoldBody(0, nil)})
	code, out := w.interruptWhen(os.Interrupt, func() bool { return itemFiles(stage) >= 400 })
	hidden("after SIGINT")
	staged := itemFiles(stage)
	if code != 130 || staged >= n || !strings.Contains(out, fmt.Sprintf("first download interrupted, %d items staged", staged)) {
		t.Fatalf("SIGINT during the first download: exit %d, %d items staged:\n%s", code, staged, out)
	}

	px.Clear()
	held := px.Add(faultproxy.Rule{Method: "REPORT", Body: "calendar-multiget", Nth: 1, Action: faultproxy.HoldBody(0, nil)})
	code, out = w.interruptWhen(syscall.SIGTERM, func() bool { return held.Fired() > 0 })
	hidden("after SIGTERM")
	if code != 1 || itemFiles(stage) != staged || !strings.Contains(out, fmt.Sprintf("first download interrupted, %d of %d items staged", staged, n)) {
		t.Fatalf("SIGTERM during the resume: exit %d, %d items staged (was %d):\n%s", code, itemFiles(stage), staged, out)
	}

	px.Clear()
	var objects atomic.Int64
	px.Add(faultproxy.Rule{Method: "REPORT", Action: faultproxy.RewriteBody(func(_ *http.Request, b []byte) []byte {
		objects.Add(int64(bytes.Count(b, []byte("BEGIN:VCALENDAR"))))
		return b
	})})
	r := w.vdird(-1, 0, nil)
	m := summaryRe.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || m[2] != fmt.Sprint(n-staged) || m[3] != "0" || m[4] != "0" || m[5] != "0" {
		t.Fatalf("the completing run after %d of %d staged (exit %d):\n%s\n%s", staged, n, r.code, r.stdout, r.stderr)
	}
	if got := objects.Load(); got != int64(n-staged) {
		t.Errorf("the server sent %d items to the completing run, want the %d not staged", got, n-staged)
	}
	if got := itemFiles(w.dir); got != n {
		t.Errorf("the folder holds %d items, want %d", got, n)
	}
	for _, torn := range w.tornItems() {
		t.Errorf("torn item: %s", torn)
	}
	if _, err := os.Lstat(stage); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging folder left behind: %v", err)
	}
	if r := w.vdird(-1, 0, nil); r.code != 0 || !idle(r.stdout) {
		t.Fatalf("run after the completing one not idle (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("SIGINT with %d of %d staged; the completing run fetched %d", staged, n, n-staged)
}
