package engine

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
)

// forget runs Engine.Forget on the fixture's state.
func (e *env) forget(undo bool, names ...string) []Forgotten {
	e.t.Helper()
	var out []Forgotten
	e.withStore(func(store *state.Store) {
		var err error
		if out, err = NewEngine(e.Cfg, store, zerolog.Nop()).Forget(names, undo); err != nil {
			e.t.Fatalf("forget %v (undo %v): %v", names, undo, err)
		}
	})
	return out
}

// icsFiles are the item files of cal's folder.
func (e *env) icsFiles(cal string) []string {
	return slices.DeleteFunc(e.LocalNames(cal), func(n string) bool { return !strings.HasSuffix(n, ".ics") })
}

func TestSync_ForgottenCalendarStillOnServer_NotSyncedNorReported_UndoMatchesItByUID(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"a.ics", event("a", "Alpha"))
		e.Srv.Put(t, e.Events+"b.ics", event("b", "Bravo"))
		e.syncOK()
		if f := e.forget(false, "events"); len(f) != 1 || f[0].Calendar != "events" || f[0].AsBefore {
			t.Fatalf("forget: %+v", f)
		}
		if col := e.collectionState(e.Events); col.Forgotten.IsZero() || col.Dir != filepath.Join(e.Root, calDir(e.Events)) || col.Marker != "" {
			t.Fatalf("record after forget: %+v", col)
		}
		e.Srv.Put(t, e.Events+"d.ics", event("d", "Delta"))
		e.WriteFile(e.Events, "c.ics", event("c", "Charlie"))
		e.Rec.Take()
		sums := e.syncOK()
		if s, ok := sums[e.Events]; ok {
			t.Fatalf("a forgotten calendar has a summary: %+v", s)
		}
		for _, r := range e.Rec.Take() {
			if strings.Contains(r.Path, calDir(e.Events)) {
				t.Fatalf("a pass sent a request about the forgotten calendar: %+v", r)
			}
		}
		named := e.sync(SyncOptions{Calendars: []string{"events"}})
		if len(named) != 1 || !strings.Contains(strings.Join(named[0].Notes, "\n"), "vdird forget --undo events") {
			t.Fatalf("a sync naming the forgotten calendar: %+v", named)
		}
		if f := e.forget(false, "events"); !f[0].AsBefore {
			t.Fatalf("forgetting it again: %+v", f)
		}
		if f := e.forget(true, "Events"); len(f) != 1 || f[0].AsBefore {
			t.Fatalf("undo: %+v", f)
		}
		s := e.syncOK()[e.Events]
		if s == nil || s.Downloaded != 1 || s.Uploaded != 1 || s.Conflicts != 0 {
			t.Fatalf("the pass after undo: %+v, want d downloaded and c uploaded, a and b matched by UID", s)
		}
		if got := e.icsFiles(e.Events); len(got) != 4 {
			t.Fatalf("folder after undo: %v, want four items and no duplicate", got)
		}
		if got := e.Srv.Members(t, e.Events); len(got) != 4 {
			t.Fatalf("server after undo: %v, want four items and no duplicate", got)
		}
		e.syncIdle("the pass after")
	})
}

func TestForget_UnknownName_ChangesNothing(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.syncOK()
	e.withStore(func(store *state.Store) {
		_, err := NewEngine(e.Cfg, store, zerolog.Nop()).Forget([]string{"events", "nosuch"}, false)
		var u *UnknownCalendarError
		if !errors.As(err, &u) || !slices.Equal(u.Names, []string{"nosuch"}) || !slices.Contains(u.Calendars, "events") {
			t.Fatalf("Forget with an unknown name: %v", err)
		}
	})
	if col := e.collectionState(e.Events); !col.Forgotten.IsZero() {
		t.Fatalf("a forget with an unknown name forgot events: %+v", col)
	}
}

// goneNote is the note of the summary of cal in sums, "" when it has none.
func goneNote(sums []*Summary, cal string) (string, bool) {
	for _, s := range sums {
		if s.Href == cal {
			return strings.Join(append(s.Notes, s.Problems...), "\n"), true
		}
	}
	return "", false
}

