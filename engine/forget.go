package engine

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/naming"
	"github.com/vdird/vdird/state"
)

// Forgotten is what `vdird forget` did to one calendar or address book.
type Forgotten struct {
	Account  string `json:"account"`
	Calendar string `json:"calendar"` // its folder's name
	// Name names it alone to forget and sync: Calendar, or ACCOUNT/NAME
	// when another account has a collection of that name.
	Name        string `json:"name,omitempty"`
	Dir         string `json:"dir"`
	AddressBook bool   `json:"address_book,omitempty"`
	// AsBefore: it was forgotten already (or, undoing, synced already), so
	// nothing changed.
	AsBefore bool `json:"as_before,omitempty"`
}

// AmbiguousCalendarError is a forget that named several collections: it
// changes nothing.
type AmbiguousCalendarError = naming.AmbiguousError

// Forget stops syncing the calendars and address books that names denote
// among those state records (by folder name, display name, href or the
// href's last segment, each also as ACCOUNT/NAME, or the folder's path): each record keeps only
// where the collection is, its items and markers go, and passes leave it
// alone from then on, whether the server still has it or not. With undo
// it syncs them again: the record keeps its folder, and the next pass
// meets the folder and the server as at a first contact, matching their
// items by UID. No file is touched and nothing is sent. A name that
// denotes nothing gives an *UnknownCalendarError, one that denotes
// several collections an *AmbiguousCalendarError, and either
// changes nothing. It waits for a pass in flight on an account it changes.
func (e *Engine) Forget(names []string, undo bool) ([]Forgotten, error) {
	known, err := e.store.Collections()
	if err != nil {
		return nil, err
	}
	chosen, unknown, err := naming.Choose(known, names)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, &UnknownCalendarError{Names: unknown, Calendars: naming.Choices(known)}
	}
	out := make([]Forgotten, 0, len(chosen))
	for _, c := range chosen {
		f, err := e.forgetOne(c.Key, undo)
		if err != nil {
			return out, fmt.Errorf("%s: %w", filepath.Base(c.Dir), err)
		}
		f.Name = naming.Alone(known, c)
		out = append(out, f)
	}
	return out, nil
}

// forgetOne forgets collection key, or with undo syncs it again, between
// the passes of its account.
func (e *Engine) forgetOne(key string, undo bool) (Forgotten, error) {
	c, ok, err := e.store.Collection(key)
	if err != nil || !ok {
		return Forgotten{}, err
	}
	mu := e.passLock(c.Account)
	mu.Lock()
	defer mu.Unlock()
	if c, ok, err = e.store.Collection(key); err != nil || !ok {
		return Forgotten{}, err // gone meanwhile: nothing to do
	}
	f := Forgotten{Account: c.Account, Calendar: filepath.Base(c.Dir), Dir: c.Dir,
		AddressBook: kindOfKey(c.Key) == davclient.KindAddressBook}
	if f.AsBefore = c.Forgotten.IsZero() == undo; f.AsBefore {
		return f, nil
	}
	rec := state.Collection{Key: c.Key, Account: c.Account, Href: c.Href, Dir: c.Dir}
	if !undo {
		rec.DisplayName, rec.Forgotten = c.DisplayName, e.Now().UTC()
	}
	return f, e.store.ReplaceCollection(rec)
}

// passLock is the lock every pass over account holds, so that a forget
// waits for the one in flight.
func (e *Engine) passLock(account string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.passing == nil {
		e.passing = map[string]*sync.Mutex{}
	}
	mu, ok := e.passing[account]
	if !ok {
		mu = &sync.Mutex{}
		e.passing[account] = mu
	}
	return mu
}

// forgottenSummary is the summary of a forgotten collection that a sync
// named: it is not synced.
func forgottenSummary(a string, cal davclient.Calendar, dir string) *Summary {
	name := filepath.Base(dir)
	return &Summary{Account: a, Href: cal.Href, Dir: dir, Calendar: name, AddressBook: cal.Kind == davclient.KindAddressBook,
		Notes: []string{fmt.Sprintf("forgotten: not synced until `vdird forget --undo %s`", name)}}
}

// forgottenDirs maps the key of each forgotten collection to its folder.
func forgottenDirs(cols []state.Collection) map[string]string {
	dirs := map[string]string{}
	for _, c := range cols {
		if !c.Forgotten.IsZero() {
			dirs[c.Key] = c.Dir
		}
	}
	return dirs
}
