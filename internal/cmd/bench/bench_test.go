package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// TestMain lets this test binary stand in for the benchmark binary when the
// benchmark runs its rawwrite helper as a child.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "rawwrite" {
		os.Exit(rawWriteMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestBench_SmallestSize_EveryPhaseMeasuredAndChecked runs the whole
// benchmark at a tiny size, so it cannot rot: every phase must run, do its
// job (the phases verify files and server contents themselves) and yield
// numbers in the table. vdirsyncer joins when it is installed.
func TestBench_SmallestSize_EveryPhaseMeasuredAndChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	testserver.Need(t, "radicale", "xandikos", "curl", "git", "/usr/bin/time")
	work := t.TempDir()
	vdird := filepath.Join(work, "vdird")
	build := exec.Command("go", "build", "-o", vdird, "github.com/vdird/vdird/cmd/vdird")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vdird: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	_, haveVdirsyncer := exec.LookPath("vdirsyncer")
	cfg := config{
		Vdird: vdird, Self: self, Work: filepath.Join(work, "run"),
		Sizes: []int{12}, Repeat: 3, XandikosN: 6, Edits: 2,
		IdleWindow: 2 * time.Second, IdleCals: 2, IdleInterval: time.Minute,
		PollInterval: time.Second, PollWindow: 2500 * time.Millisecond,
		VdirsyncerMax: 100, NoVdirsyncer: haveVdirsyncer != nil,
		Log: t.Logf,
	}
	res, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tools := []string{"vdird"}
	if !cfg.NoVdirsyncer {
		tools = append(tools, "vdirsyncer")
	}
	r := res.Sizes[0]
	for _, tool := range tools {
		for _, ph := range phases {
			m, ok := r.Tools[tool][ph]
			if !ok || m.Wall <= 0 || m.RSSKB <= 0 || m.Use.Requests == 0 {
				t.Errorf("radicale %s %s: not measured: %+v", tool, ph, m)
			}
		}
		if m := res.Xandikos.Tools[tool][phInitial]; m.Wall <= 0 || m.Use.Requests == 0 {
			t.Errorf("xandikos %s initial: not measured: %+v", tool, m)
		}
	}
	if len(r.Costs) < 5 || len(res.Xandikos.Costs) < 5 {
		t.Errorf("server costs not measured: %+v / %+v", r.Costs, res.Xandikos.Costs)
	}
	if r.Raw.Items != 12 || r.Raw.Curl.Wall <= 0 || r.Raw.FsyncEach.Wall <= 0 || r.Bytes == 0 {
		t.Errorf("raw limit not measured: %+v", r.Raw)
	}
	if len(r.Runs) != 3 || len(r.Initial["vdird"]) != 3 {
		t.Errorf("--repeat 3: %d raw-limit runs and %d vdird initial syncs, want 3 each", len(r.Runs), len(r.Initial["vdird"]))
	}
	d := r.Daemon
	if d == nil || len(d.Latencies) != 2 || d.Poll.Cycles == 0 || len(d.PutTimes) == 0 {
		t.Fatalf("daemon not measured: %+v", d)
	}
	if res.Idle == nil || res.Idle.IdleWindow < 2*time.Second {
		t.Errorf("idle CPU not measured: %+v", res.Idle)
	}
	table := res.table()
	t.Log("\n" + table)
	for _, want := range []string{"Radicale 12 | initial sync", "Xandikos 6 | initial sync", "local edit → server", "Idle daemon", ", n=3)", "ran 3 times, interleaved"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	md := res.markdown(cfg, "--sizes 12")
	if !strings.Contains(md, "nproc") || !strings.Contains(md, table) {
		t.Errorf("markdown lacks the machine or the table:\n%s", md)
	}
}

func TestSummarize_MedianWallMedianRunsCPUHighestRSS(t *testing.T) {
	run := func(wall, cpu time.Duration, rss int64, reqs int) measure {
		return measure{Wall: wall, CPU: cpu, RSSKB: rss, Use: usage{Requests: reqs}}
	}
	ms := []measure{
		run(4400*time.Millisecond, 3*time.Second, 30000, 7),
		run(3610*time.Millisecond, 2*time.Second, 35000, 6),
		run(3870*time.Millisecond, 1*time.Second, 32000, 5),
	}
	m := summarize(ms)
	if m.Wall != 3870*time.Millisecond || m.CPU != time.Second || m.Use.Requests != 5 || m.RSSKB != 35000 {
		t.Errorf("summarize = %+v, want the median run's wall, CPU and requests (3.87 s, 1 s, 5) and the highest RSS (35000)", m)
	}
	if got, want := spread(walls(ms), false), "3.87 s (3.61–4.40, n=3)"; got != want {
		t.Errorf("spread = %q, want %q", got, want)
	}
	if got, want := spread([]time.Duration{2 * time.Second, 4 * time.Second}, true), "**3.00 s** (2.00–4.00, n=2)"; got != want {
		t.Errorf("spread of two = %q, want %q", got, want)
	}
	if got, want := spread([]time.Duration{50 * time.Millisecond}, false), "0.050 s"; got != want {
		t.Errorf("spread of one = %q, want %q", got, want)
	}
}

func TestPollCycles_GroupsBurstsSeparatedByQuiet(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rec := func(at, dur time.Duration, out int64) faultproxy.Request {
		return faultproxy.Request{Method: "PROPFIND", Start: t0.Add(at), End: t0.Add(at + dur), Out: out}
	}
	got := pollCycles([]faultproxy.Request{
		rec(5*time.Second, 20*time.Millisecond, 100),
		rec(0, 10*time.Millisecond, 100),
		rec(5*time.Second+30*time.Millisecond, 10*time.Millisecond, 300),
	})
	if got.Cycles != 2 || got.Requests != 1.5 || got.Bytes != 250 || got.Duration != 25*time.Millisecond {
		t.Errorf("pollCycles = %+v, want 2 cycles of 1.5 requests, 250 bytes, 25 ms", got)
	}
}

func TestParseTime_ReadsWallCPUAndPeakRSS(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t")
	report := "\tCommand being timed: \"x\"\n\tUser time (seconds): 1.25\n\tSystem time (seconds): 0.50\n" +
		"\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\n\tMaximum resident set size (kbytes): 40960\n"
	if err := os.WriteFile(p, []byte(report), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := parseTime(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Wall != 62500*time.Millisecond || m.CPU != 1750*time.Millisecond || m.RSSKB != 40960 {
		t.Errorf("parseTime = %+v", m)
	}
}

func TestRawWrite_WritesEveryCalendarDataVerbatim(t *testing.T) {
	dir := t.TempDir()
	ms := `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
		`<D:response><D:href>/u/c/a.ics</D:href><D:propstat><D:prop><C:calendar-data>BEGIN:VCALENDAR&#13;
UID:a&#13;
END:VCALENDAR&#13;
</C:calendar-data></D:prop></D:propstat></D:response>` +
		`<D:response><D:href>/u/c/b.ics</D:href><D:propstat><D:prop><C:calendar-data><![CDATA[B & b]]></C:calendar-data></D:prop></D:propstat></D:response>` +
		`</D:multistatus>`
	src := filepath.Join(dir, "ms.xml")
	if err := os.WriteFile(src, []byte(ms), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"batched", "parallel-fsync", "fsync-each"} {
		out := filepath.Join(dir, mode)
		n, err := rawWrite(mode, src, out)
		if err != nil || n != 2 {
			t.Fatalf("%s: rawWrite = %d, %v; want 2 files", mode, n, err)
		}
		a, _ := os.ReadFile(filepath.Join(out, "a.ics"))
		b, _ := os.ReadFile(filepath.Join(out, "b.ics"))
		if string(a) != "BEGIN:VCALENDAR\r\nUID:a\r\nEND:VCALENDAR\r\n" || string(b) != "B & b" {
			t.Errorf("%s: a.ics = %q, b.ics = %q", mode, a, b)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 2 {
			t.Errorf("%s: %d entries left in the folder, want 2 (no temp files)", mode, len(ents))
		}
	}
}

func TestWithOutput_AddsTheServersLastLines(t *testing.T) {
	testserver.Need(t, "radicale")
	srv, err := testserver.Launch(testserver.Radicale, testserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if withOutput(nil, srv) != nil {
		t.Fatal("withOutput made an error of nil")
	}
	step := errors.New("step failed")
	err = withOutput(step, srv)
	if !errors.Is(err, step) || !strings.Contains(err.Error(), "==> last lines of radicale's output") {
		t.Fatalf("withOutput = %v", err)
	}
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	tail := lastLines(b.String(), 3)
	if tail != "line 48\nline 49\nline 50\n" {
		t.Fatalf("last 3 lines: %q", tail)
	}
	if got := lastLines("", 3); got != "" {
		t.Fatalf("last lines of nothing: %q", got)
	}
}

func TestRequestLog_ShowsTheLastRequests(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var recs []faultproxy.Request
	for i := 0; i < 5; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		recs = append(recs, faultproxy.Request{Method: "PUT", Path: fmt.Sprintf("/u/c/%d.ics", i), Status: 201 + i, Start: at, End: at.Add(250 * time.Millisecond)})
	}
	got := requestLog(recs, 2)
	if strings.Contains(got, "/u/c/2.ics") || !strings.Contains(got, "/u/c/3.ics") || !strings.Contains(got, "/u/c/4.ics") {
		t.Fatalf("want the last 2 requests only:\n%s", got)
	}
	if !strings.Contains(got, "+  1.00s PUT") || !strings.Contains(got, " 205 0.25s") {
		t.Fatalf("want offsets, status and duration:\n%s", got)
	}
}

func TestPutDone_FindsTheFirstSuccessfulFinishedPutOfThePathAfterTheMark(t *testing.T) {
	t0 := time.Unix(1000, 0)
	reqs := []faultproxy.Request{
		{Method: "PUT", Path: "/u/c/a.ics", Status: 204, End: t0},        // before the mark
		{Method: "GET", Path: "/u/c/a.ics", Status: 200, End: t0.Add(1)}, // not a PUT
		{Method: "PUT", Path: "/u/c/b.ics", Status: 204, End: t0.Add(2)}, // another item
		{Method: "PUT", Path: "/u/c/a.ics", Status: 412, End: t0.Add(3)}, // refused
		{Method: "PUT", Path: "/u/c/a.ics", Status: 204},                 // answer still going out
		{Method: "PUT", Path: "/u/c/a.ics", Status: 204, End: t0.Add(5)}, // this one
		{Method: "PUT", Path: "/u/c/a.ics", Status: 201, End: t0.Add(6)},
	}
	end, next, ok := putDone(reqs, 1, "/u/c/a.ics")
	if !ok || !end.Equal(t0.Add(5)) || next != 6 {
		t.Fatalf("putDone = %v, %d, %v; want the PUT ending at +5, next 6", end.Sub(t0), next, ok)
	}
	if _, _, ok := putDone(reqs, 7, "/u/c/a.ics"); ok {
		t.Fatal("putDone found a PUT after the last record")
	}
}

func TestAcceptance_RawLimitRatioJustOver_FailsAndShowsThreeDecimals(t *testing.T) {
	s := time.Second
	r := &sizeResult{Server: "Radicale", N: 10000,
		Tools:   map[string]map[string]measure{"vdird": {phInitial: {Wall: 2020 * time.Millisecond}}},
		Initial: map[string][]measure{"vdird": {{Wall: 2020 * time.Millisecond}}},
		Runs:    []rawResult{{Curl: measure{Wall: s / 2}, Batched: measure{Wall: 1050 * time.Millisecond}}},
	}
	r.Raw = r.Runs[0]
	res := &results{Sizes: []*sizeResult{r}}
	c := res.acceptance()[0]
	if c.ok == nil || *c.ok || !strings.Contains(c.text, "1.303×") {
		t.Fatalf("2.02 s against 1.55 s: want a FAIL showing 1.303×, got %s %s", c.mark(), c.text)
	}
}
