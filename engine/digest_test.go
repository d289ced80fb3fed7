package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// digestAccount is one account behind Apache's Digest authentication, with
// the engine driven through its public API the way `vdird sync` does.
type digestAccount struct {
	t       *testing.T
	backend *testserver.Server // Radicale itself, reached directly by the test
	proxy   *testserver.DigestProxy
	cal     string // calendar href
	root    string
	cfg     *config.Config
}

// newDigestAccount configures the proxy's password, or a wrong one.
func newDigestAccount(t *testing.T, algorithm string, wrongPassword bool) *digestAccount {
	t.Helper()
	backend := testserver.StartOpenRadicale(t)
	d := &digestAccount{t: t, backend: backend, proxy: testserver.StartDigestProxy(t, backend, algorithm),
		cal: backend.MakeCalendar(t, "work", "Work", "VEVENT"), root: t.TempDir()}
	password := d.proxy.Password
	if wrongPassword {
		password = "wrong-password"
	}
	d.cfg = d.config(password)
	return d
}

func (d *digestAccount) config(password string) *config.Config {
	d.t.Helper()
	vc := testserver.VdirdConfig{Dir: d.t.TempDir(), Name: "digest", URL: d.proxy.URL, User: d.proxy.User,
		Password: password, LocalRoot: d.root}
	cfg, err := config.Load(vc.MustWrite(d.t))
	if err != nil {
		d.t.Fatal(err)
	}
	return cfg
}

// sync runs passes with one engine and a fresh store, pausing between them.
func (d *digestAccount) sync(passes int, pause time.Duration) [][]*engine.Summary {
	d.t.Helper()
	store, err := state.Open(d.cfg.StatePath)
	if err != nil {
		d.t.Fatal(err)
	}
	defer store.Close()
	eng := engine.NewEngine(d.cfg, store, zerolog.New(io.Discard))
	var out [][]*engine.Summary
	for i := 0; i < passes; i++ {
		if i > 0 {
			time.Sleep(pause)
		}
		out = append(out, eng.Sync(context.Background(), engine.SyncOptions{}))
	}
	return out
}

func (d *digestAccount) syncOK(passes int, pause time.Duration) {
	d.t.Helper()
	for _, pass := range d.sync(passes, pause) {
		for _, s := range pass {
			if s.Failed() {
				d.t.Fatalf("%s/%s failed: %v %q %q", s.Account, s.Calendar, s.Err, s.Refused, s.Problems)
			}
		}
	}
}

func (d *digestAccount) file(name string) string {
	return filepath.Join(d.root, synctest.CalDir(d.cal), name)
}

// requestsSince returns the proxy's log after its first n entries.
func (d *digestAccount) requestsSince(n int) []testserver.ProxyRequest {
	return d.proxy.Requests(d.t)[n:]
}

func TestSync_BehindApacheDigest_FirstSyncEditsBothWaysAndStaleNonce(t *testing.T) {
	for _, alg := range testserver.DigestAlgorithms(t) {
		t.Run(alg, func(t *testing.T) {
			d := newDigestAccount(t, alg, false)
			for _, uid := range []string{"a", "b", "c"} {
				d.backend.Put(t, d.cal+uid+".ics", synctest.Event(uid, "first "+uid))
			}
			d.syncOK(1, 0)
			for _, uid := range []string{"a", "b", "c"} {
				if b, err := os.ReadFile(d.file(uid + ".ics")); err != nil || !bytes.Contains(b, []byte("first "+uid)) {
					t.Fatalf("%s.ics after the first sync: %q %v", uid, b, err)
				}
			}
			first := d.proxy.Requests(t)
			checkDigestLog(t, first, alg)

			// An edit each way, then two passes of one engine with the
			// nonce going stale between them.
			if err := os.WriteFile(d.file("a.ics"), synctest.Event("a", "edited locally"), 0o600); err != nil {
				t.Fatal(err)
			}
			d.backend.Put(t, d.cal+"b.ics", synctest.Event("b", "edited remotely"))
			d.syncOK(2, testserver.DigestNonceLifetime+time.Second)
			if b, _ := d.backend.Get(t, d.cal+"a.ics"); !bytes.Contains(b, []byte("edited locally")) {
				t.Errorf("server copy of a: %q", b)
			}
			if b, _ := os.ReadFile(d.file("b.ics")); !bytes.Contains(b, []byte("edited remotely")) {
				t.Errorf("local copy of b: %q", b)
			}
			later := d.requestsSince(len(first))
			checkDigestLog(t, later, alg)
			stale := slices.IndexFunc(later, func(r testserver.ProxyRequest) bool { return r.Status == 401 && r.Scheme == "Digest" })
			if stale < 0 || stale+1 >= len(later) || later[stale+1].Status == 401 || later[stale+1].NC != "00000001" {
				t.Errorf("no single retry with a fresh nonce after it went stale: %+v", later)
			}
		})
	}
}

