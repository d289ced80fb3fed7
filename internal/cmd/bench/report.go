package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

func secs(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return fmt.Sprintf(secsFormat(d)+" s", d.Seconds())
}

// secsFormat is the precision secs gives d.
func secsFormat(d time.Duration) string {
	switch s := d.Seconds(); {
	case s < 0.1:
		return "%.3f"
	case s < 10:
		return "%.2f"
	default:
		return "%.1f"
	}
}

// median of ds (the mean of the two middle ones for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread prints repeated wall times as their median with the range, e.g.
// "3.87 s (3.61–4.40, n=3)"; one run prints as secs does. bold marks the
// median in Markdown.
func spread(ds []time.Duration, bold bool) string {
	med := secs(median(ds))
	if bold {
		med = "**" + med + "**"
	}
	if len(ds) < 2 {
		return med
	}
	lo, hi := ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	f := secsFormat(median(ds))
	return fmt.Sprintf("%s ("+f+"–"+f+", n=%d)", med, lo.Seconds(), hi.Seconds(), len(ds))
}

func walls(ms []measure) []time.Duration {
	ds := make([]time.Duration, len(ms))
	for i, m := range ms {
		ds[i] = m.Wall
	}
	return ds
}

func mb(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

func human(b int64) string {
	switch {
	case b >= 10<<20:
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	case b >= 10<<10:
		return fmt.Sprintf("%.0f kB", float64(b)/(1<<10))
	default:
		return fmt.Sprintf("%d B", b)
	}
}

// cell is one tool's columns of a phase; runs, when there were several,
// put the median and range in the wall column (m is their summary).
func cell(m measure, ok bool, runs []measure) string {
	if !ok {
		return "— | — | — | — | —"
	}
	wall := secs(m.Wall)
	if len(runs) > 1 {
		wall = spread(walls(runs), false)
	}
	return fmt.Sprintf("%s | %s | %s | %d | %s", wall, secs(m.CPU), mb(m.RSSKB), m.Use.Requests, human(m.Use.Bytes()))
}

// ratio prints a/b as "0.05×".
func ratio(a, b time.Duration) string { return ratioDigits(a, b, 2) }

// ratio3 is ratio with three decimals, for a check against a limit that
// two decimals could round onto (1.303× printed as 1.30× next to "≤ 1.30×").
func ratio3(a, b time.Duration) string { return ratioDigits(a, b, 3) }

func ratioDigits(a, b time.Duration, digits int) string {
	if b <= 0 || a <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.*f×", digits, a.Seconds()/b.Seconds())
}

// faster prints b/a as "19.6× faster" (how much faster a is than b).
func faster(a, b time.Duration) string {
	if b <= 0 || a <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", b.Seconds()/a.Seconds())
}

// rawRuns are the raw-limit runs of r.
func (r *sizeResult) rawRuns() []rawResult {
	if len(r.Runs) == 0 {
		return []rawResult{r.Raw}
	}
	return r.Runs
}

// rawPart is the wall time of one part of the raw limit (or the limit
// itself) in every run.
func (r *sizeResult) rawPart(part func(rawResult) time.Duration) []time.Duration {
	var ds []time.Duration
	for _, x := range r.rawRuns() {
		ds = append(ds, part(x))
	}
	return ds
}

// rawTotal is the raw limit: the median over the runs.
func (r *sizeResult) rawTotal() time.Duration { return median(r.rawPart(rawResult.total)) }

// methodology is the sentence above the tables on how repeated runs are
// summarised.
func (res *results) methodology() string {
	if res.Repeat < 2 {
		return "Every phase and the raw limit ran once (`--repeat 1`); on a small VM the cost of creating thousands of files varies from one minute to the next, so the initial-sync ratios are noisy.\n\n"
	}
	return fmt.Sprintf("On Radicale the raw limit and vdird's initial sync each ran %d times, interleaved (raw limit, vdird, raw limit, vdird, …) so both met the same filesystem conditions; their times are the median with the min–max range, vdird's CPU, requests and bytes are those of its median run, its peak RSS is the highest of the runs, and the ratios and acceptance checks use the medians for time and that maximum for RSS (everything else ran once).\n\n", res.Repeat)
}

// table is the comparison printed at the end of a run (Markdown, so it
// pastes into docs/performance.md unchanged).
func (res *results) table() string {
	var b strings.Builder
	all := append([]*sizeResult(nil), res.Sizes...)
	if res.Xandikos != nil {
		all = append(all, res.Xandikos)
	}
	b.WriteString(res.methodology())
	phaseTable(&b, all)
	rawTable(&b, all)
	costTable(&b, all)
	daemonTable(&b, res.Sizes)
	contactsTable(&b, res.Contacts)
	if i := res.Idle; i != nil {
		fmt.Fprintf(&b, "\nIdle daemon, %d calendars × 20 items at a 60 s interval: **%.3f%% CPU** over %s (%d requests: %s; peak RSS %s).\n",
			i.IdleCals, i.IdleCPU, i.IdleWindow.Round(time.Second), i.IdleUse.Requests, i.IdleUse.MethodList(), mb(i.IdleRSSKB))
	}
	b.WriteString("\nAcceptance:\n\n")
	for _, a := range res.acceptance() {
		fmt.Fprintf(&b, "- %s %s\n", a.mark(), a.text)
	}
	return b.String()
}

// eachPhase calls fn for every phase measured for vdird or vdirsyncer, with
// their measures and whether each was measured.
func eachPhase(all []*sizeResult, fn func(r *sizeResult, ph string, v, s measure, vok, sok bool)) {
	for _, r := range all {
		for _, ph := range phases {
			v, vok := r.Tools["vdird"][ph]
			s, sok := r.Tools["vdirsyncer"][ph]
			if vok || sok {
				fn(r, ph, v, s, vok, sok)
			}
		}
	}
}

// phaseTable writes the two tools side by side per phase, then their
// requests by method.
func phaseTable(b *strings.Builder, all []*sizeResult) {
	b.WriteString("| server, N | phase | vdird wall | CPU | peak RSS | requests | bytes | vdirsyncer wall | CPU | peak RSS | requests | bytes | vdird / vdirsyncer | vdirsyncer ÷ vdird | vdird / raw limit |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	eachPhase(all, func(r *sizeResult, ph string, v, s measure, vok, sok bool) {
		rawCol := ""
		var vruns, sruns []measure
		if ph == phInitial {
			rawCol = ratio(v.Wall, r.rawTotal())
			vruns, sruns = r.Initial["vdird"], r.Initial["vdirsyncer"]
		}
		fmt.Fprintf(b, "| %s %s | %s | %s | %s | %s | %s | %s |\n", r.Server, commas(r.N), ph,
			cell(v, vok, vruns), cell(s, sok, sruns), ratio(v.Wall, s.Wall), faster(v.Wall, s.Wall), rawCol)
	})
	b.WriteString("\nRequests by method:\n\n| server, N | phase | vdird | vdirsyncer |\n|---|---|---|---|\n")
	eachPhase(all, func(r *sizeResult, ph string, v, s measure, _, _ bool) {
		fmt.Fprintf(b, "| %s %s | %s | %s | %s |\n", r.Server, commas(r.N), ph, v.Use.MethodList(), s.Use.MethodList())
	})
}

