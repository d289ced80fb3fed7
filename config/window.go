package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vdird/vdird/engine/window"
)

// Components are the component types `components` may list: those a date
// window applies to.
var Components = []string{"VEVENT", "VTODO", "VJOURNAL"}

// CalendarScope is what of one calendar an account syncs, from its
// [account.calendar.NAME] table: NAME as the calendars key names a
// calendar (folder name, display name, URL path or its last segment).
type CalendarScope struct {
	Name  string
	Scope window.Scope
}

// fileScope is the part of an account, or of one of its calendars, that
// narrows what is synced. A key left out is nil; an empty list is set.
type fileScope struct {
	Window     []string `toml:"window"`
	Components []string `toml:"components"`
}

// ScopeOf is what of the calendar that name denotes the account syncs:
// the scope of its [account.calendar.NAME] table, else the account's.
func (a *Account) ScopeOf(names func(string) bool) window.Scope {
	for _, cs := range a.CalendarScopes {
		if names(cs.Name) {
			return cs.Scope
		}
	}
	return a.Scope
}

// scopes reads the i-th account's window and components and those of its
// calendar tables, over the account's.
func (p parser) scopes(i int, fa fileAccount, a *Account) error {
	at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
	if !a.SyncsCalendars() {
		for key, set := range map[string]bool{"window": fa.Window != nil, "components": fa.Components != nil, "calendar": fa.Calendar != nil} {
			if set {
				return p.bad(at(key), "account %q: %s is set but sync does not list %q", a.Name, key, SyncCalendars)
			}
		}
		return nil
	}
	var err error
	if a.Scope, err = p.scope(a.Name, fa.fileScope, window.Scope{}, at); err != nil {
		return err
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range fa.Calendar {
			if !yield(n) {
				return
			}
		}
	}) {
		cat := func(key string) []string { return p.calendarKey(i, name, key) }
		s, err := p.scope(a.Name+"'s calendar "+name, fa.Calendar[name], a.Scope, cat)
		if err != nil {
			return err
		}
		a.CalendarScopes = append(a.CalendarScopes, CalendarScope{Name: name, Scope: s})
	}
	return nil
}

// scope reads fs over def, for owner (in messages); at locates a key.
func (p parser) scope(owner string, fs fileScope, def window.Scope, at func(string) []string) (window.Scope, error) {
	s := def
	if fs.Window != nil {
		s.Window = nil
		if len(fs.Window) > 0 {
			w, err := window.Parse(fs.Window)
			if err != nil {
				return s, p.bad(at("window"), "%s: window %q: %v", owner, fs.Window, err)
			}
			s.Window = w
		}
	}
	if fs.Components != nil {
		s.Components = nil
		for _, c := range fs.Components {
			u := strings.ToUpper(strings.TrimSpace(c))
			if !slices.Contains(Components, u) {
				return s, p.bad(at("components"), "%s: components %q: want some of %s", owner, c, strings.Join(Components, ", "))
			}
			if !slices.Contains(s.Components, u) {
				s.Components = append(s.Components, u)
			}
		}
	}
	return s, nil
}

// calendarKey locates key in the i-th account's [account.calendar.NAME]
// table for the locator: the header as written after that account's
// [[account]] header, and which of the tables of that spelling it is.
func (p parser) calendarKey(i int, name, key string) []string {
	header := regexp.MustCompile(`^\s*\[\s*account\s*\.\s*calendar\s*\.\s*(.+?)\s*\]`)
	account, seen := -1, map[string]int{}
	for _, ln := range p.loc.lines {
		t := strings.Trim(strings.SplitN(strings.TrimSpace(ln), "#", 2)[0], "[] \t")
		if strings.HasPrefix(strings.TrimSpace(ln), "[[") && t == "account" {
			account++
			continue
		}
		m := header.FindStringSubmatch(ln)
		if m == nil {
			continue
		}
		if account == i && strings.Trim(m[1], `"'`) == name {
			return []string{t, key, fmt.Sprint(seen[t])}
		}
		seen[t]++
	}
	return []string{"account", key, fmt.Sprint(i)}
}
