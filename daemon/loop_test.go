package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// netLog is a RoundTripper that records every request with the time its
// response arrived, so tests measure latency and count requests.
type netLog struct {
	mu   sync.Mutex
	reqs []netReq
	// block, when set, holds every request until its context ends.
	block    atomic.Bool
	inFlight chan struct{}
}

type netReq struct {
	Method, Path string
	Status       int
	Done         time.Time
}

func (n *netLog) RoundTrip(req *http.Request) (*http.Response, error) {
	if n.block.Load() {
		select {
		case n.inFlight <- struct{}{}:
		default:
		}
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	r := netReq{Method: req.Method, Path: req.URL.Path, Done: time.Now()}
	if err == nil {
		r.Status = resp.StatusCode
	}
	n.mu.Lock()
	n.reqs = append(n.reqs, r)
	n.mu.Unlock()
	return resp, err
}

func (n *netLog) all() []netReq {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]netReq(nil), n.reqs...)
}

func (n *netLog) since(t time.Time) []netReq {
	var out []netReq
	for _, r := range n.all() {
		if !r.Done.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// puts returns the successful PUTs to path, in order.
func (n *netLog) puts(path string) []netReq {
	var out []netReq
	for _, r := range n.all() {
		if r.Method == http.MethodPut && r.Path == path && r.Status/100 == 2 {
			out = append(out, r)
		}
	}
	return out
}

func (n *netLog) writes() []netReq {
	var out []netReq
	for _, r := range n.all() {
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			out = append(out, r)
		}
	}
	return out
}

// daemonRun is a Run in a goroutine, stopped at the end of the test.
type daemonRun struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	stats  *Stats
	net    *netLog
	ready  chan struct{}
}

// startDaemon runs the daemon on e's config and waits for READY.
func startDaemon(t *testing.T, cfg *config.Config, opts RunOptions) *daemonRun {
	t.Helper()
	d := newDaemonRun(t, cfg, opts, nil)
	select {
	case <-d.ready:
	case err := <-d.done:
		t.Fatalf("daemon ended before ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("daemon not ready after 60 s")
	}
	return d
}

// newDaemonRun starts Run; the engine's requests go through client, or
// through the run's netLog when client is nil.
func newDaemonRun(t *testing.T, cfg *config.Config, opts RunOptions, client *http.Client) *daemonRun {
	t.Helper()
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonRun{t: t, done: make(chan error, 1), stats: &Stats{}, ready: make(chan struct{}),
		net: &netLog{inFlight: make(chan struct{}, 1)}}
	if opts.SocketPath == "" {
		opts.SocketPath = "-"
	}
	if client == nil {
		client = &http.Client{Transport: d.net}
	}
	opts.Stats = d.stats
	var once sync.Once
	opts.Ready = func() { once.Do(func() { close(d.ready) }) }
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	go func() {
		eng := engine.NewEngine(cfg, store, log)
		eng.HTTPClient = client
		err := Run(ctx, cfg, eng, log, opts)
		store.Close()
		d.done <- err
	}()
	t.Cleanup(func() { d.stop() })
	return d
}

// stop cancels the daemon and waits for Run to return; returns how long it took.
func (d *daemonRun) stop() time.Duration {
	if d.cancel == nil {
		return 0
	}
	start := time.Now()
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		d.t.Fatal("Run did not return within 15 s of cancel")
	}
	return time.Since(start)
}

