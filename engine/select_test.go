package engine

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vdird/vdird/davclient"

	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// TestSync_SelectsByFolderName_UnescapedAndSuffixed: `vdird sync NAME` and
// the account's calendars list take the local folder name as well as the
// display name, the href and its last segment. The folder of `my%20cal` is
// "my cal"; the live events calendar gets "events-2" because a calendar gone
// from the server still owns "events". A name that matches nothing is an
// error listing the calendars, and nothing is synced.
func TestSync_SelectsByFolderName_UnescapedAndSuffixed(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	team := e.Srv.MakeCalendar(t, "my%20cal", "Team", "VEVENT")
	e.Srv.Put(t, team+"a.ics", event("a", "in team"))
	e.Srv.Put(t, e.Events+"b.ics", event("b", "in events"))
	e.Cfg.Accounts[0].Calendars = nil
	a := &e.Cfg.Accounts[0]

	gone := "/gone/"
	store, err := state.Open(e.Cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	key := collectionKey(a, davclient.Calendar{Href: gone})
	err = store.Update(key, func(tx *state.Tx) error {
		return tx.SetCollection(state.Collection{Key: key, Account: a.Name, Href: gone, Dir: filepath.Join(e.Root, "events")})
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}

	synced := func(opts SyncOptions) []string {
		t.Helper()
		var got []string
		for _, s := range e.sync(opts) {
			if s.Failed() {
				t.Fatalf("sync %q: %s failed: err=%v problems=%v", opts.Calendars, s.Calendar, s.Err, s.Problems)
			}
			if s.Href != gone {
				got = append(got, s.Calendar)
			}
		}
		return got
	}
	for _, step := range []struct{ name, want string }{
		{"events-2", "events-2"}, // a new calendar: the folder it is about to get
		{"my cal", "my cal"},
		{"events-2", "events-2"}, // a known calendar: the folder state records
		{"Team", "my cal"},
		{"my%20cal", "my cal"},
		{team, "my cal"},
		{e.Events, "events-2"},
		{"Events", "events-2"},
	} {
		if got := synced(SyncOptions{Calendars: []string{step.name}}); !slices.Equal(got, []string{step.want}) {
			t.Errorf("vdird sync %q synced %q, want [%q]", step.name, got, step.want)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Root, "my cal", "a.ics")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "events-2", "b.ics")); err != nil {
		t.Error(err)
	}

	a.Calendars = []string{"my cal", "events-2"}
	if got := synced(SyncOptions{}); !slices.Equal(got, []string{"events-2", "my cal"}) {
		t.Errorf("calendars = [\"my cal\", \"events-2\"] synced %q", got)
	}

	// Naming a calendar costs no extra listing: with nothing to do, one
	// request, as a sync of everything.
	e.Rec.Take()
	synced(SyncOptions{Calendars: []string{"my cal"}})
	if reqs := e.Rec.Take(); len(reqs) != 1 {
		t.Errorf("vdird sync \"my cal\" with nothing to do made %d requests, want 1: %+v", len(reqs), reqs)
	}

	a.Calendars = nil
	sums := e.sync(SyncOptions{Calendars: []string{"nosuch", "Team"}})
	var unknown *UnknownCalendarError
	if len(sums) != 1 || !errors.As(sums[0].Err, &unknown) {
		t.Fatalf("an unknown name: summaries %+v, want one UnknownCalendarError", sums)
	}
	wantCals := []string{"events-2 (Events)", "my cal (Team)", "tasks (Tasks)"}
	if !slices.Equal(unknown.Names, []string{"nosuch"}) || !slices.Equal(unknown.Calendars, wantCals) {
		t.Errorf("unknown names %q, calendars %q; want [nosuch] and %q", unknown.Names, unknown.Calendars, wantCals)
	}
	if want := `no calendar named "nosuch"; calendars: events-2 (Events), my cal (Team), tasks (Tasks)`; unknown.Error() != want {
		t.Errorf("error %q, want %q", unknown.Error(), want)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "tasks")); !os.IsNotExist(err) {
		t.Errorf("a sync with an unknown name synced tasks: %v", err)
	}
}

// TestSync_TwoAccounts_AccountSlashNameSyncsThatAccountsCalendarAlone:
// `vdird sync ACCOUNT/NAME` takes any of the names above after the
// account's name, as the error for an unknown name lists the calendars
// of several accounts.
func TestSync_TwoAccounts_AccountSlashNameSyncsThatAccountsCalendarAlone(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	second := e.Cfg.Accounts[0]
	second.Name, second.LocalRoot = "second", filepath.Join(t.TempDir(), "second")
	e.Cfg.Accounts = append(e.Cfg.Accounts, second)
	for _, name := range []string{"second/events", "second/Events", "second/" + e.Events} {
		var got []string
		for _, s := range e.sync(SyncOptions{Calendars: []string{name}}) {
			if s.Failed() {
				t.Fatalf("sync %q: %+v", name, s)
			}
			got = append(got, s.Account+"/"+s.Calendar)
		}
		if !slices.Equal(got, []string{"second/events"}) {
			t.Errorf("vdird sync %q synced %q, want [second/events]", name, got)
		}
	}
	sums := e.sync(SyncOptions{Calendars: []string{"nosuch/events"}})
	var u *UnknownCalendarError
	if len(sums) != 1 || !errors.As(sums[0].Err, &u) || !slices.Contains(u.Calendars, "second/events (Events)") {
		t.Fatalf("vdird sync nosuch/events: %+v, want an UnknownCalendarError listing second/events", sums)
	}
}