// rawTable writes the parts of the raw limit.
func rawTable(b *strings.Builder, all []*sizeResult) {
	b.WriteString("\nRaw limit (one calendar-query REPORT with all data via curl, then the files written; each part is the median of its runs, the one fsync per file ran once):\n\n")
	b.WriteString("| server, N | REPORT bytes (on the wire with gzip) | curl (with gzip) | write: one syncfs | write: 32 parallel fsyncs | write: one fsync per file | raw limit = faster curl + faster batched write |\n|---|---|---|---|---|---|---|\n")
	for _, r := range all {
		part := func(f func(rawResult) measure) string {
			return secs(median(r.rawPart(func(x rawResult) time.Duration { return f(x).Wall })))
		}
		fmt.Fprintf(b, "| %s %s | %s (%s) | %s (%s) | %s | %s | %s | %s |\n", r.Server, commas(r.N), human(r.Bytes), human(r.Raw.CurlGzip.Use.Out),
			part(func(x rawResult) measure { return x.CurlPlain }), part(func(x rawResult) measure { return x.CurlGzip }),
			part(func(x rawResult) measure { return x.Syncfs }), part(func(x rawResult) measure { return x.ParallelFsync }),
			secs(r.Raw.FsyncEach.Wall), spread(r.rawPart(rawResult.total), true))
	}
}