// waitFor polls cond every 5 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func TestDaemon_LocalEdit_ReachesServerWithOnePutPerSave(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, e *synctest.Env) {
		e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
		e.Srv.Put(t, e.Events+"x.ics", synctest.Event("x", "initial"))
		d := startDaemon(t, e.Cfg, RunOptions{})
		dir := filepath.Join(e.Root, "events")
		p := filepath.Join(dir, "x.ics")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("first reconcile did not download x.ics: %v", err)
		}
		target := e.Events + "x.ics"
		const edits = 50
		var lat []time.Duration
		var last []byte
		for i := range edits {
			last = synctest.Event("x", fmt.Sprintf("edit %02d %s", i, map[bool]string{true: "vim", false: "in-place"}[i%2 == 1]))
			if i%2 == 1 {
				vimSave(t, dir, "x.ics", last)
			} else {
				writeInPlace(t, p, last)
			}
			saved := time.Now()
			if !waitFor(5*time.Second, func() bool { return len(d.net.puts(target)) >= i+1 }) {
				t.Fatalf("edit %d did not reach the server within 5 s", i)
			}
			lat = append(lat, d.net.puts(target)[i].Done.Sub(saved))
		}
		time.Sleep(600 * time.Millisecond) // anything late would show now
		if n := len(d.net.puts(target)); n != edits {
			t.Errorf("%d saves made %d PUTs, want exactly one each", edits, n)
		}
		for _, w := range d.net.writes() {
			if w.Method == http.MethodDelete || w.Path != target {
				t.Errorf("unexpected write %s %s", w.Method, w.Path)
			}
		}
		got, _ := e.Srv.Get(t, target)
		if !bytes.Contains(got, []byte(fmt.Sprintf("edit %02d", edits-1))) {
			t.Errorf("server does not hold the last edit:\n%s", got)
		}
		local, _ := os.ReadFile(p)
		if !bytes.Contains(local, []byte(fmt.Sprintf("edit %02d", edits-1))) {
			t.Errorf("local file lost the last edit:\n%s", local)
		}
		p50, p95 := percentile(lat, 0.50), percentile(lat, 0.95)
		t.Logf("save → server latency over %d edits: p50 %v, p95 %v, max %v", edits, p50, p95, percentile(lat, 1))
		fmt.Printf("TEST-RESULT daemon-local-edit-latency server=%s edits=%d p50_ms=%.0f p95_ms=%.0f\n",
			e.Srv.Kind, edits, p50.Seconds()*1000, p95.Seconds()*1000)
		if p95 > time.Second {
			t.Errorf("p95 latency %v, goal < 1 s", p95)
		}
	})
}

func TestDaemon_ServerEdit_ReachesLocalWithinInterval_IdlePollIsOneRequest(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, e *synctest.Env) {
		e.Cfg.Interval, e.Cfg.RescanInterval = 2*time.Second, time.Hour
		e.Srv.Put(t, e.Events+"a.ics", synctest.Event("a", "v1"))
		// Not empty: the engine re-downloads an empty calendar on every
		// pass (no items = no state to compare the ctag against).
		e.Srv.Put(t, e.Tasks+"t.ics", synctest.Task("t", "todo"))
		d := startDaemon(t, e.Cfg, RunOptions{})
		acct := e.Cfg.Accounts[0].Name

		// Idle: each poll is one request, about one interval apart.
		idleStart := time.Now()
		fullBefore := d.stats.Passes(acct, PassFull)
		time.Sleep(3*e.Cfg.Interval + 700*time.Millisecond)
		reqs := d.net.since(idleStart)
		polls := d.stats.Passes(acct, PassFull) - fullBefore
		if polls < 2 || polls > 4 {
			t.Errorf("%d polls in %v with interval %v", polls, time.Since(idleStart), e.Cfg.Interval)
		}
		if len(reqs) != polls {
			t.Errorf("%d idle polls made %d requests, want one each: %+v", polls, len(reqs), reqs)
		}
		for i := 1; i < len(reqs); i++ {
			if gap := reqs[i].Done.Sub(reqs[i-1].Done); gap < e.Cfg.Interval*8/10 || gap > e.Cfg.Interval*13/10 {
				t.Errorf("poll gap %v, want about %v", gap, e.Cfg.Interval)
			}
		}
		t.Logf("idle: %d polls, %d requests in %v", polls, len(reqs), time.Since(idleStart).Round(time.Millisecond))

		// The "phone" edits the event on the server.
		localBefore := d.stats.Passes(acct, PassLocal)
		e.Srv.Put(t, e.Events+"a.ics", synctest.Event("a", "phone edit"))
		want, _ := e.Srv.Get(t, e.Events+"a.ics")
		changed := time.Now()
		limit := e.Cfg.Interval*11/10 + 1500*time.Millisecond
		if !waitFor(limit, func() bool {
			b, _ := os.ReadFile(e.File(e.Events, "a.ics"))
			return bytes.Equal(b, want)
		}) {
			t.Fatalf("server edit not on disk within %v", limit)
		}
		t.Logf("server edit reached the file after %v", time.Since(changed).Round(time.Millisecond))

		// Our own write raises file events; the pass they trigger finds
		// nothing to upload.
		if !waitFor(2*time.Second, func() bool { return d.stats.Passes(acct, PassLocal) > localBefore }) {
			t.Errorf("the download's file events triggered no local pass")
		}
		time.Sleep(300 * time.Millisecond)
		if w := d.net.writes(); len(w) != 0 {
			t.Errorf("the daemon's own download echoed back as writes: %+v", w)
		}
	})
}

