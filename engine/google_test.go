package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/googletest"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/state"
)

// googleEnv is an oauth2 account on the Google fake, authorised already.
type googleEnv struct {
	t       *testing.T
	o       *googletest.OAuth
	g       *googletest.CalDAV
	cfg     *config.Config
	root    string
	log     bytes.Buffer // every pass's log, at debug level
	secrets []string     // the tokens issued, which must never show
}

const (
	primary = "alice@gmail.com"
	team    = "team@group.calendar.google.com"
)

// newGoogleEnv sets up the account with a token file whose access token
// lasts for tokenLife.
func newGoogleEnv(t *testing.T, tokenLife time.Duration) *googleEnv {
	o := googletest.NewOAuth(t)
	e := &googleEnv{t: t, o: o, g: googletest.NewCalDAV(t, o, primary)}
	dir := t.TempDir()
	e.root = filepath.Join(dir, "calendars")
	tokenFile := filepath.Join(dir, "state", "oauth-google.json")
	e.cfg = &config.Config{StatePath: filepath.Join(dir, "state", "state.db"), ConflictPolicy: "server-wins",
		Interval: config.DefaultInterval, RescanInterval: config.DefaultRescanInterval, MaxDeleteFraction: 0.5, MaxDeleteMin: 5,
		Accounts: []config.Account{{Name: "google", URL: e.g.URL + "/caldav/v2/", Auth: "oauth2", LocalRoot: e.root,
			ConflictPolicy: "server-wins", ConnectTimeout: config.DefaultConnectTimeout, ResponseTimeout: config.DefaultResponseTimeout,
			OAuth: config.OAuth{ClientID: googletest.ClientID, ClientSecret: googletest.ClientSecret, AuthURL: o.AuthURL,
				TokenURL: o.TokenURL, Scopes: []string{googletest.Scope}, TokenFile: tokenFile}}}}
	access, refresh := o.Issue(tokenLife)
	e.secrets = append(e.secrets, access, refresh)
	data, _ := json.Marshal(&oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", Expiry: time.Now().Add(tokenLife)})
	if err := os.MkdirAll(filepath.Dir(tokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// sync runs one pass as `vdird sync` does, logging at debug level into
// e.log, and returns the summaries by calendar folder.
func (e *googleEnv) sync() map[string]*Summary {
	e.t.Helper()
	store, err := state.Open(e.cfg.StatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	out := map[string]*Summary{}
	for _, s := range NewEngine(e.cfg, store, zerolog.New(&e.log).Level(zerolog.DebugLevel)).Sync(context.Background(), SyncOptions{}) {
		out[s.Calendar] = s
	}
	return out
}

// syncOK is sync, failing the test on a calendar that failed.
func (e *googleEnv) syncOK() map[string]*Summary {
	e.t.Helper()
	sums := e.sync()
	for _, s := range sums {
		if s.Err != nil || s.Refused != "" {
			e.t.Fatalf("%s failed: %v %s", s.Calendar, s.Err, s.Refused)
		}
	}
	return sums
}

func (e *googleEnv) dir(id string) string { return filepath.Join(e.root, id) }

// local reads calendar id's folder: file name → bytes.
func (e *googleEnv) local(id string) map[string][]byte {
	e.t.Helper()
	ents, err := os.ReadDir(e.dir(id))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, de := range ents {
		if strings.HasSuffix(de.Name(), ".ics") {
			out[de.Name()], _ = os.ReadFile(filepath.Join(e.dir(id), de.Name()))
		}
	}
	return out
}

// noSecrets fails the test when a token issued so far shows in the log or
// in what the passes reported.
func (e *googleEnv) noSecrets(sums ...map[string]*Summary) {
	e.t.Helper()
	text := e.log.String()
	for _, m := range sums {
		for _, s := range m {
			text += fmt.Sprintf("%v %v %v %v", s.Err, s.Problems, s.Skipped, s.Notes)
		}
	}
	for _, sec := range e.secrets {
		if strings.Contains(text, sec) {
			e.t.Errorf("a token shows in the log or the summary")
		}
	}
}

// googleWrites are the PUT and DELETE requests among reqs.
func googleWrites(reqs []string) []string {
	return slices.DeleteFunc(reqs, func(r string) bool { return !strings.HasPrefix(r, "PUT ") && !strings.HasPrefix(r, "DELETE ") })
}

func TestSync_Google_ExpiringTokenRenewedCalendarsBesideTheHomeInFoldersNamedByID(t *testing.T) {
	e := newGoogleEnv(t, 30*time.Second)
	e.g.AddCalendar(team, "Team")
	e.g.Put(primary, "a@google.com.ics", synctest.Event("a@google.com", "dentist"))
	e.g.Put(team, "b@google.com.ics", synctest.Event("b@google.com", "standup"))
	sums := e.syncOK()
	if sums[primary] == nil || sums[team] == nil || sums[primary].Downloaded != 1 || sums[team].Downloaded != 1 {
		t.Fatalf("summaries %v", sums)
	}
	if got := e.local(team); !bytes.Contains(got["b@google.com.ics"], []byte("standup")) || len(got) != 1 {
		t.Errorf("team folder: %v", got)
	}
	if e.o.Refreshes() != 1 {
		t.Errorf("%d token refreshes; want 1 for a token about to expire", e.o.Refreshes())
	}
	tok, _ := os.ReadFile(e.cfg.Accounts[0].OAuth.TokenFile)
	var ft oauth2.Token
	_ = json.Unmarshal(tok, &ft)
	e.secrets = append(e.secrets, ft.AccessToken)
	again := e.syncOK()
	if !again[primary].Unchanged || !again[team].Unchanged || e.o.Refreshes() != 1 {
		t.Errorf("second pass: %+v %+v after %d refreshes", again[primary], again[team], e.o.Refreshes())
	}
	if !strings.Contains(e.log.String(), "PROPFIND") {
		t.Fatal("the debug log shows no request: the check below would prove nothing")
	}
	e.noSecrets(sums, again)
}

func TestSync_Google_SyncCollectionIn507Pages_EveryChangeArrives(t *testing.T) {
	e := newGoogleEnv(t, time.Hour)
	for i := range 3 {
		e.g.Put(primary, fmt.Sprintf("old%d.ics", i), synctest.Event(fmt.Sprintf("old%d", i), "old"))
	}
	e.syncOK()
	e.g.PageSize = 2
	for i := range 5 {
		e.g.Put(primary, fmt.Sprintf("new%d.ics", i), synctest.Event(fmt.Sprintf("new%d", i), "new"))
	}
	e.g.Put(primary, "old0.ics", synctest.Event("old0", "moved to Tuesday"))
	e.g.Requests()
	s := e.syncOK()[primary]
	reports := 0
	for _, r := range e.g.Requests() {
		if strings.HasPrefix(r, "REPORT") {
			reports++
		}
	}
	if s.Downloaded != 6 || reports < 3 {
		t.Errorf("downloaded %d after %d REPORTs; want all 6 changes over 3 pages", s.Downloaded, reports)
	}
	if got := e.local(primary); len(got) != 8 || !bytes.Contains(got["old0.ics"], []byte("moved to Tuesday")) {
		t.Errorf("local folder holds %d files", len(got))
	}
	if again := e.syncOK()[primary]; !again.Unchanged {
		t.Errorf("next pass: %+v", again)
	}
}

func TestSync_Google_TaskInAnEventsOnlyCalendar_ReportedEveryPassNeverSent(t *testing.T) {
	e := newGoogleEnv(t, time.Hour)
	e.g.Put(primary, "a.ics", synctest.Event("a", "dentist"))
	e.syncOK()
	if err := os.WriteFile(filepath.Join(e.dir(primary), "todo.ics"), synctest.Task("todo-1", "buy milk"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.g.Requests()
	for pass := range 2 {
		s := e.sync()[primary]
		if !strings.Contains(fmt.Sprint(s.Skipped), "todo.ics") || !strings.Contains(fmt.Sprint(s.Skipped), "VTODO") {
			t.Errorf("pass %d: the task is not reported: skipped %q, problems %q", pass, s.Skipped, s.Problems)
		}
	}
	if w := googleWrites(e.g.Requests()); len(w) != 0 {
		t.Errorf("writes sent for a task Google cannot hold: %q", w)
	}
	if _, err := os.Stat(filepath.Join(e.dir(primary), "todo.ics")); err != nil {
		t.Errorf("the task file: %v", err)
	}
}

func TestSync_Google_NewEventStoredAtItsUIDsHref_RecordedThereOnce(t *testing.T) {
	e := newGoogleEnv(t, time.Hour)
	e.g.Put(primary, "a.ics", synctest.Event("a", "dentist"))
	e.syncOK()
	if err := os.WriteFile(filepath.Join(e.dir(primary), "lunch.ics"), synctest.Event("lunch-1@example.org", "lunch"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := e.syncOK()[primary]; s.Uploaded != 1 {
		t.Fatalf("create: %+v", s)
	}
	objs := e.g.Objects(primary)
	if _, ok := objs["lunch-1@example.org.ics"]; !ok || len(objs) != 2 {
		t.Fatalf("server holds %d objects, the new one at its UID's href %v", len(objs), ok)
	}
	e.g.Requests()
	s := e.syncOK()[primary]
	if changed(s) != 0 || len(googleWrites(e.g.Requests())) != 0 || len(e.local(primary)) != 2 {
		t.Errorf("pass after the create: %+v, %d local files; want nothing to do", s, len(e.local(primary)))
	}
}

func TestSync_Google_RecurringEditRefused409_ReportedTheOtherEditUploaded(t *testing.T) {
	e := newGoogleEnv(t, time.Hour)
	e.g.Put(primary, "weekly.ics", synctest.Event("weekly", "weekly sync"))
	e.g.Put(primary, "once.ics", synctest.Event("once", "one-off"))
	e.syncOK()
	e.g.Conflict(primary, "weekly.ics")
	for uid, summary := range map[string]string{"weekly": "weekly sync, this week on Friday", "once": "one-off, moved"} {
		if err := os.WriteFile(filepath.Join(e.dir(primary), uid+".ics"), synctest.Event(uid, summary), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for pass := range 2 {
		s := e.sync()[primary]
		if s.Err != nil || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "weekly.ics") || !strings.Contains(s.Problems[0], "409") {
			t.Errorf("pass %d: err %v, problems %q; want the refused edit reported", pass, s.Err, s.Problems)
		}
	}
	objs := e.g.Objects(primary)
	if !bytes.Contains(objs["once.ics"], []byte("one-off, moved")) || bytes.Contains(objs["weekly.ics"], []byte("Friday")) {
		t.Errorf("server: once %q, weekly %q", objs["once.ics"], objs["weekly.ics"])
	}
	if !bytes.Contains(e.local(primary)["weekly.ics"], []byte("Friday")) {
		t.Error("the refused local edit is gone")
	}
}

func TestSync_Google_GrantRevoked_PassFailsSayingReauthorise(t *testing.T) {
	e := newGoogleEnv(t, 10*time.Second)
	e.g.Put(primary, "a.ics", synctest.Event("a", "dentist"))
	e.o.Revoke()
	sums := e.sync()
	var msgs []string
	for _, s := range sums {
		if s.Err != nil {
			msgs = append(msgs, s.Err.Error())
		}
	}
	want := "account google: re-authorise with `vdird authorize google`: the token was revoked or expired (a Testing-mode Google project's tokens last 7 days)"
	if len(msgs) != 1 || msgs[0] != want {
		t.Fatalf("errors %q; want one containing %q", msgs, want)
	}
	if _, err := os.Stat(e.root); !os.IsNotExist(err) {
		t.Errorf("local root touched: %v", err)
	}
	if e.o.Refreshes() != 1 {
		t.Errorf("%d refresh requests; want 1", e.o.Refreshes())
	}
	e.noSecrets(sums)
}
