// Command bench measures vdird against vdirsyncer and against the raw limit
// (one calendar-query REPORT with curl plus writing the files with one
// batched durable flush) on real Radicale and Xandikos servers on loopback.
//
// It is run by scripts/bench.sh, which builds vdird and this program; see
// docs/performance.md for what each number means and the latest results.
// Every client talks to the server through a counting reverse proxy, so
// requests and bytes are measured the same way for all of them; wall time,
// user+sys CPU and peak RSS come from /usr/bin/time -v.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// config is one benchmark run.
type config struct {
	Vdird         string // vdird binary
	Self          string // this binary (for the rawwrite helper)
	Work          string // scratch directory
	Sizes         []int
	Repeat        int // runs of the raw limit and of vdird's initial sync per Radicale size, interleaved
	XandikosN     int // items for the Xandikos comparison; 0 skips it
	Edits         int // local edits timed through the daemon
	IdleWindow    time.Duration
	IdleCals      int
	IdleInterval  time.Duration
	PollInterval  time.Duration // daemon interval while poll cycles are measured
	PollWindow    time.Duration
	VdirsyncerMax int  // sizes above it skip vdirsyncer (it takes hours at 100k)
	NoVdirsyncer  bool // skip vdirsyncer entirely
	Log           func(format string, a ...any)
}

