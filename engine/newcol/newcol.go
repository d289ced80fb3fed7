// Package newcol decides which of an account's local folders become new
// calendars and address books on the server: a pure function of what the
// engine read of the folders and of state, like the planner. It does no
// I/O and logs nothing.
package newcol

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/vdird/vdird/engine/plan"
)

// Folder is a folder under an account's root (or its contacts root, for
// an address book) as Decide sees it.
type Folder struct {
	Path        string    // its path
	Name        string    // its name under the root
	AddressBook bool      // under the account's contacts root
	Meta        plan.Meta // its displayname, color and description files
	Items       int       // its item files
	// ItemComponents are the component types its items hold ("VEVENT",
	// "VTODO", …); read only for a calendar without a components file.
	ItemComponents []string
	// ComponentsFile is what its components file holds, "" when there is
	// none.
	ComponentsFile string
	// Fingerprint stands for its metadata and item files as they are: a
	// refusal holds until it changes.
	Fingerprint string
}

// Input is what Decide decides from, for one account.
type Input struct {
	Folders []Folder
	// Taken are folder paths never made into collections: the folders of
	// the collections state records (of any account, gone from the server
	// or forgotten ones included), of the server's collections as a pass
	// would name them, of subscriptions, and the other accounts' roots.
	Taken map[string]bool
	// Home and BookHome are where new calendars and address books go;
	// "" when the server gave none.
	Home, BookHome string
	// Calendars and AddressBooks are the account's lists; Asked the names
	// given to `vdird sync`. An empty list names every folder.
	Calendars, AddressBooks, Asked []string
	// Refused holds, by path, the fingerprint of each folder the server
	// refused to make a collection of.
	Refused map[string]string
	// Disabled: create_collections = false.
	Disabled bool
	// NameOf is the folder name a pass gives a collection at href
	// (local.CalendarName); a new collection's href must map back to its
	// folder's name.
	NameOf func(href string) string
}

// Collection is a collection to make on the server from a folder.
type Collection struct {
	Folder
	Href       string   // home + the folder's name, escaped, with a trailing slash
	Components []string // a calendar's supported components; nil: the server's default
}

// Note tells the user why a folder is not made into a collection.
type Note struct {
	Path, Note string
}

// Plan is what Decide decides: the collections to make and
// the folders left local with a reason worth telling.
type Plan struct {
	Create []Collection
	Notes  []Note
}

// CalendarComponents are the calendar components a new calendar may be
// made for, in the order they are sent.
var CalendarComponents = []string{"VEVENT", "VTODO", "VJOURNAL"}

// Decide decides which folders become collections on the server,
// in path order. A folder does when it is not hidden, not Taken, holds a
// displayname file or an item, is named by the account's list of its
// kind and by Asked where they are given, and has a name that makes an
// href mapping back to it. create_collections = false leaves it local
// with a note. A folder the server refused is not asked again while its
// fingerprint is as refused, unless Asked names it.
func Decide(in Input) Plan {
	var p Plan
	folders := slices.Clone(in.Folders)
	slices.SortFunc(folders, func(a, b Folder) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range folders {
		if strings.HasPrefix(f.Name, ".") || in.Taken[f.Path] || f.Items == 0 && strings.TrimSpace(f.Meta.DisplayName) == "" {
			continue
		}
		chosen, noun, home := in.Calendars, "calendar", in.Home
		if f.AddressBook {
			chosen, noun, home = in.AddressBooks, "address book", in.BookHome
		}
		asked := len(in.Asked) > 0 && slices.ContainsFunc(in.Asked, f.named)
		if len(chosen) > 0 && !slices.ContainsFunc(chosen, f.named) || len(in.Asked) > 0 && !asked {
			continue
		}
		note := func(format string, args ...any) {
			p.Notes = append(p.Notes, Note{Path: f.Path, Note: fmt.Sprintf(format, args...)})
		}
		if fp, ok := in.Refused[f.Path]; ok && fp == f.Fingerprint && !asked {
			continue
		}
		switch {
		case in.Disabled:
			note("folder %s is not on the server: create_collections = false leaves it local", f.Path)
			continue
		case home == "":
			note("folder %s is not on the server, which gave no %s home to make it in", f.Path, noun)
			continue
		}
		nc := Collection{Folder: f, Href: home + (&url.URL{Path: f.Name}).EscapedPath() + "/"}
		if in.NameOf(nc.Href) != f.Name || strings.ContainsAny(f.Name, "/\\") {
			note("folder %s is not made into a %s: its name cannot be a URL that names it back; rename it", f.Path, noun)
			continue
		}
		if !f.AddressBook {
			var bad string
			if nc.Components, bad = components(f); bad != "" {
				note("folder %s is not made into a calendar: its components file names %q; want %s", f.Path, bad, strings.Join(CalendarComponents, ", "))
				continue
			}
		}
		p.Create = append(p.Create, nc)
	}
	return p
}

// named tells whether n names the folder: its name or its display name.
func (f Folder) named(n string) bool {
	return n != "" && (n == f.Name || n == strings.TrimSpace(f.Meta.DisplayName))
}

// components are the components a new calendar of f is made for: those
// its components file lists (one a line or comma-separated), else those
// its items hold; nil when neither names any. bad is a name in the file
// that is no calendar component.
func components(f Folder) (out []string, bad string) {
	named, fromFile := f.ItemComponents, strings.TrimSpace(f.ComponentsFile) != ""
	if fromFile {
		named = strings.FieldsFunc(f.ComponentsFile, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	}
	want := map[string]bool{}
	for _, n := range named {
		n = strings.ToUpper(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if !slices.Contains(CalendarComponents, n) {
			if fromFile {
				return nil, n
			}
			continue // an item of another kind is the pass's to report
		}
		want[n] = true
	}
	for _, c := range CalendarComponents {
		if want[c] {
			out = append(out, c)
		}
	}
	return out, ""
}
