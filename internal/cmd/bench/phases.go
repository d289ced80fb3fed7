package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vdird/vdird/internal/testserver"
)

// stage is one tool's view of a server: its account, the counter its
// requests go through and the seeded calendar.
type stage struct {
	cfg  config
	srv  *testserver.Server // as the tool's user
	ctr  counter
	cal  string // the calendar's href segment
	href string // the calendar's href
	n    int    // items in it
}

func newStage(cfg config, srv *testserver.Server, ctr counter, cal string, n int) stage {
	return stage{cfg: cfg, srv: srv, ctr: ctr, cal: cal, href: srv.HomeHref + cal + "/", n: n}
}

// log prefixes a progress line with the server and the size.
func (st stage) log(format string, a ...any) {
	st.cfg.Log("%s %d: "+format, append([]any{st.srv.Kind, st.n}, a...)...)
}

// radicaleSize runs every phase for both tools on one Radicale with n items
// per user calendar (one user per tool, identical data).
func radicaleSize(cfg config, n int, withVdirsyncer bool) (r *sizeResult, err error) {
	work := filepath.Join(cfg.Work, fmt.Sprintf("radicale-%d", n))
	users := []string{"vdird"}
	if withVdirsyncer {
		users = append(users, "vdirsyncer")
	}
	cfg.Log("radicale %d: starting, seeding %d items for %v", n, n, users)
	srv, err := testserver.Launch(testserver.Radicale, testserver.Options{Dir: filepath.Join(work, "server"), Users: users})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	defer func() { err = withOutput(err, srv) }()
	const cal = "bench"
	start := time.Now()
	if err := seedAll(srv, users, cal, n); err != nil {
		return nil, err
	}
	cfg.Log("radicale %d: seeded and warmed in %v", n, time.Since(start).Round(time.Second))
	r = &sizeResult{Server: "Radicale", N: n, Tools: map[string]map[string]measure{}, Initial: map[string][]measure{}}
	if err := vdirdSize(cfg, srv.As("vdird"), work, cal, n, r); err != nil {
		return nil, err
	}
	if !withVdirsyncer {
		return r, nil
	}
	s := srv.As("vdirsyncer")
	ctr, err := startCounter(s.URL)
	if err != nil {
		return nil, err
	}
	defer ctr.Close()
	t, err := newVdirsyncer(filepath.Join(work, s.User), through(ctr, s))
	if err != nil {
		return nil, err
	}
	if r.Tools[t.Name()], err = newStage(cfg, s, ctr, cal, n).syncPhases(t, false); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name(), err)
	}
	return r, nil
}

// seedAll seeds and warms the calendar cal of every user, all at once.
func seedAll(srv *testserver.Server, users []string, cal string, n int) error {
	errs := make(chan error, len(users))
	for _, u := range users {
		go func() {
			_, err := seed(srv.As(u), cal, "Benchmark", n)
			errs <- err
		}()
	}
	var first error
	for range users {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("seed/warm: %w", err)
		}
	}
	return first
}

// vdirdSize measures the raw limit and every vdird phase on Radicale into r:
// the server costs, the interleaved initial syncs, the later sync phases
// and the daemon. s is the server as vdird's user.
func vdirdSize(cfg config, s *testserver.Server, work, cal string, n int, r *sizeResult) error {
	ctr, err := startCounter(s.URL)
	if err != nil {
		return err
	}
	defer ctr.Close()
	st := newStage(cfg, s, ctr, cal, n)
	t, err := newVdird(cfg.Vdird, filepath.Join(work, s.User), through(ctr, s), cfg.PollInterval.String())
	if err != nil {
		return err
	}
	// The server costs first: they PUT and DELETE an item, which is a change
	// (Radicale's sync-token keeps the deleted href in its history, so the
	// token moves even though the content is back as it was); measured after
	// the initial sync, the no-change phase would not be one.
	if r.Costs, err = serverCosts(s, s.HomeHref, st.href); err != nil {
		return fmt.Errorf("server costs: %w", err)
	}
	if err := st.initialRepeats(t, work, r); err != nil {
		return err
	}
	ms, err := st.syncPhases(t, true)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Name(), err)
	}
	ms[phInitial] = summarize(r.Initial[t.Name()])
	r.Tools[t.Name()] = ms
	r.Daemon, err = st.daemonPhases(t)
	return err
}

