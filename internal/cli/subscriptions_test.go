package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
)

// holidayFeed serves a small feed with an ETag, and 304 to a GET that
// names it; broken makes it answer with an HTML page.
func holidayFeed(t *testing.T, broken *atomic.Bool, requests *atomic.Int32) *httptest.Server {
	feed := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nX-WR-CALNAME:Holidays\r\n" +
		"BEGIN:VEVENT\r\nUID:ny@example.org\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:20260101\r\nSUMMARY:New Year\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:xmas@example.org\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if broken.Load() {
			_, _ = w.Write([]byte("<html>maintenance</html>"))
			return
		}
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(feed))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCLI_Subscription_SyncFetchesWhenDueOrNamed_StatusShowsIt(t *testing.T) {
	var broken atomic.Bool
	var requests atomic.Int32
	srv := holidayFeed(t, &broken, &requests)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state_path = %q\n[[subscription]]\nname = \"holidays\"\nurl = %q\nlocal_root = %q\n",
		filepath.Join(dir, "state", "state.db"), srv.URL+"/h.ics", filepath.Join(dir, "subs"))), 0o600)

	code, out, errs := cli(t, "--config", cfg, "sync")
	if code != 0 || !strings.Contains(out, "holidays (subscription)") || !strings.Contains(out, "↓2 ✗0 ⚠0") {
		t.Fatalf("first sync: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "subs", "holidays", "xmas@example.org.ics")); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "--config", cfg, "sync")
	if code != 0 || !strings.Contains(out, "not due: next fetch after") || requests.Load() != 1 {
		t.Fatalf("second sync: code %d, %d requests\nout: %s", code, requests.Load(), out)
	}
	code, out, _ = cli(t, "--config", cfg, "sync", "holidays")
	if code != 0 || !strings.Contains(out, "unchanged") || requests.Load() != 2 {
		t.Fatalf("named: code %d, %d requests\nout: %s", code, requests.Load(), out)
	}

	code, out, _ = cli(t, "--config", cfg, "status")
	if code != 0 || !strings.Contains(out, "SUBSCRIPTION") || !strings.Contains(out, "holidays") || strings.Contains(out, "no calendars synced yet") {
		t.Fatalf("status: code %d\nout: %s", code, out)
	}
	code, out, _ = cli(t, "--config", cfg, "status", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || rows[0]["subscription"] != "holidays" || rows[0]["items"] != 2.0 {
		t.Fatalf("status --json: code %d, %v\n%s", code, err, out)
	}

	broken.Store(true)
	code, out, _ = cli(t, "--config", cfg, "sync", "holidays")
	if code != 1 || !strings.Contains(out, "FAILED: subscription holidays, "+srv.URL+"/h.ics: not a whole iCalendar feed") {
		t.Fatalf("broken feed: code %d\nout: %s", code, out)
	}
	code, out, _ = cli(t, "--config", cfg, "status")
	if code != 1 || !strings.Contains(out, "not a whole iCalendar feed") {
		t.Fatalf("status after a broken feed: code %d\nout: %s", code, out)
	}
}

func TestCLI_Subscription_BesideAnAccount_NamingOneLeavesTheOther(t *testing.T) {
	var broken atomic.Bool
	var requests atomic.Int32
	feed := holidayFeed(t, &broken, &requests)
	srv := testserver.Start(t, testserver.Radicale)
	cal := srv.MakeCalendar(t, "work", "Work", "VEVENT")
	srv.Put(t, cal+"a.ics", []byte(fmt.Sprintf(ev, "a", "A")))
	root := filepath.Join(t.TempDir(), "cals")
	cfg := srv.WriteVdirdConfig(t, "t", root)
	subRoot := filepath.Join(t.TempDir(), "subs")
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "\n[[subscription]]\nname = \"holidays\"\nurl = %q\nlocal_root = %q\n", feed.URL+"/h.ics", subRoot)
	f.Close()

	code, out, errs := cli(t, "--config", cfg, "--log-level", "error", "sync", "holidays")
	if code != 0 || !strings.Contains(out, "holidays (subscription)") || strings.Contains(out, "t/work") {
		t.Fatalf("sync holidays: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(root, "work")); !os.IsNotExist(err) {
		t.Fatalf("naming the subscription synced the account: %v", err)
	}
	code, out, errs = cli(t, "--config", cfg, "--log-level", "error", "sync")
	if code != 0 || !strings.Contains(out, "t/work") || !strings.Contains(out, "↓1") || !strings.Contains(out, "not due") {
		t.Fatalf("sync: code %d\nout: %s\nerr: %s", code, out, errs)
	}
	code, out, _ = cli(t, "--config", cfg, "status")
	if code != 0 || !strings.Contains(out, "t/work") || !strings.Contains(out, "SUBSCRIPTION") {
		t.Fatalf("status: code %d\nout: %s", code, out)
	}
}

func TestCompletion_SyncOffersSubscriptionsNotYetNamed(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	toml := fmt.Sprintf("state_path = %q\n[[subscription]]\nname = \"holidays\"\nurl = \"https://127.0.0.1:9/h.ics\"\nlocal_root = %q\n"+
		"[[subscription]]\nname = \"team\"\nurl = \"webcal://127.0.0.1:9/t.ics\"\nlocal_root = %q\n", filepath.Join(dir, "state.db"), dir, dir)
	os.WriteFile(cfg, []byte(toml), 0o600)
	code, out, errs := cli(t, "--config", cfg, "__complete", "sync", "holidays", "")
	if want := "team\n:4\n"; code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("code %d, stdout %q, stderr %q; want stdout to start with %q", code, out, errs, want)
	}
}
