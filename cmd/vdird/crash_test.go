package main

// Crash tests for the real binary: `vdird sync` is killed with SIGKILL at a
// random moment of a busy two-way pass, restarted, and the server and the
// folder are then checked item by item against a model of every edit made.
// They check the promise of docs/design.md that no crash loses an edit, duplicates
// a UID or leaves a torn or temp file visible as an item.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/vdir"
)

// buildVdird compiles this package into a temp dir once per test.
func buildVdird(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "vdird")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashWorld is one real server, one calendar, one vdird config and the
// model of what every item must hold once vdird has converged.
type crashWorld struct {
	t       *testing.T
	bin     string
	srv     *testserver.Server
	cal     string // calendar href
	dir     string // local folder of the calendar
	cfg     testserver.VdirdConfig
	cfgPath string
	env     []string
	rng     *rand.Rand
	seq     int

	model map[string]*modelItem // by UID
	snap  *observed             // the converged state seen by the last check
}

// modelItem is what one UID must look like after convergence.
type modelItem struct {
	marker string // the item must contain this marker…
	alt    string // …or this one (both sides edited); the other must be in a conflict copy
	gone   bool   // deleted: absent on both sides
}

// observed is one look at both sides.
type observed struct {
	server    map[string][]string // UID → hrefs
	serverBy  map[string][]byte   // href → body
	local     map[string][]string // UID → file names
	localBy   map[string][]byte   // name → body
	conflicts [][]byte            // bodies of *.ics.conflict-* copies
	torn      []string            // .ics files that do not parse
	temps     []string            // hidden/temp files visible in the folder
	other     []string            // anything else unexpected
}

