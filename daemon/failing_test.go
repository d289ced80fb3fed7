package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/davtest"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// statusLines listens as the service manager's notify socket and returns
// the STATUS= texts the daemon sends, in order.
func statusLines(t *testing.T) <-chan string {
	t.Helper()
	sock := filepath.Join(shortDir(t), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	out := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			if m := string(buf[:n]); strings.HasPrefix(m, "STATUS=") {
				out <- strings.TrimPrefix(m, "STATUS=")
			}
		}
	}()
	return out
}

// waitStatus returns the first STATUS= text that matches re, failing t
// after timeout.
func waitStatus(t *testing.T, lines <-chan string, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case l := <-lines:
			if re.MatchString(l) {
				return l
			}
			seen = append(seen, l)
		case <-deadline:
			t.Fatalf("no STATUS= line matching %s within %v; got %q", re, timeout, seen)
		}
	}
}

func TestDaemon_WrongPassword_StatusLineFailingSince_LastSyncHeld_BacksOffHard_ManualSyncRetriesAtOnce(t *testing.T) {
	e := synctest.New(t, testserver.Radicale)
	a := e.Cfg.Accounts[0]
	conf := filepath.Join(t.TempDir(), "config.toml")
	writeConf := func(interval string) {
		write(t, conf, fmt.Sprintf("state_path = %q\ninterval = %q\nrescan_interval = \"1h\"\n\n[[account]]\nname = %q\nurl = %q\nusername = %q\npassword_file = %q\nlocal_root = %q\n",
			e.Cfg.StatePath, interval, a.Name, a.URL, a.Username, a.PasswordFile, a.LocalRoot))
	}
	writeConf("1h")
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	lines := statusLines(t)
	hup := make(chan os.Signal, 1)
	sock := filepath.Join(shortDir(t), "vdird.sock")
	d := startDaemon(t, cfg, RunOptions{Reload: hup, SocketPath: sock})
	ok := waitStatus(t, lines, regexp.MustCompile(`^2 calendars, last sync \d\d:\d\d:\d\d, 0 errors$`), 5*time.Second)
	lastSync := strings.TrimSuffix(strings.TrimPrefix(ok, "2 calendars, "), ", 0 errors")

	// The password changes under the daemon; a reload makes it read it,
	// and polls every second from then on.
	time.Sleep(1100 * time.Millisecond) // a last sync moved by mistake would show another second
	write(t, a.PasswordFile, "wrong-password\n")
	writeConf("1s")
	hup <- syscall.SIGHUP
	failing := waitStatus(t, lines, regexp.MustCompile(`failing`), 5*time.Second)
	want := regexp.MustCompile(`^test failing since \d\d:\d\d:\d\d \(1 attempt\): .*PROPFIND ` + regexp.QuoteMeta(e.Srv.URL) +
		`.*authentication failed for alice \(401 Unauthorized.*; 2 calendars, ` + lastSync + `, 1 error$`)
	if !want.MatchString(failing) {
		t.Fatalf("STATUS=%s\nwant %s", failing, want)
	}
	passes := d.stats.Passes(a.Name, 0)
	unauthorized := func() int {
		n := 0
		for _, r := range d.net.all() {
			if r.Status == http.StatusUnauthorized {
				n++
			}
		}
		return n
	}
	// Three poll intervals: an ordinary backoff would have tried again
	// three times or more; after a refused login the next try is minutes away.
	time.Sleep(3 * time.Second)
	if n := d.stats.Passes(a.Name, 0); n != passes {
		t.Fatalf("%d passes in 3 s after a refused login, want none", n-passes)
	}
	if n := unauthorized(); n < 1 || n > 2 {
		t.Fatalf("the server answered 401 %d times for one attempt", n)
	}

	// A sync asked for by hand goes out at once, and counts.
	sums, err := control.Sync(context.Background(), sock, engine.SyncOptions{})
	if err != nil || len(sums) != 1 || sums[0].Err == nil || !strings.Contains(sums[0].Err.Error(), "401 Unauthorized") {
		t.Fatalf("manual sync: %+v, %v", sums, err)
	}
	waitStatus(t, lines, regexp.MustCompile(`^test failing since .* \(2 attempts\): .*, `+lastSync+`, 1 error$`), 5*time.Second)
	time.Sleep(2 * time.Second)
	if n := d.stats.Passes(a.Name, 0); n != passes+1 {
		t.Fatalf("%d passes after the manual one, want it alone", n-passes)
	}

	// The right password again: the next manual sync reads it and works.
	write(t, a.PasswordFile, e.Srv.Password+"\n")
	sums, err = control.Sync(context.Background(), sock, engine.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sums {
		if s.Failed() {
			t.Fatalf("sync after the fix: %+v", s)
		}
	}
	back := waitStatus(t, lines, regexp.MustCompile(`^2 calendars, last sync \d\d:\d\d:\d\d, 0 errors$`), 5*time.Second)
	if back == ok {
		t.Errorf("last sync did not move on the pass that worked: %q", back)
	}
}

func TestDaemon_ServerThatNeverAnswers_StatusLineNamesTheTimeout(t *testing.T) {
	dir := t.TempDir()
	url := "http://" + davtest.Silent(t) + "/"
	cfg := &config.Config{StatePath: filepath.Join(dir, "state.db"), Interval: time.Hour, RescanInterval: time.Hour,
		ConflictPolicy: "server-wins", MaxDeleteFraction: 0.5, MaxDeleteMin: 5,
		Accounts: []config.Account{{Name: "mute", URL: url, LocalRoot: filepath.Join(dir, "cal"), ConflictPolicy: "server-wins",
			ResponseTimeout: time.Second}}}
	lines := statusLines(t)
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		// The engine's own transport, so that the configured timeout applies.
		eng := engine.NewEngine(cfg, store, zerolog.Nop())
		done <- Run(ctx, cfg, eng, zerolog.Nop(), RunOptions{SocketPath: "-"})
		store.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	line := waitStatus(t, lines, regexp.MustCompile(`failing`), 10*time.Second)
	want := regexp.MustCompile(`^mute failing since \d\d:\d\d:\d\d \(1 attempt\): .*PROPFIND ` + regexp.QuoteMeta(url) +
		`.*no answer within 1s \(response timeout\); 0 calendars, last sync never, 1 error$`)
	if !want.MatchString(line) {
		t.Fatalf("STATUS=%s\nwant %s", line, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the silent server was reported after %v, want about the 1 s timeout", took)
	}
}

func TestBackoff_LoginRefused_AtMostFourAttemptsAnHour_ThenOneAnHour(t *testing.T) {
	refused := fmt.Errorf("account x: %w", &davclient.Error{Method: "PROPFIND", Status: 401, Err: davclient.ErrUnauthorized})
	for _, iv := range []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute} {
		// The times of the attempts over a day of refusals.
		var at []time.Duration
		var now time.Duration
		for n := 1; now < 24*time.Hour; n++ {
			at = append(at, now)
			now += backoff(iv, n, refused)
		}
		for i, start := range at {
			inHour := 0
			for _, t2 := range at[i:] {
				if t2 < start+time.Hour {
					inHour++
				}
			}
			if inHour > 4 {
				t.Fatalf("interval %v: %d attempts in the hour from %v: %v…", iv, inHour, start, at[:min(len(at), 8)])
			}
		}
		if len(at) > 4+24 {
			t.Fatalf("interval %v: %d attempts in a day: %v…", iv, len(at), at[:8])
		}
		if d := backoff(iv, 30, refused); d > loginBackoffMax {
			t.Fatalf("interval %v: backoff %v over the cap", iv, d)
		}
	}
	// Any other failure keeps the ordinary backoff.
	if d := backoff(time.Minute, 1, fmt.Errorf("connection refused")); d > 7*time.Second {
		t.Fatalf("ordinary failure: backoff %v", d)
	}
}