func TestDaemon_NewServerCalendar_AppearsAsFolder_NewLocalFileReachesServer(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, e *synctest.Env) {
		e.Cfg.Interval, e.Cfg.RescanInterval = 2*time.Second, time.Hour
		e.Cfg.Accounts[0].Calendars = nil // every calendar, including new ones
		d := startDaemon(t, e.Cfg, RunOptions{})

		later := e.Srv.MakeCalendar(t, "later", "Later", "VEVENT")
		dir := filepath.Join(e.Root, synctest.CalDir(later))
		if !waitFor(e.Cfg.Interval*11/10+2*time.Second, func() bool {
			fi, err := os.Stat(dir)
			return err == nil && fi.IsDir()
		}) {
			t.Fatalf("calendar created on the server did not appear as %s", dir)
		}
		time.Sleep(100 * time.Millisecond) // the new folder's watch is added after the pass
		data := synctest.Event("n", "made locally")
		if err := os.WriteFile(filepath.Join(dir, "n.ics"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if !waitFor(3*time.Second, func() bool { b, _ := e.Srv.Get(t, later+"n.ics"); return b != nil }) {
			t.Fatalf("new local file not created on the server; writes: %+v", d.net.writes())
		}
		if got, _ := e.Srv.Get(t, later+"n.ics"); !bytes.Contains(got, []byte("made locally")) {
			t.Fatalf("server holds %q", got)
		}
	})
}

func TestDaemon_CancelDuringPass_ReturnsPromptly(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{StatePath: filepath.Join(dir, "state.db"), Interval: time.Hour, RescanInterval: time.Hour,
		ConflictPolicy: "server-wins", MaxDeleteFraction: 0.5, MaxDeleteMin: 5,
		Accounts: []config.Account{{Name: "slow", URL: "http://127.0.0.1:9/", LocalRoot: filepath.Join(dir, "cal"), ConflictPolicy: "server-wins"}}}
	nl := &netLog{inFlight: make(chan struct{}, 1)}
	nl.block.Store(true)
	d := newDaemonRun(t, cfg, RunOptions{StopGrace: 300 * time.Millisecond}, &http.Client{Transport: nl})
	select {
	case <-nl.inFlight:
	case <-time.After(10 * time.Second):
		t.Fatal("the first reconcile made no request")
	}
	took := d.stop()
	if took > 2*time.Second {
		t.Fatalf("Run took %v to return after cancel during a pass", took)
	}
	select {
	case <-d.ready:
		t.Error("READY although the first reconcile never finished")
	default:
	}
}

func TestDaemon_FailingAccount_DoesNotStallOthers_AndBacksOff(t *testing.T) {
	e := synctest.New(t, testserver.All()[0])
	e.Cfg.Interval, e.Cfg.RescanInterval = 2*time.Second, time.Hour
	// Nothing listens on this port: every pass of "down" fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/"
	ln.Close()
	e.Cfg.Accounts = append(e.Cfg.Accounts, config.Account{Name: "down", URL: deadURL, LocalRoot: filepath.Join(t.TempDir(), "down"), ConflictPolicy: "server-wins"})
	d := startDaemon(t, e.Cfg, RunOptions{})
	if s := d.stats.LastSummaries("down"); passError(s) == nil {
		t.Fatalf("the dead account did not fail: %+v", s)
	}
	p := e.File(e.Events, "k.ics")
	if err := os.WriteFile(p, synctest.Event("k", "while the other account is down"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !waitFor(3*time.Second, func() bool { b, _ := e.Srv.Get(t, e.Events+"k.ics"); return b != nil }) {
		t.Fatal("a failing account stalled the working one")
	}
	time.Sleep(2 * time.Second)
	// Backoff from 0.2 s doubling: about 4 attempts in ~3 s, not a hot loop
	// (and not a wait of a whole interval either).
	if n := d.stats.Passes("down", 0); n < 3 || n > 7 {
		t.Errorf("dead account had %d passes in ~3 s, want exponential backoff (3–7)", n)
	}
}

func TestBackoff_DoublesFromATenthOfTheInterval_CapsAtTenIntervals_HonoursRetryAfter(t *testing.T) {
	iv := 10 * time.Second
	plain := errors.New("connection refused")
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		d := backoff(iv, n, plain)
		want := min(iv/10<<(n-1), 10*iv)
		if d < want*9/10 || d > want*11/10 {
			t.Fatalf("failure %d: backoff %v, want about %v", n, d, want)
		}
		if d > 10*iv {
			t.Fatalf("failure %d: backoff %v over the cap", n, d)
		}
		if n > 1 && want < 10*iv && d <= prev {
			t.Fatalf("failure %d: backoff %v did not grow from %v", n, d, prev)
		}
		prev = d
	}
	ra := fmt.Errorf("account x: %w", &davclient.Error{Method: "PROPFIND", Status: 429, RetryAfter: 7 * time.Minute, Err: davclient.ErrRateLimited})
	if d := backoff(iv, 1, ra); d != 7*time.Minute {
		t.Fatalf("Retry-After 7m: backoff %v", d)
	}
	if got := passError([]*engine.Summary{{Err: plain}, {Err: ra}}); got != ra {
		t.Fatalf("passError picked %v, want the one with Retry-After", got)
	}
	if got := passError([]*engine.Summary{{Problems: []string{"too large"}}, {Err: context.Canceled}}); got != nil {
		t.Fatalf("per-item problems or cancellation counted as failure: %v", got)
	}
}

func TestJitter_StaysWithinTenPercent(t *testing.T) {
	seen := map[bool]bool{}
	for range 1000 {
		d := jitter(time.Minute)
		if d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %v", d)
		}
		seen[d > time.Minute] = true
	}
	if !seen[true] || !seen[false] {
		t.Fatal("jitter never spread both ways")
	}
}