func newCrashWorld(t *testing.T, kind testserver.Kind, bin string, seed int64) *crashWorld {
	t.Helper()
	srv := testserver.Start(t, kind)
	base := t.TempDir()
	w := &crashWorld{t: t, bin: bin, srv: srv, rng: rand.New(rand.NewSource(seed)), model: map[string]*modelItem{}}
	w.cal = srv.MakeCalendar(t, "events", "Events", "VEVENT")
	root := filepath.Join(base, "calendars")
	w.dir = filepath.Join(root, "events")
	c := srv.VdirdConfig(base, "crash", root)
	c.StatePath = filepath.Join(base, "state", "state.db")
	c.Settings = []string{`conflict_policy = "server-wins"`}
	c.AccountSettings = []string{`calendars = ["events"]`}
	w.cfg, w.cfgPath = c, c.MustWrite(t)
	run := filepath.Join(base, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	// No control socket of a real daemon on this machine can be found, no
	// user config is read.
	w.env = append(os.Environ(), "HOME="+base, "XDG_RUNTIME_DIR="+run,
		"XDG_CONFIG_HOME="+filepath.Join(base, "config"), "XDG_STATE_HOME="+filepath.Join(base, "xstate"))
	return w
}

// crashEvent is an item whose SUMMARY is the marker; the padding varies the
// size so an edit never keeps the size of the file it replaces.
func crashEvent(uid, marker string, pad int) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird crash test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + marker +
		"\r\nDESCRIPTION:" + strings.Repeat("x", pad) +
		"\r\nX-VDIRD-TEST:a long property value that is folded because it is longer than seventy-five octets \r\n in total\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

func (w *crashWorld) marker(kind string) string {
	w.seq++
	return fmt.Sprintf("mk%05d%s", w.seq, kind)
}

func (w *crashWorld) body(uid, marker string, old []byte) []byte {
	b := crashEvent(uid, marker, 1+w.rng.Intn(40))
	if len(b) == len(old) {
		b = crashEvent(uid, marker, 41+w.rng.Intn(5))
	}
	return b
}

// writeLocal saves like an editor that writes atomically (temp + rename).
func (w *crashWorld) writeLocal(name string, data []byte) {
	w.t.Helper()
	tmp := filepath.Join(w.dir, ".edit-"+name+".swp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, name)); err != nil {
		w.t.Fatal(err)
	}
}

// child is a vdird process a crash test started.
type child struct {
	cmd       *exec.Cmd
	out, errb *testserver.Buffer
	done      chan error // what Wait returned, sent once
}

// start runs `vdird --config F args...` in the world's environment.
func (w *crashWorld) start(args ...string) *child {
	w.t.Helper()
	c := &child{out: &testserver.Buffer{}, errb: &testserver.Buffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command(w.bin, append([]string{"--config", w.cfgPath}, args...)...)
	c.cmd.Env = w.env
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.errb
	if err := c.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	return c
}

type runResult struct {
	code           int
	stdout, stderr string
	killed         bool // SIGKILL arrived while it was still running
}

// vdird runs `vdird --config F sync`; with killAfter >= 0 it is killed with
// SIGKILL after that long, and during is called at duringAt (if it is
// still running then or not).
func (w *crashWorld) vdird(killAfter, duringAt time.Duration, during func()) runResult {
	w.t.Helper()
	c := w.start("sync")
	cmd, out, errb, done := c.cmd, c.out, c.errb, c.done
	var res runResult
	var err error
	if killAfter >= 0 {
		start := time.Now()
		if during != nil {
			time.Sleep(duringAt)
			during()
		}
		timer := time.NewTimer(time.Until(start.Add(killAfter)))
		select {
		case err = <-done:
			timer.Stop()
		case <-timer.C:
			res.killed = cmd.Process.Kill() == nil
			err = <-done
		}
	} else {
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			w.t.Fatalf("vdird sync hung for 60 s:\n%s\n%s", out.String(), errb.String())
		}
	}
	res.stdout, res.stderr = out.String(), errb.String()
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return res
}

func (w *crashWorld) observe() *observed {
	w.t.Helper()
	o := &observed{server: map[string][]string{}, serverBy: map[string][]byte{}, local: map[string][]string{}, localBy: map[string][]byte{}}
	for _, h := range w.srv.Members(w.t, w.cal) {
		body, _ := w.srv.Get(w.t, h)
		if body == nil {
			continue // deleted between listing and GET: cannot happen here, nobody else writes
		}
		o.add(o.server, o.serverBy, "server", h, body)
	}
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, en := range ents {
		name := en.Name()
		switch {
		case name == "displayname" || name == "color":
		case strings.HasPrefix(name, ".") && strings.Contains(name, ".ics.conflict-") && strings.HasSuffix(name, ".note"):
			// The note kept beside a conflict copy.
		case strings.HasPrefix(name, "."):
			o.temps = append(o.temps, name)
		case strings.Contains(name, ".ics.conflict-"):
			o.conflicts = append(o.conflicts, w.readFile(name))
		case strings.HasSuffix(name, ".ics") && en.Type().IsRegular():
			o.add(o.local, o.localBy, "local", name, w.readFile(name))
		default:
			o.other = append(o.other, name)
		}
	}
	return o
}

// add records the item at (an href or a file name) on one side, by UID and
// by place, or as torn if it does not parse.
func (o *observed) add(byUID map[string][]string, byAt map[string][]byte, side, at string, body []byte) {
	info, err := ics.Inspect(body)
	if err != nil {
		o.torn = append(o.torn, side+" "+at+": "+err.Error())
		return
	}
	byUID[info.UID] = append(byUID[info.UID], at)
	byAt[at] = body
}

func (w *crashWorld) readFile(name string) []byte {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, name))
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// tornItems lists the item files (*.ics, not hidden, not conflict copies)
// that do not parse: what a reader such as khal would see as broken.
func (w *crashWorld) tornItems() []string {
	w.t.Helper()
	ents, err := os.ReadDir(w.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a first download still staged: nothing visible yet
	}
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		name := en.Name()
		if !strings.HasSuffix(name, ".ics") || strings.HasPrefix(name, ".") || !en.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(w.dir, name))
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := ics.Inspect(b); err != nil {
			out = append(out, name+": "+err.Error())
		}
	}
	return out
}

func (o *observed) inConflictCopy(marker string) bool {
	for _, c := range o.conflicts {
		if bytes.Contains(c, []byte("SUMMARY:"+marker+"\r\n")) {
			return true
		}
	}
	return false
}

