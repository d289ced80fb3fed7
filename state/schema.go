package state

import (
	"encoding/binary"
	"fmt"

	"github.com/vdird/vdird/state/internal/records"
	bolt "go.etcd.io/bbolt"
)

// migrations[v] upgrades a file from schema version v to v+1, inside the
// same transaction that records the new version, so a crash mid-migration
// leaves the old version intact. Version 0 is a brand-new empty file.
// Append only; never edit a released step.
var migrations = []func(tx *bolt.Tx) error{
	// 0 → 1: the initial layout.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketCollections, bucketJournal} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 1 → 2: bases move from href keys to append-only sequence keys, and
	// each item record names its base's sequence.
	func(tx *bolt.Tx) error { return eachCollection(tx, records.MoveBasesV1) },
	// 2 → 3: each collection gets the file sum of its items.
	func(tx *bolt.Tx) error { return eachCollection(tx, records.ComputeFileSum) },
	// 3 → 4: each collection gets its UID index.
	func(tx *bolt.Tx) error { return eachCollection(tx, records.IndexUIDs) },
	// 4 → 5: each collection gets its local file name index.
	func(tx *bolt.Tx) error { return eachCollection(tx, records.IndexNames) },
	// 5 → 6: nothing to convert. A collection may now hold appended
	// records (records.Append) that readers fold first, and the mark of an
	// interrupted fold; the version changes so that an older vdird, which
	// would not see them, refuses the file instead.
	func(tx *bolt.Tx) error { return nil },
	// 6 → 7: each collection gets its file sum split by file name.
	func(tx *bolt.Tx) error { return eachCollection(tx, records.ComputeFileShards) },
	// 7 → 8: each account's calendar home, kept until now as a collection
	// keyed "@account/NAME", gets its own record (bucketAccounts).
	moveAccounts,
}

// CurrentSchema is the schema version this build writes.
func CurrentSchema() int { return len(migrations) }

func readVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		// No meta bucket: a fresh file, unless someone else's data is here.
		empty := true
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return 0, ErrNotStateFile
		}
		return 0, nil
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: bad schema version record", ErrNotStateFile)
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

func writeVersion(tx *bolt.Tx, v int) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return tx.Bucket(bucketMeta).Put(keySchema, b[:])
}

// migrate brings the file to CurrentSchema, one step per transaction.
func (s *Store) migrate() error {
	var v int
	if err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = readVersion(tx)
		return err
	}); err != nil {
		return err
	}
	want := CurrentSchema()
	if v > want {
		return fmt.Errorf("%w: %s has schema version %d but this vdird supports up to %d; upgrade vdird or use another state file",
			ErrNewerSchema, s.path, v, want)
	}
	for ; v < want; v++ {
		step := migrations[v]
		if err := s.db.Update(func(tx *bolt.Tx) error {
			if err := step(tx); err != nil {
				return err
			}
			return writeVersion(tx, v+1)
		}); err != nil {
			return fmt.Errorf("migrate schema %d → %d: %w", v, v+1, err)
		}
	}
	s.version = v
	return nil
}

// eachCollection runs fn on every collection bucket.
func eachCollection(tx *bolt.Tx, fn func(*bolt.Bucket) error) error {
	var names [][]byte
	root := tx.Bucket(bucketCollections)
	if err := root.ForEachBucket(func(name []byte) error {
		names = append(names, append([]byte{}, name...))
		return nil
	}); err != nil {
		return err
	}
	for _, name := range names {
		if err := fn(root.Bucket(name)); err != nil {
			return fmt.Errorf("collection %s: %w", name, err)
		}
	}
	return nil
}
