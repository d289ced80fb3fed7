package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Journal operations.
const (
	OpPut    = "put"    // PUT If-Match of an existing item
	OpCreate = "create" // PUT If-None-Match: * of a new item
	OpDelete = "delete" // DELETE If-Match
)

// ErrBadJournalOp means a JournalEntry's Op is not one of the Op constants.
var ErrBadJournalOp = errors.New("unknown journal op")

// JournalEntry is an intended remote write. It is recorded BEFORE the
// request is sent and cleared (Tx.EndJournal) in the same transaction that
// records the request's result, so a crash in between leaves the entry for
// the next start to reconcile (for example: look the href up on the server
// and compare its content hash with Hash, instead of creating a duplicate).
type JournalEntry struct {
	ID         uint64
	Key, Href  string
	Name       string // local file name
	Op         string // OpPut, OpCreate or OpDelete
	ETagBefore string // the If-Match etag sent, "" for create
	Hash       string // hash of the bytes being sent
	UID        string
	Started    time.Time
}

// BeginJournal durably records e (its ID is assigned here; Started
// defaults to now) and returns the ID to pass to EndJournal.
func (s *Store) BeginJournal(e JournalEntry) (uint64, error) {
	switch e.Op {
	case OpPut, OpCreate, OpDelete:
	default:
		return 0, fmt.Errorf("begin journal %s %s: %w: %q", e.Key, e.Href, ErrBadJournalOp, e.Op)
	}
	if e.Started.IsZero() {
		e.Started = time.Now()
	}
	err := s.db.Update(func(btx *bolt.Tx) error {
		j := btx.Bucket(bucketJournal)
		id, err := j.NextSequence()
		if err != nil {
			return err
		}
		e.ID = id
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return j.Put(journalKey(id), v)
	})
	if err != nil {
		return 0, fmt.Errorf("begin journal %s %s %s: %w", e.Op, e.Key, e.Href, err)
	}
	return e.ID, nil
}

// Pending returns all open journal entries, oldest first.
func (s *Store) Pending() ([]JournalEntry, error) {
	var out []JournalEntry
	err := s.db.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
			var e JournalEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode journal entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("pending journal: %w", err)
	}
	return out, nil
}

// EndJournal clears entry id on its own (for a request that failed without
// a result to record). Clearing an unknown id is not an error.
func (s *Store) EndJournal(id uint64) error {
	err := s.db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketJournal).Delete(journalKey(id))
	})
	if err != nil {
		return fmt.Errorf("end journal %d: %w", id, err)
	}
	return nil
}

// dropJournal removes the journal entries of collection key.
func dropJournal(btx *bolt.Tx, key string) error {
	j := btx.Bucket(bucketJournal)
	var drop [][]byte
	err := j.ForEach(func(k, v []byte) error {
		var e JournalEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode journal entry: %w", err)
		}
		if e.Key == key {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range drop {
		if err := j.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func journalKey(id uint64) []byte {
	// Big-endian so byte order is numeric order: Pending is oldest first.
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}
