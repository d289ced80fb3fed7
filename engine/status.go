package engine

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/pass"
	"github.com/vdird/vdird/engine/work"
)

// CalendarStatus is what `vdird status` shows for one calendar or address
// book, or, with Calendar "*", for an account whose passes fail.
type CalendarStatus struct {
	Account       string    `json:"account"`
	Calendar      string    `json:"calendar"` // local folder name; "*" for the account as a whole
	Href          string    `json:"href"`
	Dir           string    `json:"dir"`
	LastSync      time.Time `json:"last_sync"` // last pass that applied every remote change
	PendingLocal  int       `json:"pending_local"`
	LastError     string    `json:"last_error,omitempty"`
	ConflictFiles []string  `json:"conflict_files,omitempty"`
	ReadOnly      bool      `json:"read_only,omitempty"`
	AddressBook   bool      `json:"address_book,omitempty"`
	// Progress is the work a running daemon has in hand on the collection.
	Progress *work.Status `json:"progress,omitempty"`
	// Staged: the collection's first download is not finished, its files
	// so far hidden in the staging folder (LastError says where).
	Staged bool `json:"staged,omitempty"`
	// FailingSince and Attempts (account rows): when the first of the
	// failed passes in a row ran, and how many there were.
	FailingSince time.Time `json:"failing_since,omitzero"`
	Attempts     int       `json:"attempts,omitempty"`
	// Refused is why a safety guard refused the collection at its last
	// pass, or, with NotMade, why the server refused to make the folder
	// into a collection.
	Refused string `json:"refused,omitempty"`
	// NotMade: the row is a folder the server refused to make into a
	// calendar or address book, not a collection.
	NotMade bool `json:"not_made,omitempty"`
	// Rejected are the item files whose content the server refuses, with
	// its answer: not sent again until they change.
	Rejected []string `json:"rejected,omitempty"`
	// Forgotten is when `vdird forget` excluded the collection from
	// syncing; zero while it syncs.
	Forgotten time.Time `json:"forgotten,omitzero"`
}

// Failing tells whether the row needs attention: an error, a guard's
// refusal or an item the server refuses.
func (s *CalendarStatus) Failing() bool {
	return s.LastError != "" || s.Refused != "" || len(s.Rejected) > 0
}

// Overview is what `vdird status` shows: the accounts whose passes fail
// (AccountsFailing), then every calendar and address book (Status).
func (e *Engine) Overview() ([]CalendarStatus, error) {
	accts, err := e.AccountsFailing()
	if err != nil {
		return nil, err
	}
	cals, err := e.Status()
	if err != nil {
		return nil, err
	}
	return append(accts, cals...), nil
}

// Status reports every calendar and address book in state: no network,
// only a stat of each local folder.
func (e *Engine) Status() ([]CalendarStatus, error) {
	store := e.store
	cols, err := store.Collections()
	if err != nil {
		return nil, err
	}
	var out []CalendarStatus
	for _, col := range cols {
		st := CalendarStatus{Account: col.Account, Calendar: filepath.Base(col.Dir), Href: col.Href, Dir: col.Dir,
			LastSync: col.LastSync, LastError: col.LastError, ReadOnly: col.ReadOnly, Refused: col.Refused,
			AddressBook: kindOfKey(col.Key) == davclient.KindAddressBook, Forgotten: col.Forgotten}
		if !col.Forgotten.IsZero() {
			out = append(out, st) // nothing of it is synced: no item, no pending change
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(col.Rejected)) {
			st.Rejected = append(st.Rejected, pass.RejectedMessage(filepath.Join(col.Dir, name), col.Rejected[name].Reason))
		}
		items, err := store.Items(col.Key)
		if err != nil {
			return nil, err
		}
		fs, err := local.StatusOf(col.Dir, format.Of(kindOfKey(col.Key)).Ext, items)
		if err != nil {
			return nil, err
		}
		if fs.Staged || st.LastError == "" && fs.Problem != "" {
			st.LastError = fs.Problem
		}
		st.Staged = fs.Staged
		st.PendingLocal, st.ConflictFiles = fs.Pending, fs.Conflicts
		out = append(out, st)
	}
	refused, err := e.refusedRows()
	return append(out, refused...), err
}

// AccountsFailing returns a row (Calendar "*") for each configured account
// whose last passes failed: the last error, since when and how many
// passes. It reads state only.
func (e *Engine) AccountsFailing() ([]CalendarStatus, error) {
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	recs, err := e.store.Accounts()
	if err != nil {
		return nil, err
	}
	var out []CalendarStatus
	for _, r := range recs {
		if r.Attempts == 0 || !slices.ContainsFunc(cfg.Accounts, func(a config.Account) bool { return a.Name == r.Name }) {
			continue
		}
		out = append(out, CalendarStatus{Account: r.Name, Calendar: "*", LastError: r.LastError,
			FailingSince: r.FailingSince, Attempts: r.Attempts})
	}
	return out, nil
}

// noteAccount records in state whether account a is failing. The first
// summary with an error (the account's own, or a calendar's that could not
// be synced) starts or extends the failing streak; a pass without one ends
// it when it covered the whole account with a calendar list from the
// server (all). A refused login also drops the account's client, so that
// the next pass reads the password again.
func (e *Engine) noteAccount(a *config.Account, sums []*Summary, all bool) {
	var err error
	if i := slices.IndexFunc(sums, func(s *Summary) bool { return s.Err != nil }); i >= 0 {
		msg := sums[i].Err.Error()
		if s := sums[i]; s.Calendar != "*" {
			kind := "calendar "
			if a.ContactsRoot != "" && strings.HasPrefix(s.Dir, a.ContactsRoot+string(filepath.Separator)) {
				kind = "address book "
			}
			msg = kind + s.Calendar + ": " + msg
		}
		if LoginRefused(sums[i].Err) {
			e.mu.Lock()
			delete(e.clients, a.Name)
			e.mu.Unlock()
		}
		err = e.store.AccountFailed(a.Name, msg, e.Now())
	} else if all {
		err = e.store.AccountWorked(a.Name)
	}
	if err != nil {
		e.log.Warn().Err(err).Str("account", a.Name).Msg("recording whether the account's passes fail")
	}
}