func hasMarker(body []byte, marker string) bool {
	return marker != "" && bytes.Contains(body, []byte("SUMMARY:"+marker+"\r\n"))
}

// tally counts what the check found.
type tally struct {
	lost, duplicates, torn, mismatched, temps int
}

func (c tally) bad() bool {
	return c.lost+c.duplicates+c.torn+c.mismatched+c.temps > 0
}

// check compares both sides with each other and with the model, and
// settles the model's both-sides edits to the version that won.
func (w *crashWorld) check(iter int) tally {
	w.t.Helper()
	o := w.observe()
	var c tally
	fail := func(counter *int, format string, args ...any) {
		*counter++
		w.t.Errorf("iteration %d: "+format, append([]any{iter}, args...)...)
	}
	for _, s := range o.torn {
		fail(&c.torn, "torn or invalid item: %s", s)
	}
	for _, s := range o.temps {
		fail(&c.temps, "temp/hidden file visible in the folder: %s", s)
	}
	for _, s := range o.other {
		fail(&c.mismatched, "unexpected file in the folder: %s", s)
	}
	for uid, hs := range o.server {
		if len(hs) > 1 {
			fail(&c.duplicates, "UID %s %d times on the server: %v", uid, len(hs), hs)
		}
		if w.model[uid] == nil {
			fail(&c.duplicates, "UID %s on the server was never made by the test", uid)
		}
	}
	for uid, ns := range o.local {
		if len(ns) > 1 {
			fail(&c.duplicates, "UID %s in %d files: %v", uid, len(ns), ns)
		}
		if w.model[uid] == nil {
			fail(&c.duplicates, "UID %s in the folder was never made by the test", uid)
		}
	}
	for _, uid := range sortedUIDs(w.model) {
		m := w.model[uid]
		hs, ns := o.server[uid], o.local[uid]
		if m.gone {
			if len(hs) > 0 || len(ns) > 0 {
				fail(&c.mismatched, "deleted UID %s came back: server %v, folder %v", uid, hs, ns)
			}
			continue
		}
		if len(hs) == 0 || len(ns) == 0 {
			what := &c.mismatched
			if len(hs) == 0 && len(ns) == 0 && !o.inConflictCopy(m.marker) && !o.inConflictCopy(m.alt) {
				what = &c.lost
			}
			fail(what, "UID %s (marker %s) missing: server %v, folder %v", uid, m.marker, hs, ns)
			continue
		}
		srvBody, locBody := o.serverBy[hs[0]], o.localBy[ns[0]]
		if !bytes.Equal(srvBody, locBody) && !ics.Equivalent(srvBody, locBody) {
			fail(&c.mismatched, "UID %s differs: server %s\n%s\nfolder %s\n%s", uid, hs[0], srvBody, ns[0], locBody)
			continue
		}
		switch {
		case hasMarker(locBody, m.marker):
			if m.alt != "" && !o.inConflictCopy(m.alt) {
				fail(&c.lost, "UID %s: both sides edited, %s won, the loser %s is in no conflict copy", uid, m.marker, m.alt)
			}
		case hasMarker(locBody, m.alt):
			if !o.inConflictCopy(m.marker) {
				fail(&c.lost, "UID %s: both sides edited, %s won, the loser %s is in no conflict copy", uid, m.alt, m.marker)
			}
			m.marker = m.alt
		default:
			counter := &c.lost
			if o.inConflictCopy(m.marker) {
				counter = &c.mismatched // kept, but the wrong version won
			}
			fail(counter, "UID %s lacks its last edit %s:\n%s", uid, m.marker, locBody)
		}
		m.alt = ""
	}
	w.snap = o
	return c
}

func sortedUIDs(m map[string]*modelItem) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if !v.gone {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	for k, v := range m {
		if v.gone {
			out = append(out, k)
		}
	}
	return out
}

