package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ReplaceCollection makes c the whole record of collection c.Key: the
// items, bases, file sums and journal entries it had are dropped, in one
// transaction. A forgotten collection's record, and the record that
// syncs it again from scratch, are made this way.
func (s *Store) ReplaceCollection(c Collection) error {
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode collection %s: %w", c.Key, err)
	}
	err = s.db.Update(func(btx *bolt.Tx) error {
		root := btx.Bucket(bucketCollections)
		if root.Bucket([]byte(c.Key)) != nil {
			if err := root.DeleteBucket([]byte(c.Key)); err != nil {
				return err
			}
		}
		if err := dropJournal(btx, c.Key); err != nil {
			return err
		}
		b, err := root.CreateBucket([]byte(c.Key))
		if err != nil {
			return err
		}
		return b.Put(keyInfo, v)
	})
	if err != nil {
		return fmt.Errorf("replace collection %s: %w", c.Key, err)
	}
	return nil
}