// initialRepeats measures the raw limit and vdird's initial sync cfg.Repeat
// times each, interleaved (raw, vdird, raw, vdird, …), so that both meet the
// same filesystem conditions: on a small VM the kernel's cost of creating
// thousands of files varies several-fold from one minute to the next. The
// first vdird run syncs t, whose folder and state the later phases
// continue; the others sync the same calendar (only read on the server)
// into fresh folders and state beside it. Nothing is deleted between runs,
// since deleting thousands of files changes what creating the next ones
// costs; the work dir goes at the end. The one-fsync-per-file write, for
// scale only, runs once after the repetitions.
func (st stage) initialRepeats(t *vdirdTool, work string, r *sizeResult) error {
	cfg, user := st.cfg, st.srv.User
	for i := 1; i <= cfg.Repeat; i++ {
		st.log("raw limit (run %d of %d)", i, cfg.Repeat)
		raw, err := rawLimit(filepath.Join(work, fmt.Sprintf("raw-%d", i)), cfg.Self, st.srv, st.href)
		if err != nil {
			return err
		}
		if raw.Items != st.n {
			return fmt.Errorf("raw limit wrote %d files, want %d", raw.Items, st.n)
		}
		r.Runs = append(r.Runs, raw)
		vt := t
		if i > 1 {
			if vt, err = newVdird(cfg.Vdird, filepath.Join(work, fmt.Sprintf("%s-%d", user, i)), t.acct, cfg.PollInterval.String()); err != nil {
				return err
			}
		}
		m, err := st.timedSync(vt, fmt.Sprintf("%s (run %d of %d)", phInitial, i, cfg.Repeat))
		if err != nil {
			return fmt.Errorf("%s: %s: %w", vt.Name(), phInitial, err)
		}
		if err := st.holdsAll(vt); err != nil {
			return err
		}
		r.Initial[user] = append(r.Initial[user], m)
		st.log("run %d of %d: raw limit %.2f s, vdird %.2f s (%s)", i, cfg.Repeat,
			raw.total().Seconds(), m.Wall.Seconds(), ratio(m.Wall, raw.total()))
	}
	r.Raw, r.Bytes = r.Runs[0], r.Runs[0].Bytes
	st.log("raw write with one fsync per file")
	var err error
	r.Raw.FsyncEach, err = rawFsyncEach(filepath.Join(work, "raw-1"), cfg.Self)
	r.Runs[0] = r.Raw
	return err
}

// holdsAll checks that t's folder of the calendar holds every item.
func (st stage) holdsAll(t tool) error {
	if got := countFiles(t.CalDir(st.cal)); got != st.n {
		return fmt.Errorf("after initial sync %s holds %d files, want %d", t.CalDir(st.cal), got, st.n)
	}
	return nil
}

// timedSync runs one sync pass of t and counts its requests.
func (st stage) timedSync(t tool, label string) (measure, error) {
	st.log("%s %s", t.Name(), label)
	mark := st.ctr.mark()
	m, err := t.Sync()
	if err != nil {
		return m, err
	}
	m.Use = st.ctr.since(mark)
	st.log("%s %s: %.2f s, %d requests (%s)", t.Name(), label, m.Wall.Seconds(), m.Use.Requests, m.Use.MethodList())
	return m, nil
}

// summarize folds repeated runs of one phase into the measure the tables
// show: the median wall time; CPU, requests and bytes of the median run
// (the lower of the two middle ones for an even count); and the highest
// peak RSS of all runs, to be conservative.
func summarize(runs []measure) measure {
	if len(runs) == 0 {
		return measure{}
	}
	sorted := append([]measure(nil), runs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Wall < sorted[j].Wall })
	m := sorted[(len(sorted)-1)/2]
	for _, x := range runs {
		m.RSSKB = max(m.RSSKB, x.RSSKB)
	}
	m.Wall = median(walls(runs))
	return m
}

// syncPhases runs the four timed sync passes of one tool and checks that
// each did its job (files on disk, the change on the other side). With
// initialDone, t's initial sync has already been run and checked (vdird's,
// by initialRepeats), and only the later three phases run.
func (st stage) syncPhases(t tool, initialDone bool) (map[string]measure, error) {
	ms := map[string]measure{}
	do := func(ph string) error {
		m, err := st.timedSync(t, ph)
		if err != nil {
			return fmt.Errorf("%s: %w", ph, err)
		}
		ms[ph] = m
		return nil
	}
	if !initialDone {
		if err := do(phInitial); err != nil {
			return nil, err
		}
		if err := st.holdsAll(t); err != nil {
			return nil, err
		}
	}
	if err := do(phNoChange); err != nil {
		return nil, err
	}
	// One item changed on the server, written straight to the server.
	ri := st.n / 2
	marker := fmt.Sprintf("changed on the server %d", time.Now().UnixNano())
	if _, err := expect(st.srv, "PUT", st.href+itemName(ri), nil, string(event(itemUID(ri), ri, marker)), http.StatusCreated); err != nil {
		return nil, fmt.Errorf("remote change: %w", err)
	}
	if err := do(phRemote1); err != nil {
		return nil, err
	}
	if p, b, err := findItem(t.CalDir(st.cal), itemUID(ri)); err != nil || !strings.Contains(string(b), marker) {
		return nil, fmt.Errorf("after the remote change the local file %s lacks it (%v)", p, err)
	}
	// One item changed locally (atomic replace, as an editor saves).
	li := st.n / 3
	if li == ri {
		li = (ri + 1) % st.n
	}
	marker = fmt.Sprintf("changed locally %d", time.Now().UnixNano())
	rename, err := localEdit(t.CalDir(st.cal), itemUID(li), marker, ".bench-local.tmp")
	if err == nil {
		err = rename()
	}
	if err != nil {
		return nil, err
	}
	if err := do(phLocal1); err != nil {
		return nil, err
	}
	if b, err := expect(st.srv, "GET", st.href+itemName(li), nil, "", http.StatusOK); err != nil || !strings.Contains(string(b), marker) {
		return nil, fmt.Errorf("after the local change the server lacks it (%v)", err)
	}
	return ms, nil
}

