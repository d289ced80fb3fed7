// Package gone decides what becomes of the calendars and address books
// that state records and the server's listing no longer shows: reported,
// left alone when forgotten, or, under delete_collections = "empty",
// removed with their empty folder. Pure: no I/O, no clock, no logging.
package gone

import (
	"slices"
	"strings"
)

// Op is what becomes of a collection that state records and the
// server's listing no longer shows.
type Op int

const (
	// Quiet: the collection is forgotten (`vdird forget`), so nothing
	// is done and nothing said.
	Quiet Op = iota + 1
	// Report: its folder is left as it is and the pass says so.
	Report
	// Remove: its folder holds no item, only metadata files (Files),
	// which are removed with the folder and the state record.
	Remove
	// Drop: its folder is gone too; only the state record is dropped.
	Drop
)

// Entry is one name in a collection's folder.
type Entry struct {
	Name    string
	Regular bool // a plain file, not a folder, symlink or other
}

// Collection is one collection state records that the listing no longer shows.
type Collection struct {
	Key       string
	Forgotten bool
	// Missing: its folder is not there. Entries is what it holds
	// otherwise.
	Missing bool
	Entries []Entry
	// ListedNone: the listing showed no collection at all of this one's
	// kind, which may be a server that answered with an empty list.
	ListedNone bool
}

// Input is the collections gone from one account's listing and how to
// treat their folders.
type Input struct {
	Gone []Collection
	// RemoveEmpty is delete_collections = "empty": an empty folder of a
	// collection gone from the server goes too.
	RemoveEmpty bool
	// Fresh: the listing was just read from the server (not one reused
	// from an earlier pass).
	Fresh bool
	// MetaFiles are the names of the metadata files (displayname, color,
	// description) a folder may hold and still count as empty.
	MetaFiles []string
}

// Action is the decision for one gone collection. Why says, for a
// report under RemoveEmpty, why the folder stays.
type Action struct {
	Key   string
	Op    Op
	Files []string // Remove: the metadata files to remove first
	Why   string
}

// Plan decides what becomes of each collection gone from the server.
// A forgotten one is left alone without a word. Otherwise the folder stays
// and is reported, unless RemoveEmpty is set, the listing is fresh and
// shows other collections of the kind (an empty listing proves nothing),
// and the folder holds nothing but metadata files: then it goes, with
// its record.
func Plan(in Input) []Action {
	out := make([]Action, 0, len(in.Gone))
	for _, g := range in.Gone {
		a := Action{Key: g.Key, Op: Report}
		switch {
		case g.Forgotten:
			a.Op = Quiet
		case !in.RemoveEmpty:
		case !in.Fresh:
			a.Why = "the list of collections was not read from the server in this pass"
		case g.ListedNone:
			a.Why = "the server listed none of this kind, which may be a failure of its own"
		case g.Missing:
			a.Op = Drop
		default:
			a.Op, a.Files, a.Why = removable(g.Entries, in.MetaFiles)
		}
		out = append(out, a)
	}
	return out
}

// removable tells whether a folder holding entries may go: only when
// every entry is a metadata file.
func removable(entries []Entry, meta []string) (Op, []string, string) {
	entries = slices.SortedFunc(slices.Values(entries), func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	var files []string
	for _, e := range entries {
		if !e.Regular || !slices.Contains(meta, e.Name) {
			return Report, nil, "it holds " + e.Name
		}
		files = append(files, e.Name)
	}
	return Remove, files, ""
}