func main() {
	if os.Getenv(helperEnv) == "rawwrite" {
		os.Exit(rawWriteMain(os.Args[1:]))
	}
	var (
		cfg   config
		sizes string
		big   bool
		quick bool
		out   string
	)
	flag.StringVar(&cfg.Vdird, "vdird", "", "vdird binary (required)")
	flag.StringVar(&cfg.Work, "work", "", "scratch directory (default: a new temp dir, removed at the end)")
	flag.StringVar(&sizes, "sizes", "1000,10000", "comma-separated calendar sizes for Radicale")
	flag.BoolVar(&big, "big", false, "add 100000 items to --sizes")
	flag.BoolVar(&quick, "quick", false, "idle CPU over 70 s instead of 5 minutes")
	flag.IntVar(&cfg.Repeat, "repeat", 3, "measure the raw limit and vdird's initial sync this many times each per Radicale size, interleaved; the report shows the median and range")
	flag.IntVar(&cfg.XandikosN, "xandikos", 1000, "items for the Xandikos initial-sync comparison (0: skip)")
	flag.IntVar(&cfg.Edits, "edits", 50, "local edits timed through the daemon")
	flag.IntVar(&cfg.IdleCals, "idle-calendars", 20, "calendars for the idle CPU measurement")
	flag.DurationVar(&cfg.IdleInterval, "idle-interval", 60*time.Second, "daemon poll interval for the idle CPU measurement")
	flag.IntVar(&cfg.VdirsyncerMax, "vdirsyncer-max", 10000, "skip vdirsyncer for sizes above this")
	flag.BoolVar(&cfg.NoVdirsyncer, "no-vdirsyncer", false, "do not run vdirsyncer at all")
	flag.StringVar(&out, "out", "", "write the Markdown report here (e.g. docs/performance.md)")
	flag.Parse()
	if cfg.Vdird == "" {
		fmt.Fprintln(os.Stderr, "bench: --vdird is required (scripts/bench.sh builds it)")
		os.Exit(2)
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: bad size %q\n", s)
			os.Exit(2)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	if cfg.Repeat < 1 {
		fmt.Fprintf(os.Stderr, "bench: --repeat %d: want at least 1\n", cfg.Repeat)
		os.Exit(2)
	}
	if big {
		cfg.Sizes = append(cfg.Sizes, 100000)
	}
	cfg.IdleWindow = 5 * time.Minute
	if quick {
		// 70 s rather than 60: a poll every 60 s ± 10% always lands inside.
		cfg.IdleWindow = 70 * time.Second
	}
	cfg.PollInterval, cfg.PollWindow = 5*time.Second, 11*time.Second
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	cfg.Self = self
	keep := cfg.Work
	if cfg.Work == "" {
		cfg.Work, err = os.MkdirTemp("", "vdird-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(cfg.Work)
	}
	cfg.Log = func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	res, err := run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		// The work folder goes with the run: show what the servers said.
		for _, p := range serverLogs(cfg.Work) {
			fmt.Fprintf(os.Stderr, "==> last lines of %s\n%s", p, lastLines(p, 40))
		}
		if keep == "" {
			os.RemoveAll(cfg.Work)
		}
		os.Exit(1)
	}
	report := res.markdown(cfg, shownArgs(os.Args[1:]))
	fmt.Println(res.table())
	if out != "" {
		// Hand-written analysis below the marker survives a re-run.
		if old, err := os.ReadFile(out); err == nil {
			if i := strings.Index(string(old), keepMarker); i >= 0 {
				report += "\n" + string(old[i:])
			}
		}
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		cfg.Log("wrote %s", out)
	}
}

// keepMarker starts the hand-written part of the report that a re-run keeps.
const keepMarker = "<!-- Written by hand; scripts/bench.sh keeps everything below this line. -->"

// Phase names, in the order they run.
const (
	phInitial  = "initial sync"
	phNoChange = "no-change sync"
	phRemote1  = "1 changed on server"
	phLocal1   = "1 changed locally"
)

var phases = []string{phInitial, phNoChange, phRemote1, phLocal1}

// sizeResult holds everything measured on one server at one size.
type sizeResult struct {
	Server string
	N      int
	Bytes  int64       // calendar-query with all data
	Raw    rawResult   // the first raw-limit run, with the one fsync-per-file write
	Runs   []rawResult // every raw-limit run (Raw first): --repeat on Radicale, one on Xandikos
	Costs  []serverCost
	// Tools holds one measure per tool and phase. Where a phase ran more
	// than once (vdird's initial sync on Radicale) it is their summary:
	// see summarize.
	Tools map[string]map[string]measure // tool → phase → measure
	// Initial holds every run of a repeated initial sync; the first is the
	// one whose folder and state the later phases continue.
	Initial map[string][]measure // tool → runs
	Daemon  *daemonResult
}

type daemonResult struct {
	Ready       time.Duration // start → READY (first reconcile, state already synced)
	ReadyUse    usage
	Poll        pollCycle
	Latencies   []time.Duration
	PutTimes    []time.Duration // server time of the PUTs during the edits, sorted
	EditUse     usage
	PeakRSSKB   int64
	IdleCPU     float64 // percent of one core
	IdleWindow  time.Duration
	IdleCals    int
	IdleUse     usage
	IdleRSSKB   int64
	IdleSkipped bool
}

type results struct {
	Repeat   int // cfg.Repeat
	Start    time.Time
	Elapsed  time.Duration
	Sizes    []*sizeResult
	Xandikos *sizeResult
	Idle     *daemonResult
	Versions map[string]string
}

func run(ctx context.Context, cfg config) (*results, error) {
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if cfg.Repeat < 1 {
		cfg.Repeat = 1
	}
	res := &results{Repeat: cfg.Repeat, Start: time.Now(), Versions: versions(cfg)}
	useVdirsyncer := !cfg.NoVdirsyncer
	if useVdirsyncer {
		if _, err := exec.LookPath("vdirsyncer"); err != nil {
			return nil, errors.New("vdirsyncer not installed (apt-get install vdirsyncer), or pass --no-vdirsyncer")
		}
	}
	// Idle CPU runs beside everything else: it measures only the daemon's own
	// CPU ticks, and its server sees one request a minute.
	idleDone := make(chan error, 1)
	go func() {
		var err error
		res.Idle, err = idleCPU(cfg)
		idleDone <- err
	}()
	for _, n := range cfg.Sizes {
		r, err := radicaleSize(cfg, n, useVdirsyncer && n <= cfg.VdirsyncerMax)
		if err != nil {
			<-idleDone
			return nil, fmt.Errorf("radicale %d items: %w", n, err)
		}
		res.Sizes = append(res.Sizes, r)
	}
	if cfg.XandikosN > 0 {
		r, err := xandikosSize(cfg, cfg.XandikosN, useVdirsyncer)
		if err != nil {
			<-idleDone
			return nil, fmt.Errorf("xandikos %d items: %w", cfg.XandikosN, err)
		}
		res.Xandikos = r
	}
	cfg.Log("waiting for the idle CPU measurement to end")
	if err := <-idleDone; err != nil {
		return nil, fmt.Errorf("idle CPU: %w", err)
	}
	res.Elapsed = time.Since(res.Start)
	return res, nil
}

// radicaleSize runs every phase for both tools on one Radicale with n items
// per user calendar (one user per tool, identical data).
func radicaleSize(cfg config, n int, withVdirsyncer bool) (*sizeResult, error) {
	work := filepath.Join(cfg.Work, fmt.Sprintf("radicale-%d", n))
	users := []string{"vdird"}
	if withVdirsyncer {
		users = append(users, "vdirsyncer")
	}
	cfg.Log("radicale %d: starting, seeding %d items for %v", n, n, users)
	srv, err := startRadicale(filepath.Join(work, "server"), users)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	const cal = "bench"
	errs := make(chan error, len(users))
	for _, u := range users {
		go func(u string) {
			if err := seedRadicale(srv, u, cal, "Benchmark", n); err != nil {
				errs <- err
				return
			}
			errs <- srv.warm(u, "/"+u+"/"+cal+"/")
		}(u)
	}
	start := time.Now()
	for range users {
		if err := <-errs; err != nil {
			return nil, fmt.Errorf("seed/warm: %w", err)
		}
	}
	cfg.Log("radicale %d: seeded and warmed in %v", n, time.Since(start).Round(time.Second))
	r := &sizeResult{Server: "Radicale", N: n, Tools: map[string]map[string]measure{}, Initial: map[string][]measure{}}
	if err := vdirdSize(cfg, srv, work, cal, n, r); err != nil {
		return nil, err
	}
	if !withVdirsyncer {
		return r, nil
	}
	const u = "vdirsyncer"
	ctr, err := startCounter(srv.URL)
	if err != nil {
		return nil, err
	}
	defer ctr.close()
	dir := filepath.Join(work, u)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	t, err := newVdirsyncer(dir, ctr.URL, u)
	if err != nil {
		return nil, err
	}
	ms, err := syncPhases(cfg, srv, ctr, t, u, cal, n, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name(), err)
	}
	r.Tools[t.Name()] = ms
	return r, nil
}

