package main

// Progress of long work, as a user sees it: a live line on the terminal
// while `vdird sync` downloads a big calendar, nothing of it when stderr
// is not a terminal or with --quiet, and the daemon's work in
// `vdird status`.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// bigCalendar is the number of items of the calendar the tests download.
const bigCalendar = 3000

// progressLineRe is a progress line of the first download of the events
// calendar: its size is not known ahead, so items, bytes and rate.
var progressLineRe = regexp.MustCompile(`alice/events ↓ (\d+) items · [\d.]+ [KM]iB · \d+(\.\d)? items/s`)

// progressWorld is a Radicale holding a calendar of bigCalendar items,
// reached through a fault proxy, and the vdird binary. Each first download
// uses a config of its own (fresh) against that one calendar.
type progressWorld struct {
	bin  string
	srv  *testserver.Server
	px   *faultproxy.Proxy
	base string
	n    int // configs written
}

func newProgressWorld(t *testing.T) *progressWorld {
	t.Helper()
	w := &progressWorld{bin: buildVdird(t), srv: testserver.Start(t, testserver.Radicale), base: t.TempDir()}
	items := make(map[string][]byte, bigCalendar)
	for i := range bigCalendar {
		uid := fmt.Sprintf("big-%04d", i)
		items[uid+".ics"] = crashEvent(uid, "progress "+uid, i%50)
	}
	cal := w.srv.SeedCalendar(t, "events", "Events", items)
	// Radicale reads every item of a seeded calendar once, on the first
	// request that needs its sync-token: here, not in a test's time.
	if _, _, err := w.srv.Do(context.Background(), "PROPFIND", cal, map[string]string{"Depth": "0"},
		[]byte(`<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>`)); err != nil {
		t.Fatal(err)
	}
	px, err := faultproxy.New(w.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(px.Close)
	w.px = px
	return w
}

// holdDownload holds the next calendar download halfway until release is
// closed.
func (w *progressWorld) holdDownload(release <-chan struct{}) {
	w.px.Add(faultproxy.Rule{Method: "REPORT", Body: "<C:calendar-data/></D:prop><C:filter>", Nth: 1,
		Action: faultproxy.HoldBody(0, release)})
}

// fresh writes a config whose state and folders are new, so that a sync
// with it is a first download, and returns the command line and
// environment to run vdird with it.
func (w *progressWorld) fresh(t *testing.T) (args, env []string) {
	t.Helper()
	w.n++
	dir := filepath.Join(w.base, strconv.Itoa(w.n))
	c := w.srv.VdirdConfig(dir, "alice", filepath.Join(dir, "calendars"))
	c.URL = w.px.URL
	c.AccountSettings = []string{`calendars = ["events"]`}
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+run, "TERM=xterm",
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_STATE_HOME="+filepath.Join(dir, "xstate"))
	return []string{"--config", c.MustWrite(t)}, env
}

// ptyRun is vdird running with its stderr on a terminal.
type ptyRun struct {
	cmd    *exec.Cmd
	stdout testserver.Buffer
	mu     sync.Mutex
	term   strings.Builder // what it drew on the terminal
	done   chan error
}

// onTerminal starts vdird with args, stdout to a buffer and stderr on a
// pseudo-terminal of 120 columns.
func (w *progressWorld) onTerminal(t *testing.T, env []string, args ...string) *ptyRun {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	r := &ptyRun{cmd: exec.Command(w.bin, args...), done: make(chan error, 1)}
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, tty
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			r.mu.Lock()
			r.term.Write(buf[:n])
			r.mu.Unlock()
			if err != nil { // EIO once vdird has exited
				return
			}
		}
	}()
	go func() {
		err := r.cmd.Wait()
		<-read
		ptmx.Close()
		r.done <- err
	}()
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	return r
}

func (r *ptyRun) terminal() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.term.String()
}

// wait waits for vdird to exit and returns its exit status.
func (r *ptyRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-r.done:
		return exitCode(err)
	case <-time.After(60 * time.Second):
		t.Fatalf("vdird still running after 60 s; terminal:\n%s", r.terminal())
	}
	return -1
}

// TestBinary_Progress_FirstDownloadOf3000Items runs first downloads of
// one big calendar, each with a config of its own: on a terminal, without
// one, with --quiet, and by the daemon.
func TestBinary_Progress_FirstDownloadOf3000Items(t *testing.T) {
	w := newProgressWorld(t)
	t.Run("OnATerminal_ALiveLineShowsTheItemsSoFar", w.testOnATerminal)
	t.Run("StderrNotATerminalOrQuiet_NoProgress", w.testNoTerminalOrQuiet)
	t.Run("DaemonDownloading_StatusShowsTheCalendarAndHowFarItCame", w.testDaemonStatus)
}

