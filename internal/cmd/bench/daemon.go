package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// runningDaemon is one "vdird daemon" child, started with its own
// NOTIFY_SOCKET so the benchmark learns READY=1 exactly as systemd would.
type runningDaemon struct {
	cmd    *exec.Cmd
	out    *testserver.Buffer
	exited chan struct{}
	Ready  time.Duration // start → READY=1 (the first reconcile)
}

// startDaemon starts "vdird [global...] daemon" on t's config and waits for
// READY=1.
func startDaemon(t *vdirdTool, timeout time.Duration, global ...string) (*runningDaemon, error) {
	sock := filepath.Join(t.dir, "notify.sock")
	_ = os.Remove(sock)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	defer conn.Close()
	d := &runningDaemon{out: &testserver.Buffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(t.bin, append(append([]string{"--config", t.cfg}, global...), "daemon")...)
	d.cmd.Env = append(append(os.Environ(), t.env()...), "NOTIFY_SOCKET="+sock)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	ready := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l == "READY=1" {
					close(ready)
					return
				}
			}
		}
	}()
	select {
	case <-ready:
		d.Ready = time.Since(start)
		return d, nil
	case <-d.exited:
		return nil, fmt.Errorf("vdird daemon exited before READY:\n%s", tail(d.out.String(), 3000))
	case <-time.After(timeout):
		d.stop()
		return nil, fmt.Errorf("vdird daemon not READY after %v:\n%s", timeout, tail(d.out.String(), 3000))
	}
}

// cpuTicks is utime+stime of the process in clock ticks (/proc/PID/stat).
func (d *runningDaemon) cpuTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st, nil
}

// peakRSSKB is VmHWM, the daemon's peak resident set so far.
func (d *runningDaemon) peakRSSKB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			v, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return v
		}
	}
	return 0
}

func (d *runningDaemon) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("vdird daemon ignored SIGTERM for 15 s")
	}
	if st := d.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("vdird daemon exit %v:\n%s", st, tail(d.out.String(), 2000))
	}
	return nil
}

// pollCycle sums one daemon poll: the burst of requests the daemon sends
// when its interval fires.
type pollCycle struct {
	Cycles   int
	Requests float64 // mean per cycle
	Bytes    float64
	Duration time.Duration // mean first request start → last response end
	Methods  string
}

// pollCycles groups request records into bursts separated by >1 s of quiet.
func pollCycles(recs []faultproxy.Request) pollCycle {
	if len(recs) == 0 {
		return pollCycle{}
	}
	slices.SortFunc(recs, func(a, b faultproxy.Request) int { return a.Start.Compare(b.Start) })
	var pc pollCycle
	var total time.Duration
	var reqs, bytes int64
	methods := map[string]int{}
	cs, ce := recs[0].Start, recs[0].End
	flush := func() { pc.Cycles++; total += ce.Sub(cs) }
	for i, r := range recs {
		if i > 0 && r.Start.Sub(ce) > time.Second {
			flush()
			cs = r.Start
		}
		if r.End.After(ce) {
			ce = r.End
		}
		reqs++
		bytes += r.In + r.Out
		methods[r.Method]++
	}
	flush()
	pc.Requests = float64(reqs) / float64(pc.Cycles)
	pc.Bytes = float64(bytes) / float64(pc.Cycles)
	pc.Duration = total / time.Duration(pc.Cycles)
	pc.Methods = usage{Methods: methods}.MethodList()
	return pc
}

// editTimeout is how long one edit may take to reach the server before the
// run fails. An edit made during a poll waits for that pass, which at
// 100,000 items takes a while: a slow edit belongs in the report's
// maximum, not in a failed run.
const editTimeout = 2 * time.Minute

// editLatency edits n items of the calendar folder one after the other
// (atomic replace, as editors save) and measures how long until the server
// has the new bytes: until the end of the daemon's successful PUT of that
// item as the counting proxy saw it, confirmed by one GET that serves the
// edit. It returns the sorted latencies. The server is not polled: a GET
// of a big calendar's item costs Radicale real work, and polling would slow
// the daemon's own requests.
func editLatency(s *testserver.Server, ctr counter, calHref, calDir string, n, items int) ([]time.Duration, error) {
	var lat []time.Duration
	for k := 0; k < n; k++ {
		i := (k*7919 + 13) % items
		marker := fmt.Sprintf("edited %d at %d", k, time.Now().UnixNano())
		rename, err := localEdit(calDir, itemUID(i), marker, ".bench-edit.tmp")
		if err != nil {
			return nil, fmt.Errorf("edit %d: %w", k, err)
		}
		from := ctr.mark()
		start := time.Now()
		if err := rename(); err != nil {
			return nil, err
		}
		at, err := arrived(s, ctr, from, calHref+itemName(i), marker)
		if err != nil {
			return nil, fmt.Errorf("edit %d of %s: %w", k, itemName(i), err)
		}
		lat = append(lat, at.Sub(start))
		// Space the edits so each is its own change, not coalesced with the next.
		time.Sleep(300 * time.Millisecond)
	}
	slices.Sort(lat)
	return lat, nil
}

// arrived waits for the first successful PUT of href after mark from whose
// bytes, as the server then serves them, hold marker, and returns when
// that PUT ended.
func arrived(s *testserver.Server, ctr counter, from int, href, marker string) (time.Time, error) {
	deadline := time.Now().Add(editTimeout)
	for {
		if at, next, ok := putDone(ctr.Requests(), from, href); ok {
			body, err := expect(s, "GET", href, nil, "", http.StatusOK)
			if err == nil && bytes.Contains(body, []byte(marker)) {
				return at, nil
			}
			from = next // a PUT of other bytes (an earlier edit): wait for the next
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not on the server after %v", editTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func replaceSummary(b []byte, s string) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("SUMMARY:")) {
			lines[i] = []byte("SUMMARY:" + s + "\r")
			break
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
