package state

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Account is what is remembered about one configured account: where its
// calendars and address books are, so that a pass with nothing to do needs
// no discovery.
type Account struct {
	Name     string // the account's name in the configuration
	URL      string // the configured URL the calendar home was discovered from
	Home     string // href of the calendar home set found from URL
	BookHome string `json:",omitempty"` // href of the address book home set found from URL
	// Kinds are the kinds of collection discovery looked for, as the
	// engine spells them; "" for a record from before address books.
	Kinds string `json:",omitempty"`
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