// alive returns the live UIDs in random order.
func (w *crashWorld) alive() []string {
	var uids []string
	for uid, m := range w.model {
		if !m.gone {
			uids = append(uids, uid)
		}
	}
	sort.Strings(uids)
	w.rng.Shuffle(len(uids), func(i, j int) { uids[i], uids[j] = uids[j], uids[i] })
	return uids
}

func (w *crashWorld) localEdit(uid, kind string) string {
	name := w.snap.local[uid][0]
	mk := w.marker(kind)
	w.writeLocal(name, w.body(uid, mk, w.snap.localBy[name]))
	return mk
}

func (w *crashWorld) phoneEdit(uid, kind string) string {
	href := w.snap.server[uid][0]
	mk := w.marker(kind)
	w.srv.Put(w.t, href, w.body(uid, mk, w.snap.serverBy[href]))
	return mk
}

// summaryRe matches one printed calendar summary of `vdird sync`.
var summaryRe = regexp.MustCompile(`crash/events\s+(?:(unchanged)|↓(\d+) ↑(\d+) ✗(\d+) ⚠(\d+))`)

// idle tells whether a pass's printed summary shows no transfer at all.
func idle(stdout string) bool {
	m := summaryRe.FindStringSubmatch(stdout)
	if m == nil {
		return false
	}
	return m[1] == "unchanged" || (m[2] == "0" && m[3] == "0" && m[4] == "0" && m[5] == "0")
}

func crashIterations(t *testing.T) int {
	if s := os.Getenv("VDIRD_CRASH_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("VDIRD_CRASH_ITERATIONS=%q: want a positive number", s)
		}
		return n
	}
	if os.Getenv("CI") != "" {
		return 100
	}
	return 20
}

func crashSeed(t *testing.T) int64 {
	if s := os.Getenv("VDIRD_CRASH_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("VDIRD_CRASH_SEED=%q: %v", s, err)
		}
		return n
	}
	return time.Now().UnixNano()
}

// TestCrash_KillNineLoop_ConvergesWithoutLossOrDuplicates runs a busy
// two-way sync (local edits, creates, deletes; phone edits, creates,
// deletes; both sides editing one item; edits on both sides while the pass
// runs), kills `vdird sync` with SIGKILL at a random moment in 0–150 ms (a
// pass takes about 110 ms here, so most kills land mid-pass),
// runs it again to completion and a third time, which must be idle, and
// after every iteration checks both sides against the model of every edit.
// VDIRD_CRASH_ITERATIONS and VDIRD_CRASH_SEED reproduce a run.
func TestCrash_KillNineLoop_ConvergesWithoutLossOrDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop: not in -short")
	}
	iterations := crashIterations(t)
	seed := crashSeed(t)
	bin := buildVdird(t)
	kinds := []testserver.Kind{testserver.Radicale}
	if os.Getenv("VDIRD_CRASH_XANDIKOS") != "" || os.Getenv("CI") != "" {
		kinds = append(kinds, testserver.Xandikos)
	}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			runCrashLoop(t, kind, bin, iterations, seed)
		})
	}
}

