package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// The values of an account's sync key.
const (
	SyncCalendars    = "calendars"
	SyncAddressBooks = "addressbooks"
)

// DefaultVCardVersion is the vCard version asked of servers that convert
// cards: khard's.
const DefaultVCardVersion = "3.0"

// kinds reads what the i-th account syncs and where: the sync key
// (default: calendars only, as before address books were synced), the
// calendar keys and the address book keys. A key of a kind the account
// does not sync is a mistake, not something to ignore.
func (p parser) kinds(i int, fa fileAccount, a *Account) error {
	at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
	if fa.Sync != nil && len(fa.Sync) == 0 {
		return p.bad(at("sync"), "account %q: sync is empty: list %q, %q or both", a.Name, SyncCalendars, SyncAddressBooks)
	}
	for _, s := range fa.Sync {
		if s != SyncCalendars && s != SyncAddressBooks {
			return p.bad(at("sync"), "account %q: sync %q: want %q or %q", a.Name, s, SyncCalendars, SyncAddressBooks)
		}
		if !slices.Contains(a.Sync, s) {
			a.Sync = append(a.Sync, s)
		}
	}
	unused := func(key, kind string, set bool) error {
		if set {
			return p.bad(at(key), "account %q: %s is set but sync does not list %q", a.Name, key, kind)
		}
		return nil
	}
	if !a.SyncsCalendars() {
		if err := unused("local_root", SyncCalendars, fa.LocalRoot != ""); err != nil {
			return err
		}
		if err := unused("calendars", SyncCalendars, fa.Calendars != nil); err != nil {
			return err
		}
		a.LocalRoot = ""
	}
	if !a.SyncsAddressBooks() {
		for _, k := range []struct {
			key string
			set bool
		}{{"contacts_root", fa.ContactsRoot != ""}, {"addressbooks", fa.AddressBooks != nil}, {"vcard_version", fa.VCardVersion != ""}} {
			if err := unused(k.key, SyncAddressBooks, k.set); err != nil {
				return err
			}
		}
	}
	var err error
	if a.SyncsCalendars() {
		if a.LocalRoot, err = p.root(at("local_root"), "local_root", a.Name, a.LocalRoot, ".calendars"); err != nil {
			return err
		}
	}
	if !a.SyncsAddressBooks() {
		return nil
	}
	if a.ContactsRoot, err = p.root(at("contacts_root"), "contacts_root", a.Name, expandHome(fa.ContactsRoot), ".contacts"); err != nil {
		return err
	}
	a.AddressBooks = fa.AddressBooks
	a.VCardVersion = fa.VCardVersion
	switch a.VCardVersion {
	case "":
		a.VCardVersion = DefaultVCardVersion
	case "3.0", "4.0":
	default:
		return p.bad(at("vcard_version"), "account %q: vcard_version %q: want \"3.0\" or \"4.0\"", a.Name, a.VCardVersion)
	}
	return nil
}

// root checks the folder dir given for key (found at at), or gives the
// default ~/def: absolute and clean.
func (p parser) root(at []string, key, account, dir, def string) (string, error) {
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, def)
	}
	if !filepath.IsAbs(dir) {
		return "", p.bad(at, "account %q: %s %q must be an absolute path (or start with ~/)", account, key, dir)
	}
	return filepath.Clean(dir), nil
}

// root is one local folder of an account and the key that names it.
type root struct{ key, dir string }

// roots are the account's local folders, each with its key.
func (a *Account) roots() []root {
	var out []root
	if a.SyncsCalendars() {
		out = append(out, root{"local_root", a.LocalRoot})
	}
	if a.SyncsAddressBooks() {
		out = append(out, root{"contacts_root", a.ContactsRoot})
	}
	return out
}

// SyncsCalendars tells whether the account syncs calendars.
func (a *Account) SyncsCalendars() bool {
	return a.Sync == nil || slices.Contains(a.Sync, SyncCalendars)
}

// SyncsAddressBooks tells whether the account syncs address books.
func (a *Account) SyncsAddressBooks() bool { return slices.Contains(a.Sync, SyncAddressBooks) }
