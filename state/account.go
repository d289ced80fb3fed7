package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Account is what is remembered about one configured account: where its
// calendars and address books are, so that a pass with nothing to do needs
// no discovery, and whether its passes fail.
type Account struct {
	Name     string // the account's name in the configuration
	URL      string // the configured URL the calendar home was discovered from
	Home     string // href of the calendar home set found from URL
	BookHome string `json:",omitempty"` // href of the address book home set found from URL
	// Kinds are the kinds of collection discovery looked for, as the
	// engine spells them; "" for a record from before address books.
	Kinds string `json:",omitempty"`

	// The passes of the account that failed in a row (the server could
	// not be reached, refused the login, a calendar could not be synced):
	// the last one's error, when the first one ran, how many there were.
	// A pass that reached every calendar clears them.
	LastError    string    `json:",omitempty"`
	FailingSince time.Time `json:",omitzero"`
	Attempts     int       `json:",omitempty"`

	// CreateRefused holds, by folder path, the local folders the server
	// refused to make into collections: not asked again while the folder
	// is as it was.
	CreateRefused map[string]CreateRefusal `json:",omitempty"`
}

// CreateRefusal is a server's refusal to make a collection of a local
// folder.
type CreateRefusal struct {
	URL    string // where the collection was to be made
	Reason string // the server's answer
	// Folder is the folder's fingerprint at the time (its metadata and
	// item files, as the engine spells it).
	Folder      string
	AddressBook bool `json:",omitempty"` // the folder is under the contacts root
	At          time.Time
}

// bucketAccounts holds one JSON Account per account name (schema 8).
var bucketAccounts = []byte("accounts")

// Account returns the record of the named account; ok is false if there
// is none.
func (s *Store) Account(name string) (Account, bool, error) {
	var (
		a  Account
		ok bool
	)
	err := s.db.View(func(btx *bolt.Tx) error {
		v := btx.Bucket(bucketAccounts).Get([]byte(name))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &a)
	})
	if err != nil {
		return Account{}, false, fmt.Errorf("account %s: %w", name, err)
	}
	a.Name = name
	return a, ok, nil
}

// Accounts returns every account record, sorted by name.
func (s *Store) Accounts() ([]Account, error) {
	var out []Account
	err := s.db.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			var a Account
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode account %s: %w", k, err)
			}
			a.Name = string(k)
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return out, nil
}

// UpdateAccount changes the record of the named account with fn in one
// transaction; an account without a record starts from an empty one.
func (s *Store) UpdateAccount(name string, fn func(a *Account)) error {
	err := s.db.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketAccounts)
		var a Account
		if v := b.Get([]byte(name)); v != nil {
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
		}
		a.Name = name
		fn(&a)
		a.Name = name
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), v)
	})
	if err != nil {
		return fmt.Errorf("update account %s: %w", name, err)
	}
	return nil
}

// AccountFailed records that a pass of the named account failed with msg
// at time at: the first failure of a streak sets FailingSince, each one
// counts an attempt.
func (s *Store) AccountFailed(name, msg string, at time.Time) error {
	return s.UpdateAccount(name, func(a *Account) {
		if a.Attempts == 0 {
			a.FailingSince = at
		}
		a.LastError = msg
		a.Attempts++
	})
}

// AccountWorked ends the named account's failing streak. It writes only
// when there is one, so a pass with nothing to do costs no commit.
func (s *Store) AccountWorked(name string) error {
	a, ok, err := s.Account(name)
	if err != nil || !ok || a.Attempts == 0 && a.LastError == "" {
		return err
	}
	return s.UpdateAccount(name, func(a *Account) { a.LastError, a.FailingSince, a.Attempts = "", time.Time{}, 0 })
}

// SetAccount stores a, replacing the record of the account named a.Name.
func (s *Store) SetAccount(a Account) error {
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode account %s: %w", a.Name, err)
	}
	err = s.db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketAccounts).Put([]byte(a.Name), v)
	})
	if err != nil {
		return fmt.Errorf("set account %s: %w", a.Name, err)
	}
	return nil
}

// accountKeyPrefix starts the key of the collection that held an
// account's calendar home before schema 8.
const accountKeyPrefix = "@account/"

// moveAccounts creates bucketAccounts and moves every account record kept
// as a collection keyed accountKeyPrefix + name (Href the calendar home,
// Dir the configured URL) into it.
func moveAccounts(tx *bolt.Tx) error {
	accounts, err := tx.CreateBucketIfNotExists(bucketAccounts)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketAccounts, err)
	}
	root := tx.Bucket(bucketCollections)
	var keys []string
	err = root.ForEachBucket(func(k []byte) error {
		if strings.HasPrefix(string(k), accountKeyPrefix) {
			keys = append(keys, string(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range keys {
		var old struct{ Href, Dir string }
		if v := root.Bucket([]byte(key)).Get(keyInfo); v != nil {
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("decode account record %s: %w", key, err)
			}
		}
		a := Account{Name: strings.TrimPrefix(key, accountKeyPrefix), URL: old.Dir, Home: old.Href}
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := accounts.Put([]byte(a.Name), v); err != nil {
			return err
		}
		if err := root.DeleteBucket([]byte(key)); err != nil {
			return err
		}
	}
	return nil
}