// checkDigestLog checks a run's requests: each refused at most once, and
// every accepted one carried Digest.
func checkDigestLog(t *testing.T, log []testserver.ProxyRequest, alg string) {
	t.Helper()
	for i, r := range log {
		if r.Status == 401 && i+1 < len(log) && log[i+1].Status == 401 {
			t.Errorf("%s: two 401s in a row at %d: %+v", alg, i, log)
		}
		if r.Status != 401 && r.Scheme != "Digest" {
			t.Errorf("%s: request %d accepted without Digest: %+v", alg, i, r)
		}
	}
	if len(log) == 0 {
		t.Errorf("%s: no request reached the proxy", alg)
	}
}

func TestSync_BehindApacheDigest_WrongPassword_OneClearErrorAndNothingTouched(t *testing.T) {
	d := newDigestAccount(t, "MD5", true)
	d.backend.Put(t, d.cal+"a.ics", synctest.Event("a", "on the server"))
	before := d.backend.Members(t, d.cal)
	sums := d.sync(1, 0)[0]
	if len(sums) != 1 || sums[0].Err == nil || !errors.Is(sums[0].Err, davclient.ErrUnauthorized) {
		t.Fatalf("summaries %+v, want one account error matching ErrUnauthorized", sums)
	}
	msg := sums[0].Err.Error()
	for _, part := range []string{"authentication failed for " + d.proxy.User, d.proxy.URL, "401", "check username and password_file"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not name %q", msg, part)
		}
	}
	if log := d.proxy.Requests(t); len(log) > 2 {
		t.Errorf("%d requests for a wrong password, want at most 2: %+v", len(log), log)
	}
	if after := d.backend.Members(t, d.cal); !slices.Equal(before, after) {
		t.Errorf("server changed: %q -> %q", before, after)
	}
	if entries, _ := os.ReadDir(d.root); len(entries) != 0 {
		t.Errorf("local root written: %v", entries)
	}
}

// TestSync_BehindApacheDigest_WrongPasswordAndCalendarNames_OneFailingLogin:
// a sync of named calendars lists the accounts to check the names, and then
// syncs them; with a wrong password the first 401 ends the run's requests
// to the account, so a server that locks an account after a few failed
// logins counts one.
func TestSync_BehindApacheDigest_WrongPasswordAndCalendarNames_OneFailingLogin(t *testing.T) {
	d := newDigestAccount(t, "MD5", true)
	store, err := state.Open(d.cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	eng := engine.NewEngine(d.cfg, store, zerolog.New(io.Discard))
	sums := eng.Sync(context.Background(), engine.SyncOptions{Calendars: []string{"work"}})
	if len(sums) != 1 || !errors.Is(sums[0].Err, davclient.ErrUnauthorized) {
		t.Fatalf("summaries %+v, want one account error matching ErrUnauthorized", sums)
	}
	time.Sleep(300 * time.Millisecond) // Apache logs a request once it has answered it
	// One login: the Basic that goes out before any challenge on loopback,
	// then the answer to the server's Digest challenge, as a sync of every
	// calendar sends.
	var digest int
	log := d.proxy.Requests(t)
	for _, r := range log {
		if r.Status == 401 && r.Scheme == "Digest" {
			digest++
		}
	}
	if digest != 1 || len(log) > 2 {
		t.Errorf("%d requests, %d refused Digest answers; want at most 2 and 1: %+v", len(log), digest, log)
	}
}
