// Package state is vdird's persistent memory: per collection the last
// synced view of both sides (href, etag, local file name and fingerprint,
// content hash, UID and the last synced bytes, the "base" for three-way
// merges), the collection's ctag / sync-token, per account where its
// calendars are, and a journal of remote writes in flight.
//
// Everything lives in one bbolt file, laid out by state/internal/records.
// bbolt is an implementation detail: no bbolt type crosses the API. The
// file is locked while open, so a second vdird on the same file fails fast
// with ErrLocked instead of both daemons corrupting each other's view.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vdird/vdird/state/internal/records"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrLocked means another process (or another Store in this process)
	// holds the state file. The error message names the file.
	ErrLocked = errors.New("state file locked")
	// ErrNewerSchema means the file was written by a newer vdird; it is
	// refused rather than misread or downgraded.
	ErrNewerSchema = errors.New("state file has a newer schema")
	// ErrKeyMismatch means SetCollection was given a Collection whose Key
	// differs from the key of the Update.
	ErrKeyMismatch = errors.New("collection key does not match the transaction")
	// ErrTxDone means a Tx was used after its Update returned.
	ErrTxDone = errors.New("transaction already finished")
	// ErrNotStateFile means the file is a bbolt database but not one
	// written by vdird.
	ErrNotStateFile = errors.New("not a vdird state file")
)

// lockTimeout bounds how long Open waits for the file lock.
const lockTimeout = time.Second

type lockedError struct{ path string }

func (e *lockedError) Error() string { return "another vdird is using " + e.path }
func (e *lockedError) Unwrap() error { return ErrLocked }

// The file's top-level buckets and keys. Each collection has a bucket in
// bucketCollections, keyed by the collection key: its description under
// keyInfo, and its items as package records lays them out.
var (
	bucketMeta        = []byte("meta")
	bucketCollections = []byte("collections")
	bucketJournal     = []byte("journal")
	keySchema         = []byte("schema")
	keyInfo           = []byte("info")
)

// Fingerprint is the local file's lstat identity (mirrors vdir.Fingerprint;
// state does not import vdir).
type Fingerprint struct {
	Size  int64
	ModNs int64
	Inode uint64
}

// Collection is what is remembered about one synced calendar.
type Collection struct {
	Key     string // opaque id chosen by the engine, e.g. "account/href"
	Account string
	Href    string
	Dir     string // local folder path
	// Marker is the calendar's change marker (davclient.Calendar.Marker:
	// its sync-token, else its getctag) as the listing showed it before
	// the last complete pass. Kept under its old JSON name.
	Marker    string `json:"CTag"`
	SyncToken string // RFC 6578 section 4 DAV:sync-token
	// DisplayName, Color and Description are the collection's metadata
	// as last synced: both sides held them at the end of the last pass.
	DisplayName string
	Color       string
	Description string `json:",omitempty"`
	ReadOnly    bool
	LastSync    time.Time
	LastError   string
	// Refused is why a safety guard refused the calendar at its last
	// pass, "" when none did.
	Refused string `json:",omitempty"`
	// Rejected holds the item files whose content the server refused, by
	// file name: they are not sent again while they hold those bytes.
	Rejected map[string]Rejection `json:",omitempty"`
	// Creating: the engine is making this collection on the server from
	// its folder and has not seen it listed since. Written before the
	// request, so that a crash after it pairs the new collection with the
	// folder.
	Creating bool `json:",omitempty"`
	// Scope is what the listing behind Marker covered when the
	// configuration narrows the calendar (a date window, component types;
	// window.Scope.Key), "" for the whole calendar.
	Scope string `json:",omitempty"`
	// Forgotten is when `vdird forget` excluded the collection from
	// syncing; zero while it syncs. The record then keeps only where the
	// collection is (Key, Account, Href, Dir) and its display name.
	Forgotten time.Time `json:",omitzero"`
}

// Rejection is a server's refusal of one version of an item file.
type Rejection struct {
	Hash   string // content hash of the refused bytes
	Reason string // the server's answer, with its own explanation
}

// Item is the last synced state of one calendar object resource.
type Item struct {
	Href        string
	ETag        string // opaque, exactly as received (RFC 9110 section 8.8.3)
	Name        string // local file name
	Fingerprint Fingerprint
	Hash        string // content hash of the synced bytes
	UID         string
	// Base is the last synced bytes, for a three-way merge; it always
	// hashes to Hash. Item and Tx.Item give it; Items, ItemsByHref,
	// ItemsByName and ItemsWithUID leave it nil. Writing an item back
	// with a nil Base keeps the stored base if Hash is unchanged.
	Base []byte
}

func itemOf(r records.Item) Item {
	return Item{Href: r.Href, ETag: r.ETag, Name: r.Name, Fingerprint: Fingerprint(r.Fingerprint),
		Hash: r.Hash, UID: r.UID, Base: r.Base}
}

func (it Item) record() records.Item {
	return records.Item{Href: it.Href, ETag: it.ETag, Name: it.Name, Fingerprint: records.Fingerprint(it.Fingerprint),
		Hash: it.Hash, UID: it.UID, Base: it.Base}
}

// Store is an open state file.
type Store struct {
	db      *bolt.DB
	path    string
	version int
	foldMu  sync.Mutex // serialises folds: each goes on from the last one's mark
}

// Open opens (creating if needed) the state file at path, creating its
// parent directory with mode 0700 and the file with 0600, and migrates it
// to the current schema. A file held by another process or Store gives
// ErrLocked after about a second; one from a newer vdird gives
// ErrNewerSchema.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	// Never NoSync: state must survive power loss as well as crashes.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, &lockedError{path: path}
		}
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return s, nil
}

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state %s: %w", s.path, err)
	}
	return nil
}

// Path returns the file path given to Open.
func (s *Store) Path() string { return s.path }

// SchemaVersion returns the schema version of the open file (after
// migration, always CurrentSchema).
func (s *Store) SchemaVersion() int { return s.version }

// collectionBucket returns the bucket of collection key in btx, nil if
// there is none.
func collectionBucket(btx *bolt.Tx, key string) *bolt.Bucket {
	return btx.Bucket(bucketCollections).Bucket([]byte(key))
}

// readInfo decodes a collection bucket's description. A bucket that only
// has items (PutItem before SetCollection) still counts as existing.
func readInfo(b *bolt.Bucket, key string) (*Collection, error) {
	c := Collection{Key: key}
	if v := b.Get(keyInfo); v != nil {
		if err := json.Unmarshal(v, &c); err != nil {
			return nil, fmt.Errorf("decode collection %s: %w", key, err)
		}
		c.Key = key
	}
	return &c, nil
}