// vdirdSize measures the raw limit and every vdird phase on Radicale into r:
// the server costs, the interleaved initial syncs, the later sync phases
// and the daemon.
func vdirdSize(cfg config, srv *server, work, cal string, n int, r *sizeResult) error {
	const u = "vdird"
	ctr, err := startCounter(srv.URL)
	if err != nil {
		return err
	}
	defer ctr.close()
	t, err := newVdird(cfg.Vdird, filepath.Join(work, u), ctr.URL, u, cfg.PollInterval.String())
	if err != nil {
		return err
	}
	// The server costs first: they PUT and DELETE an item, which is a change
	// (Radicale's sync-token keeps the deleted href in its history, so the
	// token moves even though the content is back as it was); measured after
	// the initial sync, the no-change phase would not be one.
	if r.Costs, err = serverCosts(srv, u, "/"+u+"/", "/"+u+"/"+cal+"/"); err != nil {
		return fmt.Errorf("server costs: %w", err)
	}
	if err := initialRepeats(cfg, srv, ctr, t, work, u, cal, n, r); err != nil {
		return err
	}
	ms, err := syncPhases(cfg, srv, ctr, t, u, cal, n, true)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Name(), err)
	}
	ms[phInitial] = summarize(r.Initial[u])
	r.Tools[t.Name()] = ms
	r.Daemon, err = daemonPhases(cfg, srv, ctr, t, u, cal, n)
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
func initialRepeats(cfg config, srv *server, ctr *counter, t *vdirdTool, work, user, cal string, n int, r *sizeResult) error {
	calHref := "/" + user + "/" + cal + "/"
	for i := 1; i <= cfg.Repeat; i++ {
		cfg.Log("%s %d: raw limit (run %d of %d)", srv.Kind, n, i, cfg.Repeat)
		raw, err := rawLimit(filepath.Join(work, fmt.Sprintf("raw-%d", i)), cfg.Self, srv, user, calHref)
		if err != nil {
			return err
		}
		if raw.Items != n {
			return fmt.Errorf("raw limit wrote %d files, want %d", raw.Items, n)
		}
		r.Runs = append(r.Runs, raw)
		vt := t
		if i > 1 {
			if vt, err = newVdird(cfg.Vdird, filepath.Join(work, fmt.Sprintf("%s-%d", user, i)), ctr.URL, user, cfg.PollInterval.String()); err != nil {
				return err
			}
		}
		m, err := timedSync(cfg, srv, ctr, vt, n, fmt.Sprintf("%s (run %d of %d)", phInitial, i, cfg.Repeat))
		if err != nil {
			return fmt.Errorf("%s: %s: %w", vt.Name(), phInitial, err)
		}
		if got := countFiles(vt.CalDir(cal)); got != n {
			return fmt.Errorf("after initial sync %s holds %d files, want %d", vt.CalDir(cal), got, n)
		}
		r.Initial[user] = append(r.Initial[user], m)
		cfg.Log("%s %d: run %d of %d: raw limit %.2f s, vdird %.2f s (%s)", srv.Kind, n, i, cfg.Repeat,
			raw.total().Seconds(), m.Wall.Seconds(), ratio(m.Wall, raw.total()))
	}
	r.Raw, r.Bytes = r.Runs[0], r.Runs[0].Bytes
	cfg.Log("%s %d: raw write with one fsync per file", srv.Kind, n)
	var err error
	r.Raw.FsyncEach, err = rawFsyncEach(filepath.Join(work, "raw-1"), cfg.Self)
	r.Runs[0] = r.Raw
	return err
}