// costTable writes the server cost of single requests, one column a size.
func costTable(b *strings.Builder, all []*sizeResult) {
	b.WriteString("\nServer cost of single requests (sent directly, median of 3; the floor under each client step):\n\n")
	b.WriteString("| request |")
	for _, r := range all {
		fmt.Fprintf(b, " %s %s |", r.Server, commas(r.N))
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(all)) + "\n")
	var names []string
	for _, r := range all {
		for _, c := range r.Costs {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	for _, name := range names {
		fmt.Fprintf(b, "| %s |", name)
		for _, r := range all {
			v := "—"
			for _, c := range r.Costs {
				if c.Name == name {
					v = secs(c.Dur)
				}
			}
			fmt.Fprintf(b, " %s |", v)
		}
		b.WriteString("\n")
	}
}

// daemonTable writes what the daemon did at each Radicale size.
func daemonTable(b *strings.Builder, sizes []*sizeResult) {
	b.WriteString("\nvdird daemon:\n\n")
	b.WriteString("| server, N | start-up reconcile (to READY) | requests | one poll cycle: requests | bytes | duration | local edit → server p50 | p95 | max | edits | requests during edits | server time of those PUTs p50 / p95 | daemon peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range sizes {
		d := r.Daemon
		if d == nil {
			continue
		}
		fmt.Fprintf(b, "| %s %s | %s | %d | %.1f (%s) | %s | %s | %s | %s | %s | %d | %s | %s / %s | %s |\n", r.Server, commas(r.N), secs(d.Ready), d.ReadyUse.Requests,
			d.Poll.Requests, d.Poll.Methods+" in "+itoa(d.Poll.Cycles), human(int64(d.Poll.Bytes)), secs(d.Poll.Duration),
			secs(percentile(d.Latencies, .5)), secs(percentile(d.Latencies, .95)), secs(percentile(d.Latencies, 1)), len(d.Latencies),
			d.EditUse.MethodList(), secs(percentile(d.PutTimes, .5)), secs(percentile(d.PutTimes, .95)), mb(d.PeakRSSKB))
	}
}

type check struct {
	text string
	ok   *bool // nil: not measured in this run
}

func (c check) mark() string {
	switch {
	case c.ok == nil:
		return "[n/a]"
	case *c.ok:
		return "[PASS]"
	default:
		return "[FAIL]"
	}
}

func pb(b bool) *bool { return &b }

func (res *results) size(n int) *sizeResult {
	for _, r := range res.Sizes {
		if r.N == n {
			return r
		}
	}
	return nil
}

// acceptance evaluates the benchmark's targets on this run's numbers.
func (res *results) acceptance() []check {
	var cs []check
	if r := res.size(10000); r != nil {
		v, s := r.Tools["vdird"], r.Tools["vdirsyncer"]
		vi, si := v[phInitial], s[phInitial]
		c := check{text: fmt.Sprintf("Radicale 10k initial: vdird %s = %s the raw limit %s (medians; ≤ 1.30×)",
			spread(walls(r.Initial["vdird"]), false), ratio3(vi.Wall, r.rawTotal()), spread(r.rawPart(rawResult.total), false))}
		c.ok = pb(vi.Wall.Seconds() <= 1.3*r.rawTotal().Seconds())
		cs = append(cs, c)
		if si.Wall > 0 {
			cs = append(cs, check{text: fmt.Sprintf("Radicale 10k initial: %s faster than vdirsyncer (≥ 8×)", faster(vi.Wall, si.Wall)), ok: pb(si.Wall.Seconds() >= 8*vi.Wall.Seconds())})
		}
		cs = append(cs, check{text: fmt.Sprintf("Radicale 10k initial: peak RSS %s%s (≤ 40 MB)", mb(vi.RSSKB), maxOf(len(r.Initial["vdird"]))), ok: pb(vi.RSSKB <= 40*1024)})
		vn, sn := v[phNoChange], s[phNoChange]
		cs = append(cs, check{text: fmt.Sprintf("Radicale 10k no-change: %d request(s) for 1 calendar (exactly 1)", vn.Use.Requests), ok: pb(vn.Use.Requests == 1)})
		if sn.Wall > 0 {
			cs = append(cs, check{text: fmt.Sprintf("Radicale 10k no-change: %s faster than vdirsyncer (≥ 30×)", faster(vn.Wall, sn.Wall)), ok: pb(sn.Wall.Seconds() >= 30*vn.Wall.Seconds())})
		}
		vr, sr := v[phRemote1], s[phRemote1]
		cs = append(cs, check{text: fmt.Sprintf("Radicale 10k one remote change: %d requests (≤ 3)", vr.Use.Requests), ok: pb(vr.Use.Requests <= 3)})
		if sr.Wall > 0 {
			cs = append(cs, check{text: fmt.Sprintf("Radicale 10k one remote change: %s faster than vdirsyncer (≥ 20×)", faster(vr.Wall, sr.Wall)), ok: pb(sr.Wall.Seconds() >= 20*vr.Wall.Seconds())})
		}
	} else {
		cs = append(cs, check{text: "Radicale 10k: not in --sizes"})
	}
	if x := res.Xandikos; x != nil && x.N == 1000 && x.Tools["vdirsyncer"] != nil {
		vi, si := x.Tools["vdird"][phInitial], x.Tools["vdirsyncer"][phInitial]
		cs = append(cs, check{text: fmt.Sprintf("Xandikos 1k initial: %s faster than vdirsyncer (≥ 5×)", faster(vi.Wall, si.Wall)), ok: pb(si.Wall.Seconds() >= 5*vi.Wall.Seconds())})
	} else {
		cs = append(cs, check{text: "Xandikos 1k vs vdirsyncer: not measured"})
	}
	// The latency bound holds for the daemon at 1,000 and 10,000 items; the
	// 100,000 run is reported, not judged (there Radicale alone is slow to
	// answer a PUT).
	var worst time.Duration
	worstN := 0
	for _, r := range res.Sizes {
		if r.Daemon != nil && r.N <= 10000 {
			if p := percentile(r.Daemon.Latencies, .95); p >= worst {
				worst, worstN = p, r.N
			}
		}
	}
	if worstN > 0 {
		cs = append(cs, check{text: fmt.Sprintf("daemon local edit → server p95 %s, worst of the sizes up to 10,000 (%s items) (< 1 s)", secs(worst), commas(worstN)), ok: pb(worst < time.Second)})
	}
	if r := res.size(100000); r != nil && r.Daemon != nil {
		cs = append(cs, check{text: fmt.Sprintf("daemon local edit → server p95 at 100,000 items: %s (reported)", secs(percentile(r.Daemon.Latencies, .95)))})
	}
	if i := res.Idle; i != nil {
		cs = append(cs, check{text: fmt.Sprintf("daemon idle CPU %.3f%% with %d calendars at 60 s over %s (< 0.5%%)", i.IdleCPU, i.IdleCals, i.IdleWindow.Round(time.Second)), ok: pb(i.IdleCPU < 0.5)})
	}
	cs = append(cs, res.Contacts.acceptance()...)
	if r := res.size(100000); r != nil {
		m := r.Tools["vdird"][phInitial]
		cs = append(cs, check{text: fmt.Sprintf("Radicale 100k initial: peak RSS %s%s (≤ 100 MB), wall %s", mb(m.RSSKB), maxOf(len(r.Initial["vdird"])), spread(walls(r.Initial["vdird"]), false)), ok: pb(m.RSSKB <= 100*1024)})
	} else {
		cs = append(cs, check{text: "Radicale 100k: run with --big"})
	}
	return cs
}

// maxOf notes that a peak RSS is the highest of n runs.
func maxOf(n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" (highest of %d runs)", n)
}