// localEdit prepares an edit of the item with uid in dir as an editor
// saves it: a temp file with the new SUMMARY, and the returned rename that
// puts it in place of the item.
func localEdit(dir, uid, summary, tmpName string) (rename func() error, err error) {
	p, old, err := findItem(dir, uid)
	if err != nil {
		return nil, err
	}
	nb := replaceSummary(old, summary)
	if bytes.Equal(nb, old) {
		return nil, fmt.Errorf("no SUMMARY in %s", p)
	}
	tmp := filepath.Join(dir, tmpName)
	if err := os.WriteFile(tmp, nb, 0o600); err != nil {
		return nil, err
	}
	return func() error { return os.Rename(tmp, p) }, nil
}

// daemonPhases starts "vdird daemon" on the synced state: start-up
// reconcile, poll cycles while idle, then local edit → server latency.
func (st stage) daemonPhases(t *vdirdTool) (*daemonResult, error) {
	st.log("vdird daemon")
	mark := st.ctr.mark()
	d, err := startDaemon(t, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	dr := &daemonResult{Ready: d.Ready, ReadyUse: st.ctr.since(mark)}
	mark = st.ctr.mark()
	time.Sleep(st.cfg.PollWindow)
	dr.Poll = pollCycles(st.ctr.records(mark))
	dr.PeakRSSKB = d.peakRSSKB()
	if err := d.stop(); err != nil {
		return nil, err
	}
	st.log("daemon poll: %d cycles, %.1f requests each", dr.Poll.Cycles, dr.Poll.Requests)
	// Edits run under the default 60 s interval, as a user's daemon would:
	// the short interval above would put a poll pass in front of many edits.
	if err := t.setInterval("60s"); err != nil {
		return nil, err
	}
	// At info level the daemon says what each pass did: when an edit does
	// not arrive, its output and the requests tell why.
	if d, err = startDaemon(t, 10*time.Minute, "--log-level", "info"); err != nil {
		return nil, err
	}
	st.log("%d edits", st.cfg.Edits)
	mark = st.ctr.mark()
	dr.Latencies, err = editLatency(st.srv, st.ctr, st.href, t.CalDir(st.cal), st.cfg.Edits, st.n)
	for _, rec := range st.ctr.records(mark) {
		if rec.Method == "PUT" {
			dr.PutTimes = append(dr.PutTimes, rec.End.Sub(rec.Start))
		}
	}
	slices.Sort(dr.PutTimes)
	dr.EditUse = st.ctr.since(mark)
	dr.PeakRSSKB = max(dr.PeakRSSKB, d.peakRSSKB())
	serr := d.stop()
	if err != nil {
		// The output is complete only once the daemon has exited.
		return nil, fmt.Errorf("%w\nrequests during the edits (last 30):\n%s\ndaemon output (tail):\n%s",
			err, requestLog(st.ctr.records(mark), 30), tail(d.out.String(), 6000))
	}
	if serr != nil {
		return nil, serr
	}
	st.log("edit latency p50 %v p95 %v", percentile(dr.Latencies, .5), percentile(dr.Latencies, .95))
	return dr, nil
}

// idleCPU runs the daemon on IdleCals small calendars at IdleInterval and
// reads its CPU ticks over IdleWindow after READY.
func idleCPU(cfg config) (dr *daemonResult, err error) {
	work := filepath.Join(cfg.Work, "idle")
	srv, err := testserver.Launch(testserver.Radicale, testserver.Options{Dir: filepath.Join(work, "server"), Users: []string{"idle"}})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	defer func() { err = withOutput(err, srv) }()
	for c := 0; c < cfg.IdleCals; c++ {
		if _, err := seed(srv, fmt.Sprintf("cal%02d", c), fmt.Sprintf("Calendar %d", c), 20); err != nil {
			return nil, err
		}
	}
	ctr, err := startCounter(srv.URL)
	if err != nil {
		return nil, err
	}
	defer ctr.Close()
	t, err := newVdird(cfg.Vdird, work, through(ctr, srv), cfg.IdleInterval.String())
	if err != nil {
		return nil, err
	}
	d, err := startDaemon(t, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	if got := countFiles(t.root); got != 20*cfg.IdleCals {
		_ = d.stop()
		return nil, fmt.Errorf("idle daemon synced %d files, want %d", got, 20*cfg.IdleCals)
	}
	time.Sleep(2 * time.Second) // let start-up work settle
	mark := ctr.mark()
	t0, err := d.cpuTicks()
	if err != nil {
		_ = d.stop()
		return nil, err
	}
	start := time.Now()
	time.Sleep(cfg.IdleWindow)
	t1, err := d.cpuTicks()
	window := time.Since(start)
	rss := d.peakRSSKB()
	if serr := d.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	const clkTck = 100 // USER_HZ on Linux
	dr = &daemonResult{
		IdleCPU:    float64(t1-t0) / clkTck / window.Seconds() * 100,
		IdleWindow: window, IdleCals: cfg.IdleCals, IdleUse: ctr.since(mark), IdleRSSKB: rss,
		Ready: d.Ready,
	}
	cfg.Log("idle: %.3f%% CPU over %v, %d requests", dr.IdleCPU, window.Round(time.Second), dr.IdleUse.Requests)
	return dr, nil
}

// xandikosSize compares initial and no-change sync on Xandikos, one fresh
// server per tool, seeded identically.
func xandikosSize(cfg config, n int, withVdirsyncer bool) (*sizeResult, error) {
	work := filepath.Join(cfg.Work, fmt.Sprintf("xandikos-%d", n))
	r := &sizeResult{Server: "Xandikos", N: n, Tools: map[string]map[string]measure{}}
	names := []string{"raw", "vdird"}
	if withVdirsyncer {
		names = append(names, "vdirsyncer")
	}
	for _, name := range names {
		dir := filepath.Join(work, name)
		cfg.Log("xandikos %d: seeding for %s", n, name)
		err := onXandikos(dir, n, func(srv *testserver.Server, href string) error {
			if name == "raw" {
				return xandikosRaw(cfg, srv, href, dir, n, r)
			}
			var err error
			r.Tools[name], err = xandikosTool(cfg, srv, name, dir, n)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// onXandikos runs fn on a fresh Xandikos with its storage in dir/store and
// a calendar "bench" of n items, seeded and warmed.
func onXandikos(dir string, n int, fn func(srv *testserver.Server, href string) error) (err error) {
	srv, err := testserver.Launch(testserver.Xandikos, testserver.Options{Dir: filepath.Join(dir, "store")})
	if err != nil {
		return err
	}
	defer srv.Stop()
	defer func() { err = withOutput(err, srv) }()
	href, err := seed(srv, "bench", "bench", n)
	if err != nil {
		return err
	}
	return fn(srv, href)
}

// xandikosRaw measures the raw limit and the server costs on Xandikos into r.
func xandikosRaw(cfg config, srv *testserver.Server, href, work string, n int, r *sizeResult) error {
	raw, err := rawLimit(work, cfg.Self, srv, href)
	if err == nil {
		raw.FsyncEach, err = rawFsyncEach(work, cfg.Self)
	}
	if err == nil {
		r.Costs, err = serverCosts(srv, srv.HomeHref, href)
	}
	if err != nil {
		return err
	}
	if raw.Items != n {
		return fmt.Errorf("raw limit wrote %d files, want %d", raw.Items, n)
	}
	r.Raw, r.Bytes, r.Runs = raw, raw.Bytes, []rawResult{raw}
	return nil
}

// xandikosTool times the initial and the no-change sync of one tool on
// Xandikos.
func xandikosTool(cfg config, srv *testserver.Server, name, dir string, n int) (map[string]measure, error) {
	ctr, err := startCounter(srv.URL)
	if err != nil {
		return nil, err
	}
	defer ctr.Close()
	var t tool
	if name == "vdird" {
		t, err = newVdird(cfg.Vdird, dir, through(ctr, srv), "60s")
	} else {
		t, err = newVdirsyncer(dir, through(ctr, srv))
	}
	if err != nil {
		return nil, err
	}
	st := newStage(cfg, srv, ctr, "bench", n)
	ms := map[string]measure{}
	for _, ph := range []string{phInitial, phNoChange} {
		if ms[ph], err = st.timedSync(t, ph); err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, ph, err)
		}
	}
	if err := st.holdsAll(t); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ms, nil
}
