package report

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vdird/vdird/engine"
)

func TestStatus_ForgottenAndRefusedFolderRows_AndAnAddressBook_ShortInTheTable_WhyBelow_FitsAnEightyColumnTerminal(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	refusal := "the server refused to make the folder /home/alice/.calendars/trips into a calendar: " +
		"MKCALENDAR https://dav.example.org/alice/trips/: 403 Forbidden; " +
		"it is not asked again until the folder changes or `vdird sync trips` names it"
	sts := []engine.CalendarStatus{
		{Account: "home", Calendar: "events", Dir: "/home/alice/.calendars/events", LastSync: now.Add(-5 * time.Minute), PendingLocal: 1,
			ConflictFiles: []string{"a.conflict-1.ics"}},
		{Account: "home", Calendar: "old", Dir: "/home/alice/.calendars/old", Forgotten: now.Add(-3 * time.Hour)},
		{Account: "home", Calendar: "trips", Dir: "/home/alice/.calendars/trips", Refused: refusal, NotMade: true},
		{Account: "home", Calendar: "contacts", Dir: "/home/alice/.contacts/contacts", LastSync: now.Add(-5 * time.Minute),
			AddressBook: true},
		{Account: "home", Calendar: "tasks", Dir: "/home/alice/.calendars/tasks", LastSync: now.Add(-5 * time.Minute),
			Refused: "would delete 8 of 10 items"},
	}
	var b strings.Builder
	Status(&b, sts, now)
	want := `COLLECTION     KIND  LAST SYNC                     PENDING  CONFLICTS  ERROR
home/events    cal   2026-03-01 11:55:00 (5m ago)  1        1          -
home/old       cal   -                             -        -          forgotten
home/trips     cal   -                             -        -          not made
home/contacts  book  2026-03-01 11:55:00 (5m ago)  0        0          -
home/tasks     cal   2026-03-01 11:55:00 (5m ago)  0        0          refused by a safety guard: would delete 8 of 10 items
conflict copy: /home/alice/.calendars/events/a.conflict-1.ics
home/old: forgotten 2026-03-01 09:00:00 (3h ago); "vdird forget --undo old" syncs it again
home/trips: ` + refusal + "\n"
	if got := b.String(); got != want {
		t.Fatalf("status:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range strings.Split(want, "\n")[:5] {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a table row of %d columns: %q", n, l)
		}
	}
}

func TestStatus_ForgottenNameInTwoAccounts_UndoNamesTheAccount(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	sts := []engine.CalendarStatus{
		{Account: "home", Calendar: "work", LastSync: now},
		{Account: "office", Calendar: "work", Forgotten: now},
	}
	var b strings.Builder
	Status(&b, sts, now)
	if !strings.Contains(b.String(), `"vdird forget --undo office/work"`) {
		t.Fatalf("status:\n%s\nwant the undo to name the account", b.String())
	}
}

func TestStatus_ForgottenNameOfACalendarAndAnAddressBook_UndoNamesTheFolderPath(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	sts := []engine.CalendarStatus{
		{Account: "home", Calendar: "personal", Dir: "/home/alice/.calendars/personal", LastSync: now},
		{Account: "home", Calendar: "personal", Dir: "/home/alice/.contacts/personal", AddressBook: true, Forgotten: now},
	}
	var b strings.Builder
	Status(&b, sts, now)
	if !strings.Contains(b.String(), `"vdird forget --undo /home/alice/.contacts/personal"`) {
		t.Fatalf("status:\n%s\nwant the undo to name the folder's path", b.String())
	}
}