func TestSync_DeleteCollectionsEmpty_EmptyFolderGoes_OneWithItemsStays_NotWhileTheListingIsEmpty(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"a.ics", event("a", "Alpha"))
		a := &e.Cfg.Accounts[0]
		a.Calendars, a.DeleteCollections = nil, config.DeleteEmpty
		e.syncOK()
		tasks := filepath.Join(e.Root, calDir(e.Tasks))
		if names := e.LocalNames(e.Tasks); slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".ics") }) {
			t.Fatalf("the tasks folder holds items: %v", names)
		}
		var others []string
		e.withStore(func(store *state.Store) {
			cols, _ := store.Collections()
			for _, c := range cols {
				if c.Href != e.Events && c.Href != e.Tasks {
					others = append(others, c.Href)
				}
			}
		})
		for _, h := range append(others, e.Events, e.Tasks) {
			e.Srv.Delete(t, h)
		}

		// Nothing listed at all: it may be the server's failure, so both stay.
		note, _ := goneNote(e.sync(SyncOptions{}), e.Tasks)
		if !strings.Contains(note, "listed none") {
			t.Fatalf("an empty listing: note %q", note)
		}
		if _, err := os.Stat(tasks); err != nil {
			t.Fatalf("the tasks folder went on an empty listing: %v", err)
		}

		e.Srv.MakeCalendar(t, "other", "Other", "VEVENT")
		note, _ = goneNote(e.sync(SyncOptions{DryRun: true}), e.Tasks)
		if !strings.Contains(note, "would be removed") {
			t.Fatalf("dry run: note %q", note)
		}
		if _, err := os.Stat(tasks); err != nil {
			t.Fatalf("a dry run removed the tasks folder: %v", err)
		}
		sums := e.sync(SyncOptions{})
		if note, _ := goneNote(sums, e.Tasks); !strings.Contains(note, "was removed") {
			t.Fatalf("the empty folder of the gone calendar: note %q", note)
		}
		if _, err := os.Stat(tasks); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the empty folder of the gone calendar stays: %v", err)
		}
		if note, _ := goneNote(sums, e.Events); !strings.Contains(note, "no longer on the server") || !strings.Contains(note, "a.ics") {
			t.Fatalf("the gone calendar with an item: note %q", note)
		}
		if !strings.Contains(string(e.ReadFile(e.Events, "a.ics")), "Alpha") {
			t.Fatal("the item of the gone calendar changed")
		}
		sums = e.sync(SyncOptions{})
		if _, ok := goneNote(sums, e.Tasks); ok {
			t.Fatal("the removed calendar is still reported")
		}
		if _, ok := goneNote(sums, e.Events); !ok {
			t.Fatal("the gone calendar with an item is no longer reported")
		}
		e.withStore(func(store *state.Store) {
			cols, _ := store.Collections()
			if slices.ContainsFunc(cols, func(c state.Collection) bool { return c.Href == e.Tasks }) {
				t.Fatal("the removed calendar's record stays")
			}
		})
	})
}

func TestForget_NameOfCollectionsInTwoAccounts_RefusedListingThem_AccountSlashNameChoosesOne(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	second := e.Cfg.Accounts[0]
	second.Name, second.LocalRoot = "second", filepath.Join(t.TempDir(), "second")
	e.Cfg.Accounts = append(e.Cfg.Accounts, second)
	e.syncOK()
	first := e.Cfg.Accounts[0].Name
	e.withStore(func(store *state.Store) {
		_, err := NewEngine(e.Cfg, store, zerolog.Nop()).Forget([]string{"events"}, false)
		var a *AmbiguousCalendarError
		if !errors.As(err, &a) || !slices.Equal(slices.Sorted(slices.Values(a.Matches)), slices.Sorted(slices.Values([]string{first + "/events", "second/events"}))) ||
			!strings.Contains(err.Error(), "ACCOUNT/NAME") {
			t.Fatalf("Forget of a name in two accounts: %v", err)
		}
		cols, _ := store.Collections()
		if slices.ContainsFunc(cols, func(c state.Collection) bool { return !c.Forgotten.IsZero() }) {
			t.Fatalf("a refused forget forgot something: %+v", cols)
		}
	})
	if f := e.forget(false, "second/Events"); len(f) != 1 || f[0].Account != "second" || f[0].Calendar != "events" || f[0].Name != "second/events" {
		t.Fatalf("forget second/Events: %+v", f)
	}
	e.withStore(func(store *state.Store) {
		cols, _ := store.Collections()
		for _, c := range cols {
			if want := c.Account == "second" && filepath.Base(c.Dir) == "events"; c.Forgotten.IsZero() == want {
				t.Fatalf("after forget second/Events, %s %s forgotten: %v", c.Account, c.Dir, !c.Forgotten.IsZero())
			}
		}
	})
}

func TestForget_CalendarAndAddressBookOfOneNameInOneAccount_RefusedListingTheirPaths_APathForgetsOne(t *testing.T) {
	// Xandikos keeps address books apart from calendars, so both can be "events".
	e := newEnv(t, testserver.Xandikos)
	book := e.AddAddressBook("events", "Events")
	e.syncOK()
	calDir, bookDir := filepath.Join(e.Root, "events"), filepath.Join(e.Contacts, "events")
	e.withStore(func(store *state.Store) {
		_, err := NewEngine(e.Cfg, store, zerolog.Nop()).Forget([]string{"events"}, false)
		var a *AmbiguousCalendarError
		if !errors.As(err, &a) || !a.ByPath || !slices.Equal(slices.Sorted(slices.Values(a.Matches)), slices.Sorted(slices.Values([]string{calDir, bookDir}))) {
			t.Fatalf("Forget of a calendar's and an address book's name: %v", err)
		}
		cols, _ := store.Collections()
		if slices.ContainsFunc(cols, func(c state.Collection) bool { return !c.Forgotten.IsZero() }) {
			t.Fatalf("a refused forget forgot something: %+v", cols)
		}
	})
	f := e.forget(false, bookDir)
	if len(f) != 1 || !f[0].AddressBook || f[0].Dir != bookDir || f[0].Name != bookDir {
		t.Fatalf("forget %s: %+v", bookDir, f)
	}
	e.withStore(func(store *state.Store) {
		cols, _ := store.Collections()
		for _, c := range cols {
			if want := c.Dir == bookDir; c.Forgotten.IsZero() == want {
				t.Fatalf("after forget of the address book %s, %s forgotten: %v", book, c.Dir, !c.Forgotten.IsZero())
			}
		}
	})
}