func TestDaemon_NotifySocket_GetsReadyStatusWatchdogAndStopping(t *testing.T) {
	kinds := testserver.All()
	e := synctest.New(t, kinds[0])
	e.AddAddressBook("contacts", "Contacts")
	e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
	sock := filepath.Join(shortDir(t), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	// WatchdogSec=300ms for this process: pings every 150 ms.
	t.Setenv("WATCHDOG_USEC", "300000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	d := startDaemon(t, e.Cfg, RunOptions{})
	var got []string
	collect := func(until string, timeout time.Duration) bool {
		deadline := time.After(timeout)
		for {
			select {
			case m := <-msgs:
				got = append(got, m)
				if strings.HasPrefix(m, until) {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	if !collect("READY=1", 5*time.Second) {
		t.Fatalf("no READY=1; got %q", got)
	}
	if !collect("STATUS=", 5*time.Second) {
		t.Fatalf("no STATUS= line; got %q", got)
	}
	status := got[len(got)-1]
	if !strings.Contains(status, "STATUS=2 calendars, 1 address book, last sync ") || !strings.HasSuffix(status, ", 0 errors") {
		t.Errorf("status line %q", status)
	}
	if !collect("WATCHDOG=1", 2*time.Second) {
		t.Fatalf("no WATCHDOG=1 with WATCHDOG_USEC set; got %q", got)
	}
	d.stop()
	if !collect("STOPPING=1", 5*time.Second) {
		t.Fatalf("no STOPPING=1; got %q", got)
	}
	t.Logf("notify messages: %q", got)
}

func TestDaemon_ControlSocket_StatusAndSyncAgainstRealServer(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, e *synctest.Env) {
		e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
		e.Srv.Put(t, e.Events+"a.ics", synctest.Event("a", "one"))
		sock := filepath.Join(shortDir(t), "vdird.sock")
		d := startDaemon(t, e.Cfg, RunOptions{SocketPath: sock})

		st, err := control.Status(context.Background(), sock)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 2 {
			t.Fatalf("status lists %d calendars, want 2: %+v", len(st), st)
		}
		for _, s := range st {
			if s.LastSync.IsZero() || s.LastError != "" || s.PendingLocal != 0 {
				t.Errorf("status after reconcile: %+v", s)
			}
		}

		e.Srv.Put(t, e.Events+"b.ics", synctest.Event("b", "two"))
		sums, err := control.Sync(context.Background(), sock, engine.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		down := 0
		for _, s := range sums {
			if s.Failed() {
				t.Errorf("sync via socket failed: %+v", s)
			}
			down += s.Downloaded
		}
		if down != 1 {
			t.Fatalf("sync via socket downloaded %d, want 1: %+v", down, sums)
		}
		if _, err := os.Stat(e.File(e.Events, "b.ics")); err != nil {
			t.Fatal(err)
		}
		if n := d.stats.Passes(e.Cfg.Accounts[0].Name, PassRequested); n != 1 {
			t.Errorf("%d requested passes, want 1", n)
		}
		d.stop()
		if _, err := os.Lstat(sock); err == nil {
			t.Error("control socket left behind after stop")
		}
	})
}

func TestDaemon_SIGHUP_ReloadsConfig_BadConfigKeepsRunning(t *testing.T) {
	e := synctest.New(t, testserver.All()[0])
	a := e.Cfg.Accounts[0]
	conf := filepath.Join(t.TempDir(), "config.toml")
	writeConf := func(cals ...string) {
		q := make([]string, len(cals))
		for i, c := range cals {
			q[i] = fmt.Sprintf("%q", c)
		}
		write(t, conf, fmt.Sprintf("state_path = %q\ninterval = \"1h\"\nrescan_interval = \"1h\"\n\n[[account]]\nname = %q\nurl = %q\nusername = %q\npassword_file = %q\nlocal_root = %q\ncalendars = [%s]\n",
			e.Cfg.StatePath, a.Name, a.URL, a.Username, a.PasswordFile, a.LocalRoot, strings.Join(q, ", ")))
	}
	writeConf(e.Events)
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	d := startDaemon(t, cfg, RunOptions{Reload: hup})
	tasksDir := filepath.Join(e.Root, synctest.CalDir(e.Tasks))
	if _, err := os.Stat(tasksDir); err == nil {
		t.Fatal("tasks synced although not configured")
	}

	writeConf(e.Events, e.Tasks)
	hup <- syscall.SIGHUP
	if !waitFor(5*time.Second, func() bool { _, err := os.Stat(tasksDir); return err == nil }) {
		t.Fatal("calendar added to the config was not synced after SIGHUP")
	}

	write(t, conf, "interval = \"never\"\n")
	hup <- syscall.SIGHUP
	time.Sleep(200 * time.Millisecond)
	if err := os.WriteFile(e.File(e.Events, "h.ics"), synctest.Event("h", "after a bad reload"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !waitFor(3*time.Second, func() bool { b, _ := e.Srv.Get(t, e.Events+"h.ics"); return b != nil }) {
		t.Fatal("daemon stopped syncing after a bad config reload")
	}
	if n := d.stats.Passes(a.Name, PassFull); n != 2 {
		t.Errorf("%d full passes, want 2 (start, good reload)", n)
	}
}

func TestDaemon_ControlSocketUnavailable_RunsWithoutIt_ReadyEvenIfServerDown(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/"
	ln.Close()
	cfg := &config.Config{StatePath: filepath.Join(dir, "state.db"), Interval: time.Hour, RescanInterval: time.Hour,
		ConflictPolicy: "server-wins", MaxDeleteFraction: 0.5, MaxDeleteMin: 5,
		Accounts: []config.Account{{Name: "down", URL: deadURL, LocalRoot: filepath.Join(dir, "cal"), ConflictPolicy: "server-wins"}}}
	blocker := filepath.Join(dir, "file")
	write(t, blocker, "a file where the socket's folder should be")
	d := startDaemon(t, cfg, RunOptions{SocketPath: filepath.Join(blocker, "vdird.sock")})
	if d.stats.Passes("down", PassFull) != 1 || passError(d.stats.LastSummaries("down")) == nil {
		t.Fatalf("want one failed first pass before READY, got %d passes", d.stats.Passes("down", 0))
	}
}

// A .vcf saved in an address book folder reaches the server within a
// second, as a calendar edit does: the daemon watches the contacts root.
func TestDaemon_SavedVcf_ReachesServerWithinASecond(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, e *synctest.Env) {
		e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
		book := e.AddAddressBook("contacts", "Contacts")
		e.Srv.Put(t, book+"ann.vcf", synctest.Card("3.0", "ann", "Ann"))
		d := startDaemon(t, e.Cfg, RunOptions{})
		if _, err := os.Stat(e.File(book, "ann.vcf")); err != nil {
			t.Fatalf("first reconcile did not download ann.vcf: %v", err)
		}
		for i, name := range []string{"ann.vcf", "new.vcf", "ann.vcf"} {
			uid := strings.TrimSuffix(name, ".vcf")
			data := synctest.Card("3.0", uid, fmt.Sprintf("%s edit %d", uid, i))
			before := len(d.net.puts(book + name))
			writeFileAtomically(t, e.File(book, name), data)
			saved := time.Now()
			if !waitFor(5*time.Second, func() bool { return len(d.net.puts(book+name)) > before }) {
				t.Fatalf("save %d of %s did not reach the server within 5 s", i, name)
			}
			if lat := d.net.puts(book + name)[before].Done.Sub(saved); lat > time.Second {
				t.Errorf("save %d of %s reached the server after %v, goal < 1 s", i, name, lat)
			}
			if got, _ := e.Srv.Get(t, book+name); !bytes.Contains(got, []byte(fmt.Sprintf("edit %d", i))) {
				t.Errorf("server %s: %q", name, got)
			}
		}
	})
}

// writeFileAtomically saves data at p as most editors do: a temp file
// renamed over it.
func writeFileAtomically(t *testing.T, p string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}
