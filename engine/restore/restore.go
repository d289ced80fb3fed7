// Package restore writes kept versions of items (package versions) back
// into their calendar folders. A restored item is a local change like an
// edit in khal: the next sync pass uploads it with the usual
// preconditions, so nothing reaches the server any other way. A file that
// a restore replaces is kept as a version first, and a restore that would
// replace an edit made after the versions it undoes waits for Force.
package restore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
	"github.com/vdird/vdird/versions"
)

// ErrNoVersion: no kept version matches the selection.
var ErrNoVersion = errors.New("no kept version matches")

// Selection says which versions to restore. Pass or Since select a range:
// each item replaced in it gets back its oldest version there, so the
// calendar is as it was before. Otherwise File or UID name one item, which
// gets back its newest version replaced at or before At (zero: the newest).
// Account and Collection (a folder name or an href) narrow any of them.
type Selection struct {
	Account    string    `json:"account,omitempty"`
	Collection string    `json:"collection,omitempty"`
	UID        string    `json:"uid,omitempty"`
	File       string    `json:"file,omitempty"`
	Pass       string    `json:"pass,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	At         time.Time `json:"at,omitzero"`
	// Force replaces files edited after the versions restored.
	Force bool `json:"force,omitempty"`
}

func (s Selection) ranged() bool { return s.Pass != "" || !s.Since.IsZero() }

func (s Selection) check() error {
	if !s.ranged() && s.File == "" && s.UID == "" {
		return errors.New("restore what: name a file or a UID, a pass, or a time to restore since")
	}
	return nil
}

// Outcome is what became of one item.
type Outcome string

// Outcomes.
const (
	Restored   Outcome = "restored"    // written into the folder
	Unchanged  Outcome = "unchanged"   // the file holds these bytes already
	NeedsForce Outcome = "needs-force" // the file was edited after the version; Why says how
	Failed     Outcome = "failed"      // Why says why
)

// Item is one item of a restore.
type Item struct {
	Version versions.Entry `json:"version"`
	Outcome Outcome        `json:"outcome"`
	Path    string         `json:"path,omitempty"` // the file written, or that would be
	Why     string         `json:"why,omitempty"`
}

// Result is what a restore did, item by item.
type Result struct {
	Items []Item `json:"items"`
	// Pass names the restore in the versions of the files it replaced:
	// restoring that pass undoes the restore. "" when it replaced none.
	Pass string `json:"pass,omitempty"`
}

// Count counts the items with outcome o.
func (r *Result) Count(o Outcome) int {
	n := 0
	for _, it := range r.Items {
		if it.Outcome == o {
			n++
		}
	}
	return n
}

// Env is what a restore works with.
type Env struct {
	Config   *config.Config
	State    *state.Store
	Versions *versions.Store
	Now      func() time.Time
}

// Run restores the versions sel selects. It returns ErrNoVersion when
// none matches; what became of each item is in the Result.
func Run(ctx context.Context, env Env, sel Selection) (*Result, error) {
	if err := sel.check(); err != nil {
		return nil, err
	}
	if env.Versions == nil {
		return nil, errors.New("no versions store")
	}
	chosen, newer, err := choose(env.Versions, sel)
	if err != nil {
		return nil, err
	}
	r := &run{env: env, sel: sel, pass: versions.NewPassID(env.Now()), folders: map[string]*folder{}}
	res := &Result{}
	for _, e := range chosen {
		res.Items = append(res.Items, r.plan(e, newer[itemKey(e)]))
	}
	if err := r.write(ctx, res.Items); err != nil {
		return nil, err
	}
	if r.replaced > 0 {
		res.Pass = r.pass
	}
	return res, nil
}

// itemKey groups the versions of one item: its account, calendar and UID,
// or its file name when it has no UID.
func itemKey(e versions.Entry) string {
	id := "uid:" + e.UID
	if e.UID == "" {
		id = "file:" + e.File
	}
	return e.Account + "\x00" + e.Collection + "\x00" + id
}

// choose lists the versions sel selects, one per item, newest first, and
// for each item whether a version of it was kept after those selected (an
// edit made since).
func choose(store *versions.Store, sel Selection) ([]versions.Entry, map[string]bool, error) {
	f := versions.Filter{Account: sel.Account, Collection: sel.Collection, UID: sel.UID, File: sel.File, Pass: sel.Pass, Since: sel.Since}
	if !sel.ranged() && !sel.At.IsZero() {
		f.Until = sel.At.Add(time.Nanosecond)
	}
	all, err := store.List(f)
	if err != nil {
		return nil, nil, err
	}
	if len(all) == 0 {
		return nil, nil, ErrNoVersion
	}
	var chosen []versions.Entry
	last := map[string]time.Time{} // per item, the newest version selected
	if !sel.ranged() {
		chosen = all[:1]
		last[itemKey(all[0])] = all[0].Time
	} else {
		at := map[string]int{}
		for _, e := range all { // newest first: the oldest of each item wins
			k := itemKey(e)
			if i, ok := at[k]; ok {
				chosen[i] = e
				continue
			}
			at[k] = len(chosen)
			chosen = append(chosen, e)
			last[k] = e.Time
		}
	}
	oldest := slices.MinFunc(chosen, func(a, b versions.Entry) int { return a.Time.Compare(b.Time) }).Time
	later, err := store.List(versions.Filter{Account: sel.Account, Since: oldest})
	if err != nil {
		return nil, nil, err
	}
	newer := map[string]bool{}
	for _, e := range later {
		if t, ok := last[itemKey(e)]; ok && e.Time.After(t) {
			newer[itemKey(e)] = true
		}
	}
	return chosen, newer, nil
}

// account is the configured account name, or nil.
func (r *run) account(name string) *config.Account {
	for i := range r.env.Config.Accounts {
		if r.env.Config.Accounts[i].Name == name {
			return &r.env.Config.Accounts[i]
		}
	}
	return nil
}

// folderOf is the folder of the calendar or address book e was kept
// from: the one state records, else the folder of that name under the
// account's local_root (contacts_root for a card).
func (r *run) folderOf(e versions.Entry, data []byte) (*folder, error) {
	ext := extOf(e, data)
	key := e.Account + "\x00" + ext + "\x00" + e.Collection
	if f, ok := r.folders[key]; ok {
		return f, f.err
	}
	f := &folder{ext: ext}
	r.folders[key] = f
	cols, err := r.env.State.Collections()
	if err != nil {
		f.err = err
		return f, err
	}
	for _, c := range cols {
		if c.Account != e.Account || c.Href != e.Collection {
			continue
		}
		// A calendar and an address book at one href: the one that
		// recorded the item.
		if _, recorded, _ := r.env.State.Item(c.Key, e.Href); f.path == "" || recorded {
			f.key, f.path = c.Key, c.Dir
		}
	}
	if f.path == "" {
		a := r.account(e.Account)
		if a == nil {
			f.err = fmt.Errorf("account %q is not in the config", e.Account)
			return f, f.err
		}
		root := a.LocalRoot
		if ext == vdir.VCF {
			root = a.ContactsRoot
		}
		f.path = filepath.Join(root, e.Folder)
	}
	f.err = f.scan(r.env.State)
	return f, f.err
}