func runCrashLoop(t *testing.T, kind testserver.Kind, bin string, iterations int, seed int64) {
	w := newCrashWorld(t, kind, bin, seed)
	t.Logf("seed %d (VDIRD_CRASH_SEED=%d reproduces the change sets), %d iterations", seed, seed, iterations)

	// A starting calendar of 20 items made on the phone, synced once.
	for i := 0; i < 20; i++ {
		uid := fmt.Sprintf("seed-%02d", i)
		mk := w.marker("S")
		w.srv.Put(t, w.cal+uid+".ics", crashEvent(uid, mk, i))
		w.model[uid] = &modelItem{marker: mk}
	}
	if r := w.vdird(-1, 0, nil); r.code != 0 {
		t.Fatalf("first sync failed (%d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	total := w.check(0)
	if total.bad() {
		t.Fatalf("first sync did not converge")
	}

	var kills, interrupted, settled, cleaned int
	var crashTime, restartTime time.Duration
	done := 0
	defer func() {
		line := fmt.Sprintf("TEST-RESULT crash-loop iterations=%d lost=%d duplicates=%d torn=%d seed=%d server=%s",
			done, total.lost, total.duplicates, total.torn+total.temps, seed, kind)
		t.Log(line)
		fmt.Println(line)
		fmt.Printf("TEST-RESULT crash-loop-detail server=%s mismatched=%d tempfiles=%d kills-mid-pass=%d/%d journal-recoveries=%d temp-cleanups=%d avg-crashed-run=%v avg-restart=%v\n",
			kind, total.mismatched, total.temps, interrupted, kills, settled, cleaned, avg(crashTime, kills), avg(restartTime, done))
	}()

	for iter := 1; iter <= iterations; iter++ {
		uids := w.alive()
		take := func(n int) []string {
			n = min(n, len(uids))
			out := uids[:n]
			uids = uids[n:]
			return out
		}
		for _, uid := range take(2) {
			w.model[uid].marker = w.localEdit(uid, "L")
		}
		for _, uid := range take(2) {
			w.model[uid].marker = w.phoneEdit(uid, "P")
		}
		for _, uid := range take(1) {
			os.Remove(filepath.Join(w.dir, w.snap.local[uid][0]))
			w.model[uid].gone = true
		}
		for _, uid := range take(1) {
			w.srv.Delete(t, w.snap.server[uid][0])
			w.model[uid].gone = true
		}
		if w.rng.Intn(10) < 4 {
			for _, uid := range take(1) {
				// Both sides edit one item: either may win, the other must be kept.
				lm := w.localEdit(uid, "B")
				pm := w.phoneEdit(uid, "Q")
				w.model[uid].marker, w.model[uid].alt = pm, lm
			}
		}
		creates := 1
		if len(w.alive()) < 20 {
			creates = 2
		}
		for k := 0; k < creates; k++ {
			uid := fmt.Sprintf("local-%03d-%d", iter, k)
			mk := w.marker("C")
			w.writeLocal(uid+".ics", crashEvent(uid, mk, k))
			w.model[uid] = &modelItem{marker: mk}
			uid = fmt.Sprintf("phone-%03d-%d", iter, k)
			mk = w.marker("D")
			w.srv.Put(t, w.cal+uid+".ics", crashEvent(uid, mk, k))
			w.model[uid] = &modelItem{marker: mk}
		}
		// While the pass runs: one more local and one more phone edit on
		// items nobody else touched in this iteration.
		concurrent := take(2)
		during := func() {
			if len(concurrent) > 0 {
				w.model[concurrent[0]].marker = w.localEdit(concurrent[0], "W")
			}
			if len(concurrent) > 1 {
				w.model[concurrent[1]].marker = w.phoneEdit(concurrent[1], "X")
			}
		}
		killAfter := time.Duration(w.rng.Intn(151)) * time.Millisecond
		duringAt := time.Duration(w.rng.Int63n(int64(killAfter) + 1))

		start := time.Now()
		r := w.vdird(killAfter, duringAt, during)
		crashTime += time.Since(start)
		kills++
		if r.killed {
			interrupted++
		}
		// Right after the kill, before any repair: every item file is whole.
		for _, torn := range w.tornItems() {
			total.torn++
			t.Errorf("iteration %d: torn item right after the kill at %v: %s", iter, killAfter, torn)
		}
		start = time.Now()
		r2 := w.vdird(-1, 0, nil)
		restartTime += time.Since(start)
		// How often the kill hit the windows that need repair on restart.
		settled += strings.Count(r2.stderr, "settled a write interrupted by a crash")
		cleaned += strings.Count(r2.stderr, "removed temp files left by an earlier crash")
		if r2.code != 0 {
			t.Errorf("iteration %d: sync after the kill failed (exit %d):\n%s\n%s\nkilled run (after %v):\n%s\n%s",
				iter, r2.code, r2.stdout, r2.stderr, killAfter, r.stdout, r.stderr)
		}
		r3 := w.vdird(-1, 0, nil)
		if r3.code != 0 || !idle(r3.stdout) {
			t.Errorf("iteration %d: third sync not idle (exit %d):\n%s\n%s\nsecond run:\n%s", iter, r3.code, r3.stdout, r3.stderr, r2.stdout)
		}
		c := w.check(iter)
		total.lost += c.lost
		total.duplicates += c.duplicates
		total.torn += c.torn
		total.mismatched += c.mismatched
		total.temps += c.temps
		done = iter
		if c.bad() || t.Failed() {
			t.Logf("killed run after %v (killed=%v):\n%s\n%s\nsecond run:\n%s\n%s", killAfter, r.killed, r.stdout, r.stderr, r2.stdout, r2.stderr)
			t.FailNow()
		}
	}
	if interrupted == 0 && iterations >= 10 {
		t.Errorf("no kill landed while vdird was running (%d tries): the loop tested nothing", kills)
	}
}

func avg(d time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return (d / time.Duration(n)).Round(time.Millisecond)
}

// TestCrash_SecondVdirdOnSameStateFile_FailsFastWithClearError runs a real
// daemon, then a second daemon and a `vdird sync` that cannot reach the
// first one's control socket, all on the same state file: both must stop
// at once with "another vdird is using PATH" and exit 1.
// A `vdird sync` that can reach the socket is served by the daemon instead.
func TestCrash_SecondVdirdOnSameStateFile_FailsFastWithClearError(t *testing.T) {
	bin := buildVdird(t)
	w := newCrashWorld(t, testserver.Radicale, bin, 1)
	w.srv.Put(t, w.cal+"a.ics", crashEvent("a", "first", 1))
	statePath := filepath.Join(filepath.Dir(w.cfgPath), "state", "state.db")

	d := w.start("daemon")
	daemonCmd, derr, exited := d.cmd, d.errb, d.done
	t.Cleanup(func() {
		_ = daemonCmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(derr.String(), "first reconcile done: ready") {
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready after 20 s:\n%s", derr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	otherRun := t.TempDir() // a runtime dir without the first daemon's socket
	envOther := append(append([]string(nil), w.env...), "XDG_RUNTIME_DIR="+otherRun)
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"second daemon", w.env, []string{"daemon"}},
		{"sync that cannot reach the daemon", envOther, []string{"sync"}},
	} {
		cmd := exec.Command(bin, append([]string{"--config", w.cfgPath}, c.args...)...)
		cmd.Env = c.env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: want exit 1, got %v\n%s", c.name, err, out)
		}
		if want := "another vdird is using " + statePath; !strings.Contains(string(out), want) {
			t.Errorf("%s: output lacks %q:\n%s", c.name, want, out)
		}
		if took > 10*time.Second {
			t.Errorf("%s: took %v to give up", c.name, took)
		}
		t.Logf("%s: exit 1 after %v: %s", c.name, took.Round(time.Millisecond), strings.TrimSpace(string(out)))
	}
	select {
	case err := <-exited:
		t.Fatalf("the first daemon died (%v):\n%s", err, derr.String())
	default:
	}

	// Through the control socket the running daemon does the pass.
	r := w.vdird(-1, 0, nil)
	if r.code != 0 || !strings.Contains(r.stdout, "crash/events") {
		t.Fatalf("sync via the daemon: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Stopped, the lock is free again.
	if err := daemonCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
	exited <- nil // for the cleanup
	cmd := exec.Command(bin, "--config", w.cfgPath, "sync")
	cmd.Env = envOther
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sync after the daemon stopped: %v\n%s", err, out)
	}
}

// TestCrash_KillNineDuringFirstDownload_RestartCompletesIt kills the first
// sync of a 3,000-item calendar with SIGKILL as soon as the folder holds
// its first file, then kills each resumed run once the folder holds 1,000,
// 2,000 and 2,800 files. Right after every kill no item file is visible
// yet, each item file parses and the only hidden files are vdird's own
// temp files; the run that finishes
// leaves every server item exactly once in the folder, each with its
// content, with nothing uploaded or deleted, and the run after it is idle.
func TestCrash_KillNineDuringFirstDownload_RestartCompletesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	const n = 3000
	bin := buildVdird(t)
	w := newCrashWorld(t, testserver.Radicale, bin, 1)
	items := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("big-%04d", i)
		items[uid+".ics"] = crashEvent(uid, "first download "+uid, i%50)
	}
	w.srv.SeedCalendar(t, "events", "Events", items)

	// A first download and each resumed one fill a hidden staging folder,
	// published whole by the run that completes it. Both folders count.
	stage := vdir.StagePath(w.dir)
	countFiles := func() int {
		c := 0
		for _, dir := range []string{w.dir, stage} {
			ents, _ := os.ReadDir(dir)
			for _, en := range ents {
				if strings.HasSuffix(en.Name(), ".ics") && !strings.HasPrefix(en.Name(), ".") {
					c++
				}
			}
		}
		return c
	}
	// killAt runs `vdird sync` and kills it once the folder (or its staging
	// folder) holds at least files item files; it tells whether the kill
	// came before the run ended.
	killAt := func(files int) (killed bool, stdout, stderr string) {
		c := w.start("sync")
		cmd, out, errb, done := c.cmd, c.out, c.errb, c.done
		// A bound for a hang only: on a loaded machine Radicale takes long
		// to answer a big calendar it has not read yet.
		deadline := time.After(3 * time.Minute)
		for {
			select {
			case <-done:
				return false, out.String(), errb.String()
			case <-deadline:
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("vdird sync hung for 3 minutes:\n%s\n%s", out.String(), errb.String())
			case <-time.After(time.Millisecond):
			}
			if countFiles() >= files {
				killed = cmd.Process.Kill() == nil
				<-done
				return killed, out.String(), errb.String()
			}
		}
	}
	kills := 0
	for _, at := range []int{1, 1000, 2000, 2800} {
		killed, stdout, stderr := killAt(at)
		if !killed {
			t.Fatalf("the run ended before the folder held %d files:\n%s\n%s", at, stdout, stderr)
		}
		c := countFiles()
		if c >= n {
			t.Fatalf("killed at %d files, but all %d were there: the kill came too late to test anything", at, n)
		}
		kills++
		_, staged := os.Stat(stage)
		t.Logf("killed at %d files (then %d; staging folder there: %v)", at, c, staged == nil)
		for _, torn := range w.tornItems() {
			t.Errorf("torn item right after the kill at %d files: %s", at, torn)
		}
		if v := itemFiles(w.dir); v != 0 {
			t.Errorf("%d item files visible right after the kill at %d files: the first download is not complete", v, at)
		}
		ents, _ := os.ReadDir(w.dir)
		for _, en := range ents {
			if strings.HasPrefix(en.Name(), ".") && !strings.HasPrefix(en.Name(), ".vdird-") {
				t.Errorf("unexpected hidden file after the kill at %d files: %s", at, en.Name())
			}
		}
	}
	r := w.vdird(-1, 0, nil)
	if r.code != 0 {
		t.Fatalf("run after the kills failed (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if m := summaryRe.FindStringSubmatch(r.stdout); m == nil || m[3] != "0" || m[4] != "0" {
		t.Fatalf("the finishing run uploaded or deleted something:\n%s", r.stdout)
	}
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, en := range ents {
		name := en.Name()
		if name == "displayname" || name == "color" {
			continue
		}
		if _, ok := items[name]; !ok {
			t.Errorf("unexpected file in the folder: %s", name)
			continue
		}
		// Radicale re-serialises what it stores, so the bytes differ from
		// the seed; the UID and the summary must be this item's.
		b, err := os.ReadFile(filepath.Join(w.dir, name))
		uid := strings.TrimSuffix(name, ".ics")
		if info, ierr := ics.Inspect(b); err != nil || ierr != nil || info.UID != uid || !hasMarker(b, "first download "+uid) {
			t.Errorf("%s is not the server's item %s (%v %v)", name, uid, err, ierr)
		}
		got++
	}
	if got != n {
		t.Fatalf("folder holds %d of the %d items", got, n)
	}
	if _, err := os.Lstat(stage); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging folder still there after the download finished: %v", err)
	}
	if r := w.vdird(-1, 0, nil); r.code != 0 || !idle(r.stdout) {
		t.Fatalf("run after the download not idle (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
