package daemon

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/subscription"
)

// subscriptionConfig is a config holding one subscription of url, with
// its folder and the state in a temporary directory.
func subscriptionConfig(t *testing.T, url string) *config.Config {
	dir := t.TempDir()
	cfg := &config.Config{Path: filepath.Join(dir, "config.toml"), StatePath: filepath.Join(dir, "state", "state.db"),
		Interval: time.Minute, RescanInterval: time.Hour, MaxDeleteFraction: 0.5, MaxDeleteMin: 5}
	cfg.Subscriptions = []config.Subscription{{Name: "holidays", URL: url, Interval: config.MinSubscriptionInterval,
		LocalRoot: filepath.Join(dir, "subs"), Dir: filepath.Join(dir, "subs", "holidays"),
		StateFile: filepath.Join(dir, "state", "subscriptions", "holidays.json"), ConnectTimeout: 5 * time.Second, ResponseTimeout: 10 * time.Second}}
	os.MkdirAll(filepath.Dir(cfg.StatePath), 0o700)
	return cfg
}

func TestDaemon_Subscription_FetchedAtStart_BacksOffAfterAnError_StopsWithTheDaemon(t *testing.T) {
	var requests atomic.Int32
	var failing atomic.Bool
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:ny\r\nDTSTAMP:20250101T000000Z\r\n" +
			"DTSTART;VALUE=DATE:20260101\r\nSUMMARY:New Year\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	}))
	defer feed.Close()
	cfg := subscriptionConfig(t, feed.URL+"/h.ics")
	sub := &cfg.Subscriptions[0]

	d := startDaemon(t, cfg, RunOptions{})
	if !waitFor(10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(sub.Dir, "ny.ics"))
		return err == nil
	}) {
		t.Fatal("the subscription was not fetched at start")
	}
	time.Sleep(300 * time.Millisecond)
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests: want one fetch, then none until the interval passed", n)
	}
	if took := d.stop(); took > 5*time.Second {
		t.Fatalf("stopping took %v", took)
	}

	// A restart within the interval does not fetch again.
	d = startDaemon(t, cfg, RunOptions{})
	time.Sleep(300 * time.Millisecond)
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests: a restart within the interval fetched again", n)
	}
	d.stop()

	// A feed never fetched is fetched at once; when it fails, it is left
	// alone for the backoff.
	failing.Store(true)
	os.Remove(sub.StateFile)
	d = startDaemon(t, cfg, RunOptions{})
	if !waitFor(10*time.Second, func() bool { return requests.Load() == 2 }) {
		t.Fatalf("%d requests: want the failing fetch", requests.Load())
	}
	time.Sleep(500 * time.Millisecond)
	st, _ := subscription.StatusOf(sub)
	if n := requests.Load(); n != 2 || !strings.Contains(st.LastError, "503") {
		t.Fatalf("%d requests, last error %q: want one attempt recorded, then the backoff", n, st.LastError)
	}
	d.stop()
}