func (w *progressWorld) testOnATerminal(t *testing.T) {
	release := make(chan struct{})
	w.holdDownload(release)
	args, env := w.fresh(t)
	r := w.onTerminal(t, env, append(args, "sync")...)

	// Half the answer is out: the line shows what came so far.
	var m []string
	deadline := time.Now().Add(30 * time.Second)
	for m = progressLineRe.FindStringSubmatch(r.terminal()); m == nil; m = progressLineRe.FindStringSubmatch(r.terminal()) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line on the terminal within 30 s:\n%q", r.terminal())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 || n >= bigCalendar {
		t.Errorf("the line midway says %d items, want some of the %d", n, bigCalendar)
	}
	close(release)
	if code := r.wait(t); code != 0 {
		t.Fatalf("sync exited %d:\n%s\n%s", code, r.stdout.String(), r.terminal())
	}
	if !strings.Contains(r.stdout.String(), fmt.Sprintf("↓%d ", bigCalendar)) {
		t.Errorf("summary: %s", r.stdout.String())
	}
	if strings.Contains(r.stdout.String(), "items/s") {
		t.Errorf("progress went to stdout:\n%s", r.stdout.String())
	}
}

func (w *progressWorld) testNoTerminalOrQuiet(t *testing.T) {
	// Each download takes long enough for a line to be drawn on a terminal
	// (the test above).
	holdFor := func(d time.Duration) {
		release := make(chan struct{})
		time.AfterFunc(d, func() { close(release) })
		w.holdDownload(release)
	}

	holdFor(2 * time.Second)
	args, env := w.fresh(t)
	cmd := exec.Command(w.bin, append(args, "sync")...)
	cmd.Env = env
	var stdout, stderr testserver.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sync: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("↓%d ", bigCalendar)) {
		t.Fatalf("summary: %s", stdout.String())
	}
	for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		if strings.Contains(out, "items/s") || strings.Contains(out, "\x1b[") {
			t.Errorf("progress on %s, which is no terminal:\n%q", name, out)
		}
	}

	holdFor(2 * time.Second)
	args, env = w.fresh(t)
	r := w.onTerminal(t, env, append(args, "sync", "--quiet")...)
	if code := r.wait(t); code != 0 {
		t.Fatalf("sync --quiet exited %d:\n%s\n%s", code, r.stdout.String(), r.terminal())
	}
	if !strings.Contains(r.stdout.String(), fmt.Sprintf("↓%d ", bigCalendar)) {
		t.Fatalf("summary: %s", r.stdout.String())
	}
	if term := r.terminal(); strings.Contains(term, "items/s") || strings.Contains(term, "\x1b[J") {
		t.Errorf("sync --quiet drew progress on the terminal:\n%q", term)
	}
}

func (w *progressWorld) testDaemonStatus(t *testing.T) {
	release := make(chan struct{})
	w.holdDownload(release)
	args, env := w.fresh(t)
	daemon := exec.Command(w.bin, append(args, "daemon")...)
	daemon.Env = env
	var logs testserver.Buffer
	daemon.Stderr = &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	defer func() { _ = daemon.Process.Kill() }()
	status := func(more ...string) string {
		cmd := exec.Command(w.bin, append(append(args, "status"), more...)...)
		cmd.Env = env
		out, _ := cmd.Output()
		return string(out)
	}

	// The daemon's first download is held halfway.
	workRe := regexp.MustCompile(`(?m)^working: alice/events ↓ (\d+) items · .* \(since \d\d:\d\d:\d\d\)$`)
	var out string
	deadline := time.Now().Add(30 * time.Second)
	// The step shows as soon as it starts, with 0 items until the first
	// object of the answer is read: wait for some.
	started := func(out string) bool {
		m := workRe.FindStringSubmatch(out)
		return m != nil && m[1] != "0"
	}
	for out = status(); !started(out); out = status() {
		if time.Now().After(deadline) {
			t.Fatalf("vdird status never showed the download with items come:\n%s\ndaemon log:\n%s", out, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, _ := strconv.Atoi(workRe.FindStringSubmatch(out)[1]); n < 1 || n >= bigCalendar {
		t.Errorf("status midway says %d items, want some of the %d:\n%s", n, bigCalendar, out)
	}
	var sts []struct {
		Account, Calendar string
		LastError         string `json:"last_error"`
		Progress          *struct {
			Op    string
			Done  int
			Total int
			Bytes int64
		}
	}
	if err := json.Unmarshal([]byte(status("--json")), &sts); err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].Calendar != "events" || sts[0].Progress == nil || sts[0].Progress.Op != "download" ||
		sts[0].Progress.Done < 1 || sts[0].Progress.Total != 0 || sts[0].Progress.Bytes < 1 {
		t.Errorf("status --json midway: %+v", sts)
	}
	if len(sts) == 1 && sts[0].LastError != "" {
		t.Errorf("a first download in hand shows as an error: %q", sts[0].LastError)
	}

	close(release)
	deadline = time.Now().Add(30 * time.Second)
	for out = status(); strings.Contains(out, "working:") || !strings.Contains(out, "alice/events") || strings.Contains(out, "never"); out = status() {
		if time.Now().After(deadline) {
			t.Fatalf("the download did not end in vdird status:\n%s\ndaemon log:\n%s", out, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = daemon.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("daemon after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
}