// timedSync runs one sync pass of t and counts its requests.
func timedSync(cfg config, srv *server, ctr *counter, t tool, n int, label string) (measure, error) {
	cfg.Log("%s %d: %s %s", srv.Kind, n, t.Name(), label)
	mark := ctr.mark()
	m, err := t.Sync()
	if err != nil {
		return m, err
	}
	m.Use = ctr.since(mark)
	cfg.Log("%s %d: %s %s: %.2f s, %d requests (%s)", srv.Kind, n, t.Name(), label, m.Wall.Seconds(), m.Use.Requests, m.Use.MethodList())
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
func syncPhases(cfg config, srv *server, ctr *counter, t tool, user, cal string, n int, initialDone bool) (map[string]measure, error) {
	ms := map[string]measure{}
	calHref := "/" + user + "/" + cal + "/"
	do := func(ph string) error {
		m, err := timedSync(cfg, srv, ctr, t, n, ph)
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
		if got := countFiles(t.CalDir(cal)); got != n {
			return nil, fmt.Errorf("after initial sync %s holds %d files, want %d", t.CalDir(cal), got, n)
		}
	}
	if err := do(phNoChange); err != nil {
		return nil, err
	}
	// One item changed on the server, written straight to the server.
	ri := n / 2
	marker := fmt.Sprintf("changed on the server %d", time.Now().UnixNano())
	code, _, err := srv.do(context.Background(), user, "PUT", calHref+itemName(ri), nil, string(event(itemUID(ri), ri, marker)))
	if err != nil || code/100 != 2 {
		return nil, fmt.Errorf("PUT remote change: %d %v", code, err)
	}
	if err := do(phRemote1); err != nil {
		return nil, err
	}
	if p, b, err := findItem(t.CalDir(cal), itemUID(ri)); err != nil || !strings.Contains(string(b), marker) {
		return nil, fmt.Errorf("after the remote change the local file %s lacks it (%v)", p, err)
	}
	// One item changed locally (atomic replace, as an editor saves).
	li := n / 3
	if li == ri {
		li = (ri + 1) % n
	}
	p, old, err := findItem(t.CalDir(cal), itemUID(li))
	if err != nil {
		return nil, err
	}
	marker = fmt.Sprintf("changed locally %d", time.Now().UnixNano())
	tmp := filepath.Join(t.CalDir(cal), ".bench-local.tmp")
	if err := os.WriteFile(tmp, replaceSummary(old, marker), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, p); err != nil {
		return nil, err
	}
	if err := do(phLocal1); err != nil {
		return nil, err
	}
	if code, b, err := srv.do(context.Background(), user, "GET", calHref+itemName(li), nil, ""); err != nil || code != 200 || !strings.Contains(string(b), marker) {
		return nil, fmt.Errorf("after the local change the server lacks it (%d %v)", code, err)
	}
	return ms, nil
}

// daemonPhases starts "vdird daemon" on the synced state: start-up
// reconcile, poll cycles while idle, then local edit → server latency.
func daemonPhases(cfg config, srv *server, ctr *counter, t *vdirdTool, user, cal string, n int) (*daemonResult, error) {
	cfg.Log("%s %d: vdird daemon", srv.Kind, n)
	mark := ctr.mark()
	d, err := startDaemon(t, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	dr := &daemonResult{Ready: d.Ready, ReadyUse: ctr.since(mark)}
	mark = ctr.mark()
	time.Sleep(cfg.PollWindow)
	dr.Poll = pollCycles(ctr.records(mark))
	dr.PeakRSSKB = d.peakRSSKB()
	if err := d.stop(); err != nil {
		return nil, err
	}
	cfg.Log("%s %d: daemon poll: %d cycles, %.1f requests each", srv.Kind, n, dr.Poll.Cycles, dr.Poll.Requests)
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
	cfg.Log("%s %d: %d edits", srv.Kind, n, cfg.Edits)
	mark = ctr.mark()
	dr.Latencies, err = editLatency(srv, ctr, user, "/"+user+"/"+cal+"/", t.CalDir(cal), cfg.Edits, n)
	for _, rec := range ctr.records(mark) {
		if rec.Method == "PUT" {
			dr.PutTimes = append(dr.PutTimes, rec.End.Sub(rec.Start))
		}
	}
	sort.Slice(dr.PutTimes, func(i, j int) bool { return dr.PutTimes[i] < dr.PutTimes[j] })
	dr.EditUse = ctr.since(mark)
	if rss := d.peakRSSKB(); rss > dr.PeakRSSKB {
		dr.PeakRSSKB = rss
	}
	serr := d.stop()
	if err != nil {
		// The output is complete only once the daemon has exited.
		return nil, fmt.Errorf("%w\nrequests during the edits (last 30):\n%s\ndaemon output (tail):\n%s",
			err, requestLog(ctr.records(mark), 30), tail(d.out.String(), 6000))
	}
	if serr != nil {
		return nil, serr
	}
	cfg.Log("%s %d: edit latency p50 %v p95 %v", srv.Kind, n, percentile(dr.Latencies, .5), percentile(dr.Latencies, .95))
	return dr, nil
}

// idleCPU runs the daemon on IdleCals small calendars at IdleInterval and
// reads its CPU ticks over IdleWindow after READY.
func idleCPU(cfg config) (*daemonResult, error) {
	work := filepath.Join(cfg.Work, "idle")
	srv, err := startRadicale(filepath.Join(work, "server"), []string{"idle"})
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	for c := 0; c < cfg.IdleCals; c++ {
		cal := fmt.Sprintf("cal%02d", c)
		if err := seedRadicale(srv, "idle", cal, "Calendar "+strconv.Itoa(c), 20); err != nil {
			return nil, err
		}
		if err := srv.warm("idle", "/idle/"+cal+"/"); err != nil {
			return nil, err
		}
	}
	ctr, err := startCounter(srv.URL)
	if err != nil {
		return nil, err
	}
	defer ctr.close()
	t, err := newVdird(cfg.Vdird, work, ctr.URL, "idle", cfg.IdleInterval.String())
	if err != nil {
		return nil, err
	}
	d, err := startDaemon(t, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	if got := countFiles(t.root); got != 20*cfg.IdleCals {
		d.stop()
		return nil, fmt.Errorf("idle daemon synced %d files, want %d", got, 20*cfg.IdleCals)
	}
	time.Sleep(2 * time.Second) // let start-up work settle
	mark := ctr.mark()
	t0, err := d.cpuTicks()
	if err != nil {
		d.stop()
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
	dr := &daemonResult{
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
	const cal = "bench"
	r := &sizeResult{Server: "Xandikos", N: n, Tools: map[string]map[string]measure{}}
	names := []string{"raw", "vdird"}
	if withVdirsyncer {
		names = append(names, "vdirsyncer")
	}
	for _, name := range names {
		store := filepath.Join(work, name, "store")
		cfg.Log("xandikos %d: seeding for %s", n, name)
		if err := seedXandikos(store, cal, n); err != nil {
			return nil, err
		}
		srv, err := startXandikos(store)
		if err != nil {
			return nil, err
		}
		calHref := "/user/calendars/" + cal + "/"
		if err := srv.warm("user", calHref); err != nil {
			srv.stop()
			return nil, err
		}
		if name == "raw" {
			r.Raw, err = rawLimit(filepath.Join(work, "raw"), cfg.Self, srv, "user", calHref)
			if err == nil {
				r.Raw.FsyncEach, err = rawFsyncEach(filepath.Join(work, "raw"), cfg.Self)
			}
			if err == nil {
				r.Costs, err = serverCosts(srv, "user", "/user/calendars/", calHref)
			}
			srv.stop()
			if err != nil {
				return nil, err
			}
			if r.Raw.Items != n {
				return nil, fmt.Errorf("raw limit wrote %d files, want %d", r.Raw.Items, n)
			}
			r.Bytes, r.Runs = r.Raw.Bytes, []rawResult{r.Raw}
			continue
		}
		ctr, err := startCounter(srv.URL)
		if err != nil {
			srv.stop()
			return nil, err
		}
		dir := filepath.Join(work, name)
		var t tool
		if name == "vdird" {
			t, err = newVdird(cfg.Vdird, dir, ctr.URL, "user", "60s")
		} else {
			t, err = newVdirsyncer(dir, ctr.URL, "user")
		}
		if err == nil {
			ms := map[string]measure{}
			for _, ph := range []string{phInitial, phNoChange} {
				cfg.Log("xandikos %d: %s %s", n, name, ph)
				mark := ctr.mark()
				var m measure
				m, err = t.Sync()
				if err != nil {
					err = fmt.Errorf("%s %s: %w", name, ph, err)
					break
				}
				m.Use = ctr.since(mark)
				ms[ph] = m
				cfg.Log("xandikos %d: %s %s: %.2f s, %d requests (%s)", n, name, ph, m.Wall.Seconds(), m.Use.Requests, m.Use.MethodList())
			}
			if err == nil {
				if got := countFiles(t.CalDir(cal)); got != n {
					err = fmt.Errorf("%s: %s holds %d files after sync, want %d", name, t.CalDir(cal), got, n)
				}
			}
			r.Tools[name] = ms
		}
		ctr.close()
		srv.stop()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func versions(cfg config) map[string]string {
	v := map[string]string{}
	get := func(key string, argv ...string) {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			v[key] = "?"
			return
		}
		v[key] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	get("vdird", cfg.Vdird, "version")
	get("vdirsyncer", "vdirsyncer", "--version")
	get("radicale", "radicale", "--version")
	get("xandikos", "xandikos", "--version")
	get("go", "go", "version")
	get("commit", "git", "describe", "--always", "--dirty")
	get("kernel", "uname", "-sr")
	return v
}

// shownArgs are the flags as a user would type them to scripts/bench.sh
// (which adds --vdird itself).
func shownArgs(args []string) string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--vdird" || a == "-vdird":
			i++
		case strings.HasPrefix(a, "--vdird=") || strings.HasPrefix(a, "-vdird="):
		default:
			out = append(out, a)
		}
	}
	return strings.Join(out, " ")
}

// serverLogs returns the log files of the servers started under work
// (Radicale's and Xandikos's), without walking the item folders.
func serverLogs(work string) []string {
	var out []string
	for _, pat := range []string{"*/server/radicale.log", "xandikos-*/*/store.log"} {
		m, _ := filepath.Glob(filepath.Join(work, pat))
		out = append(out, m...)
	}
	return out
}

// lastLines returns the last n lines of the file at path (or why not).
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}
