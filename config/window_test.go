package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfig_Window_AccountAndPerCalendarTables(t *testing.T) {
	cfg, err := Parse("c", []byte(`[[account]]
name = "a"
url = "https://x/"
local_root = "/tmp/a"
window = ["-30d", "+365d"]
components = ["vevent"]

[account.calendar.work]
window = ["-1w", "+3m"]

[account.calendar."My Tasks"]
window = []
components = ["VTODO", "VJOURNAL"]

[[account]]
name = "b"
url = "https://y/"
local_root = "/tmp/b"

[account.calendar.work]
components = ["VEVENT"]
`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	a, b := cfg.Accounts[0], cfg.Accounts[1]
	if a.Scope.Window == nil || a.Scope.Window.Start.String() != "-30d" || a.Scope.Window.End.String() != "+365d" ||
		!slices.Equal(a.Scope.Components, []string{"VEVENT"}) {
		t.Fatalf("account scope %+v", a.Scope)
	}
	is := func(name string) func(string) bool { return func(n string) bool { return n == name } }
	work := a.ScopeOf(is("work"))
	if s, e, _ := work.Range(now); s != time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC) || e != time.Date(2026, 9, 11, 0, 0, 0, 0, time.UTC) ||
		!slices.Equal(work.Components, []string{"VEVENT"}) {
		t.Errorf("work: %v–%v %v: its own window, the account's components", s, e, work.Components)
	}
	if tasks := a.ScopeOf(is("My Tasks")); tasks.Window != nil || !slices.Equal(tasks.Components, []string{"VTODO", "VJOURNAL"}) {
		t.Errorf("My Tasks: %+v, want no window and its own components", tasks)
	}
	if other := a.ScopeOf(is("home")); other.Window != a.Scope.Window {
		t.Errorf("a calendar without a table takes the account's scope: %+v", other)
	}
	if w := b.ScopeOf(is("work")); w.Window != nil || !slices.Equal(w.Components, []string{"VEVENT"}) {
		t.Errorf("b's work: %+v", w)
	}
	if b.Scope.Narrowed() {
		t.Errorf("b syncs whole calendars: %+v", b.Scope)
	}
}

func TestConfig_Window_BadValuesNameTheLine(t *testing.T) {
	head := "[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/tmp/a\"\n"
	for name, tc := range map[string]struct {
		text string
		line int
		want string
	}{
		"hours":              {head + "window = [\"-30h\", \"+1d\"]\n", 5, `"-30h"`},
		"one offset":         {head + "window = [\"-30d\"]\n", 5, "two offsets"},
		"end before start":   {head + "window = [\"+30d\", \"-30d\"]\n", 5, "start must come before the end"},
		"unknown component":  {head + "components = [\"VCARD\"]\n", 5, "VEVENT, VTODO, VJOURNAL"},
		"calendar table":     {head + "[account.calendar.work]\nwindow = [\"soon\", \"+1y\"]\n", 6, "calendar work: window"},
		"second account's":   {head + "[account.calendar.work]\nwindow = [\"-1d\", \"+1y\"]\n" + strings.Replace(head, `"a"`, `"b"`, 1)[:len(head)-len("local_root = \"/tmp/a\"\n")] + "local_root = \"/tmp/b\"\n[account.calendar.work]\n\nwindow = [\"-1d\", \"x\"]\n", 13, `"x"`},
		"unknown key":        {head + "[account.calendar.work]\nwindows = [\"-1d\", \"+1y\"]\n", 6, "unknown key"},
		"address books only": {"[[account]]\nname = \"a\"\nurl = \"https://x/\"\nsync = [\"addressbooks\"]\nwindow = [\"-1d\", \"+1d\"]\n", 5, "sync does not list"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want Error", err)
			}
			if ce.Line != tc.line || !strings.Contains(ce.Error(), tc.want) {
				t.Fatalf("got %q (line %d), want line %d containing %q", ce.Error(), ce.Line, tc.line, tc.want)
			}
		})
	}
}
