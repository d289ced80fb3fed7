// Command bench measures vdird against vdirsyncer and against the raw limit
// (one calendar-query REPORT with curl plus writing the files with one
// batched durable flush) on real Radicale and Xandikos servers on loopback.
//
// It is run by scripts/bench.sh, which builds vdird and this program; see
// docs/performance.md for what each number means and the latest results.
// Servers are started and seeded by internal/testserver; every client talks
// to its server through an internal/faultproxy proxy with no rules, which
// counts requests and bytes the same way for all of them; wall time,
// user+sys CPU and peak RSS come from /usr/bin/time -v.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
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
	VdirsyncerMax int  // sizes above it skip vdirsyncer (far too slow at the largest size)
	NoVdirsyncer  bool // skip vdirsyncer entirely
	Contacts      int  // contacts in the address book comparison; 0 skips it
	PhotoCards    int  // cards of the photo set (vdird's peak memory); 0 skips it
	PhotoBytes    int  // size of each of them
	ContactsOnly  bool // run the address book part only
	Log           func(format string, a ...any)
}

func main() {
	if os.Getenv(helperEnv) == "rawwrite" {
		os.Exit(rawWriteMain(os.Args[1:]))
	}
	cfg, out := parseFlags()
	if err := bench(cfg, out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench runs the benchmark, prints its table and, if out is not empty,
// writes the report there.
func bench(cfg config, out string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Self = self
	if cfg.Work == "" {
		if cfg.Work, err = os.MkdirTemp("", "vdird-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(cfg.Work)
	}
	cfg.Log = func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	res, err := run(context.Background(), cfg)
	if err != nil {
		return err
	}
	fmt.Println(res.table())
	if out == "" {
		return nil
	}
	if err := writeReport(out, res.markdown(cfg, shownArgs(os.Args[1:]))); err != nil {
		return err
	}
	cfg.Log("wrote %s", out)
	return nil
}

// usageError ends the program on a bad command line.
func usageError(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
	os.Exit(2)
}

// parseFlags reads the command line into a config (without Self, Work's
// default and Log) and the report path.
func parseFlags() (cfg config, out string) {
	var (
		sizes string
		big   bool
		quick bool
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
	flag.IntVar(&cfg.Contacts, "contacts", 10000, "contacts in the Radicale address book comparison (0: skip)")
	flag.IntVar(&cfg.PhotoCards, "photo-cards", 500, "cards with a big photo whose first sync's peak memory is measured (0: skip)")
	flag.IntVar(&cfg.PhotoBytes, "photo-bytes", 1<<20, "size of each photo card")
	flag.BoolVar(&cfg.ContactsOnly, "contacts-only", false, "run only the address book part (no --out: the report would lack the calendars)")
	flag.StringVar(&out, "out", "", "write the Markdown report here (e.g. docs/performance.md)")
	flag.Parse()
	if cfg.Vdird == "" {
		usageError("--vdird is required (scripts/bench.sh builds it)")
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			usageError("bad size %q", s)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	if cfg.Repeat < 1 {
		usageError("--repeat %d: want at least 1", cfg.Repeat)
	}
	if cfg.ContactsOnly && out != "" {
		usageError("--contacts-only with --out would write a report without the calendars")
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
	return cfg, out
}

// writeReport writes the Markdown report to path, keeping the hand-written
// analysis below keepMarker of the file it replaces.
func writeReport(path, report string) error {
	if old, err := os.ReadFile(path); err == nil {
		if i := strings.Index(string(old), keepMarker); i >= 0 {
			report += "\n" + string(old[i:])
		}
	}
	return os.WriteFile(path, []byte(report), 0o644)
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
	Contacts *contactsResult
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
	if cfg.ContactsOnly {
		var err error
		res.Contacts, err = contactsBench(cfg, cfg.Contacts, useVdirsyncer, cfg.PhotoCards, cfg.PhotoBytes)
		res.Elapsed = time.Since(res.Start)
		return res, err
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
	if cfg.Contacts > 0 || cfg.PhotoCards > 0 {
		r, err := contactsBench(cfg, cfg.Contacts, useVdirsyncer && cfg.Contacts <= cfg.VdirsyncerMax, cfg.PhotoCards, cfg.PhotoBytes)
		if err != nil {
			<-idleDone
			return nil, fmt.Errorf("address books: %w", err)
		}
		res.Contacts = r
	}
	cfg.Log("waiting for the idle CPU measurement to end")
	if err := <-idleDone; err != nil {
		return nil, fmt.Errorf("idle CPU: %w", err)
	}
	res.Elapsed = time.Since(res.Start)
	return res, nil
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