func commas(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), &kb)
				mem = fmt.Sprintf("%.1f GB", float64(kb)/(1<<20))
			}
		}
	}
	fs := "?"
	if out, err := exec.Command("df", "-T", os.TempDir()).Output(); err == nil {
		if l := strings.Split(strings.TrimSpace(string(out)), "\n"); len(l) > 1 {
			if f := strings.Fields(l[len(l)-1]); len(f) > 1 {
				fs = f[1]
			}
		}
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s RAM, temp dir on %s", runtime.NumCPU(), strings.TrimSpace(cpu), mem, fs)
}

// markdown is the whole docs/performance.md.
func (res *results) markdown(cfg config, args string) string {
	var b strings.Builder
	v := res.Versions
	fmt.Fprintf(&b, `# vdird performance

Measured by `+"`%s`"+` on %s (run took %s).

- Machine: %s; %s
- vdird %s (tree %s), %s; vdirsyncer %s; Radicale %s; Xandikos %s

`, strings.TrimSpace("scripts/bench.sh "+args), res.Start.UTC().Format("2006-01-02 15:04 MST"), res.Elapsed.Round(time.Second),
		machine(), v["kernel"], strings.TrimPrefix(v["vdird"], "vdird "), v["commit"], v["go"], strings.TrimPrefix(v["vdirsyncer"], "vdirsyncer, version "), v["radicale"], strings.TrimPrefix(v["xandikos"], "/usr/bin/xandikos "))
	b.WriteString("## Results\n\n")
	b.WriteString(res.table())
	b.WriteString(`
## What is measured, and how

- **Servers**: a real Radicale on loopback, one user per client with an identical
  calendar of N events (~1.4 KB each, like an invitation with a description),
  seeded by writing Radicale's storage folder directly and warmed (ctag, full
  calendar-query, initial sync-collection) before anything is timed. Xandikos
  gets one fresh server per client, seeded by committing the N files to the
  collection's git repository in one commit.
- **Clients**: ` + "`vdird sync`" + ` and ` + "`vdirsyncer sync`" + ` (caldav storage a, filesystem
  storage b, ` + "`collections = [\"from a\", \"from b\"]`" + `, ` + "`conflict_resolution = \"a wins\"`" + `,
  discovered before timing). Wall, user+sys CPU and peak RSS come from
  ` + "`/usr/bin/time -v`" + `; requests and bytes (request + response bodies) from a counting
  reverse proxy between client and server, the same for both clients.
- **Phases**, in order, on the same local folder and state: initial sync (empty
  folder), no-change sync, one item changed on the server (a PUT straight to the
  server) then sync, one item changed locally (atomic replace) then sync. Each
  phase checks the result (file count, the change on the other side).
- **Repetitions** (` + "`--repeat`" + `, default 3): on Radicale the raw limit and vdird's
  initial sync are each run that many times, interleaved (raw limit, vdird, raw
  limit, vdird, …), because the kernel's cost of creating thousands of files
  varies several-fold from one minute to the next. On ext4 without a journal
  it jumps for 1–6 minutes after many files are deleted: new inodes skip
  recently freed ones one by one (see "Reading the numbers"). Start a run at
  least 6 minutes after deleting many files. The first vdird run is the one
  the later phases continue; the others sync the same calendar into fresh
  folders and state. No run's files are deleted before the next. vdirsyncer's
  initial sync and all later phases run once.
- **Raw limit**: one calendar-query REPORT with all data fetched by curl, plus a
  helper that streams the multistatus and writes the N files durably with one
  batched flush (temp files, one ` + "`syncfs`" + `, renames, one directory fsync); the
  "one fsync per file" column is the same write with an fsync each, for scale
  (run once, after the repetitions).
  ` + "`vdird / raw limit`" + ` compares vdird's initial sync with curl + batched write.
- **Daemon**: ` + "`vdird daemon`" + ` on the synced state with a 5 s interval; READY is read
  from its own NOTIFY_SOCKET. A poll cycle is a burst of requests while nothing
  changes. Edit latency (daemon restarted with the default 60 s interval): a
  file is replaced atomically (as editors save); the latency ends when the
  daemon's successful PUT of that item ends (seen by the counting proxy), and
  one GET then checks that the server serves the new SUMMARY (polling with a
  GET every 10 ms loaded Radicale: a GET costs it 80 ms at 100k items); edits
  are 300 ms apart. Idle CPU: a separate daemon on 20 calendars at a 60 s interval,
  utime+stime from /proc over the window after READY (it runs beside the rest,
  which does not change its own CPU ticks).
- Ratios: ` + "`vdird / vdirsyncer`" + ` is wall-time ratio (smaller is better);
  ` + "`vdirsyncer ÷ vdird`" + ` is how many times faster vdird is.

Re-run: ` + "`scripts/bench.sh`" + ` (1,000 and 10,000 items, about 15 minutes),
` + "`scripts/bench.sh --quick --sizes 1000`" + ` for a short run, ` + "`--big`" + ` adds 100,000 items
(vdirsyncer is skipped above ` + "`--vdirsyncer-max`" + `, default 10,000).
`)
	return b.String()
}
