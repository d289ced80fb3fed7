package state

import (
	"encoding/json"
	"fmt"

	"github.com/vdird/vdird/state/internal/records"
	bolt "go.etcd.io/bbolt"
)

// Update runs fn in one read-write transaction scoped to the collection
// key: everything fn does is committed together, or (when fn returns an
// error) nothing is.
//
// New items that earlier Updates added (Tx.AddNewItems) are indexed, a
// chunk per transaction, by the first read or after the first Update that
// adds none commits, whichever comes first. If that indexing fails, Update
// returns the error although fn's changes are committed; the new items
// stay recorded, and the next read indexes them.
func (s *Store) Update(key string, fn func(tx *Tx) error) error {
	var waiting bool
	err := s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{btx: btx, key: key}
		defer func() { tx.btx = nil }()
		if err := fn(tx); err != nil {
			return err
		}
		b := collectionBucket(btx, key)
		waiting = !tx.added && b != nil && records.Waiting(b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update %s: %w", key, err)
	}
	records.DropMapping(s.db)
	if waiting {
		if err := s.fold(key); err != nil {
			return fmt.Errorf("update %s committed, then: %w", key, err)
		}
	}
	return nil
}

// DeleteCollection forgets a collection: its info, items, bases and its
// journal entries. Unknown keys are not an error.
func (s *Store) DeleteCollection(key string) error {
	err := s.db.Update(func(btx *bolt.Tx) error {
		root := btx.Bucket(bucketCollections)
		if root.Bucket([]byte(key)) != nil {
			if err := root.DeleteBucket([]byte(key)); err != nil {
				return err
			}
		}
		return dropJournal(btx, key)
	})
	if err != nil {
		return fmt.Errorf("delete collection %s: %w", key, err)
	}
	return nil
}

// Tx is a read-write transaction on one collection, valid only inside the
// Update callback that received it.
type Tx struct {
	btx   *bolt.Tx
	key   string
	added bool // AddNewItems was called
}

// bucket returns the collection's bucket, creating it when create is set.
func (tx *Tx) bucket(create bool) (*bolt.Bucket, error) {
	if tx.btx == nil {
		return nil, ErrTxDone
	}
	if !create {
		return collectionBucket(tx.btx, tx.key), nil
	}
	b, err := tx.btx.Bucket(bucketCollections).CreateBucketIfNotExists([]byte(tx.key))
	if err != nil {
		return nil, fmt.Errorf("collection bucket %s: %w", tx.key, err)
	}
	return b, nil
}

// Collection returns the collection's current info (including changes
// made earlier in this transaction); ok is false if it is unknown.
func (tx *Tx) Collection() (Collection, bool) {
	b, err := tx.bucket(false)
	if err != nil || b == nil {
		return Collection{}, false
	}
	c, err := readInfo(b, tx.key)
	if err != nil {
		return Collection{}, false
	}
	return *c, true
}

// SetCollection stores the collection's info. c.Key must be the key of the
// Update (ErrKeyMismatch otherwise).
func (tx *Tx) SetCollection(c Collection) error {
	if c.Key != tx.key {
		return fmt.Errorf("set collection %q in tx for %q: %w", c.Key, tx.key, ErrKeyMismatch)
	}
	b, err := tx.bucket(true)
	if err != nil {
		return fmt.Errorf("set collection %s: %w", tx.key, err)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode collection %s: %w", tx.key, err)
	}
	if err := b.Put(keyInfo, v); err != nil {
		return fmt.Errorf("set collection %s: %w", tx.key, err)
	}
	return nil
}

// Item returns one item (with Base) as seen inside this transaction.
func (tx *Tx) Item(href string) (Item, bool, error) {
	b, err := tx.bucket(false)
	if err != nil || b == nil {
		return Item{}, false, err
	}
	if err := records.FoldInTx(b); err != nil {
		return Item{}, false, fmt.Errorf("item %s: %w", href, err)
	}
	it, err := found(records.GetWithBase(b, href))
	if err != nil || it == nil {
		return Item{}, false, err
	}
	return *it, true, nil
}

// PutItem stores it under it.Href, replacing any previous record. A base
// always describes the recorded content: a nil Base keeps the stored base
// when it.Hash is the recorded one and drops it otherwise; an unchanged
// Base is not rewritten.
func (tx *Tx) PutItem(it Item) error {
	if it.Href == "" {
		return fmt.Errorf("put item in %s: empty href", tx.key)
	}
	b, err := tx.bucket(true)
	if err == nil {
		err = records.Put(b, it.record())
	}
	if err != nil {
		return fmt.Errorf("put item %s: %w", it.Href, err)
	}
	return nil
}

// AddNewItems records items that the collection does not have yet, as a
// first download brings them by the thousand, at a fraction of PutItem's
// cost: they are appended to a log, and indexed once they are all there
// (see Update). Every read and write, in this transaction too, sees them
// as if PutItem had been used; an href recorded before is replaced.
func (tx *Tx) AddNewItems(items []Item) error {
	b, err := tx.bucket(true)
	if err != nil {
		return fmt.Errorf("add new items to %s: %w", tx.key, err)
	}
	tx.added = true
	for _, it := range items {
		if it.Href == "" {
			return fmt.Errorf("add new item to %s: empty href", tx.key)
		}
		if err := records.Append(b, it.record()); err != nil {
			return fmt.Errorf("add new item %s: %w", it.Href, err)
		}
	}
	return nil
}

// DeleteItem forgets one item (and its base). Unknown hrefs are not an error.
func (tx *Tx) DeleteItem(href string) error {
	b, err := tx.bucket(false)
	if err == nil && b != nil {
		err = records.Delete(b, href)
	}
	if err != nil {
		return fmt.Errorf("delete item %s: %w", href, err)
	}
	return nil
}

// EndJournal clears journal entry id in this transaction, so the entry
// disappears exactly when the result it stands for is recorded.
func (tx *Tx) EndJournal(id uint64) error {
	if tx.btx == nil {
		return fmt.Errorf("end journal %d: %w", id, ErrTxDone)
	}
	if err := tx.btx.Bucket(bucketJournal).Delete(journalKey(id)); err != nil {
		return fmt.Errorf("end journal %d: %w", id, err)
	}
	return nil
}
