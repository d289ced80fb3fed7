// Package state is vdird's persistent memory: per collection the last
// synced view of both sides (href, etag, local file name and fingerprint,
// content hash, UID and the last synced bytes, the "base" for three-way
// merges), the collection's ctag / sync-token, and a journal of remote
// writes in flight.
//
// Everything lives in one bbolt file. bbolt is an implementation detail:
// no bbolt type crosses the API. The file is locked while open, so a second
// vdird on the same file fails fast with ErrLocked instead of both
// daemons corrupting each other's view.
package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/vdird/vdird/internal/setsum"
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

var (
	bucketMeta        = []byte("meta")
	bucketCollections = []byte("collections")
	bucketJournal     = []byte("journal")
	keySchema         = []byte("schema")
	keyInfo           = []byte("info")
	bucketItems       = []byte("items")
	// bucketBases holds bases under 8-byte big-endian sequence numbers
	// (schema 2), so new bases append at the end of the tree: a big first
	// download touches a few pages instead of rewriting (and mapping) the
	// whole bucket, which kept the entire state file resident.
	bucketBases = []byte("bases")
	// bucketBaseV1 held bases under their href (schema 1).
	bucketBaseV1 = []byte("base")
	// keyFileSum holds the setsum of the items' (Name, Fingerprint): what
	// the folder looks like if nothing changed since it was recorded.
	keyFileSum = []byte("filesum")
	// bucketUIDs indexes items by UID (schema 4): keys UID NUL href, no
	// values, so ItemsWithUID looks up instead of scanning every record.
	bucketUIDs = []byte("uids")
)

// bucketNames indexes items by local file name (schema 5): name → href.
var bucketNames = []byte("names")

// bucketFileShards holds the file sum split by file name (schema 7): key
// one byte, the shard (setsum.ShardOf of the name); value its setsum. A
// folder whose sum differs from keyFileSum is compared shard by shard, and
// only the files of the shards that differ are looked up.
var bucketFileShards = []byte("fileshards")

// updateNameIndex replaces old's name entry (if any) by new's (if any).
func updateNameIndex(b *bolt.Bucket, href string, old, new *Item) error {
	if old != nil && new != nil && old.Name == new.Name {
		return nil
	}
	idx, err := b.CreateBucketIfNotExists(bucketNames)
	if err != nil {
		return err
	}
	if old != nil && old.Name != "" && string(idx.Get([]byte(old.Name))) == href {
		if err := idx.Delete([]byte(old.Name)); err != nil {
			return err
		}
	}
	if new != nil && new.Name != "" {
		return idx.Put([]byte(new.Name), []byte(href))
	}
	return nil
}

func uidKey(uid, href string) []byte {
	k := make([]byte, 0, len(uid)+1+len(href))
	k = append(k, uid...)
	k = append(k, 0)
	return append(k, href...)
}

// updateUIDIndex replaces old's index entry (if any) by new's (if any).
func updateUIDIndex(b *bolt.Bucket, href string, old, new *Item) error {
	if old != nil && new != nil && old.UID == new.UID {
		return nil
	}
	idx, err := b.CreateBucketIfNotExists(bucketUIDs)
	if err != nil {
		return err
	}
	if old != nil {
		if err := idx.Delete(uidKey(old.UID, href)); err != nil {
			return err
		}
	}
	if new != nil {
		return idx.Put(uidKey(new.UID, href), nil)
	}
	return nil
}

func fileRecord(it Item) []byte {
	return setsum.FileRecord(it.Name, it.Fingerprint.Size, it.Fingerprint.ModNs, it.Fingerprint.Inode)
}

// updateFileSum replaces old (if any) by new (if any) in the collection's
// file sum. An item without a local file (Name "") counts for nothing.
func updateFileSum(b *bolt.Bucket, old, new *Item) error {
	if old != nil && new != nil && old.Name == new.Name && old.Fingerprint == new.Fingerprint {
		return nil
	}
	var sum setsum.Sum
	if v := b.Get(keyFileSum); v != nil {
		var err error
		if sum, err = setsum.Parse(v); err != nil {
			return fmt.Errorf("file sum: %w", err)
		}
	}
	if old != nil && old.Name != "" {
		rec := fileRecord(*old)
		sum.Remove(rec)
		if err := updateShard(b, old.Name, func(s *setsum.Sum) { s.Remove(rec) }); err != nil {
			return err
		}
	}
	if new != nil && new.Name != "" {
		rec := fileRecord(*new)
		sum.Add(rec)
		if err := updateShard(b, new.Name, func(s *setsum.Sum) { s.Add(rec) }); err != nil {
			return err
		}
	}
	return b.Put(keyFileSum, sum.Bytes())
}

// updateShard applies fn to the stored shard of the file name.
func updateShard(b *bolt.Bucket, name string, fn func(*setsum.Sum)) error {
	sh, err := b.CreateBucketIfNotExists(bucketFileShards)
	if err != nil {
		return err
	}
	k := []byte{byte(setsum.ShardOf(name))}
	var sum setsum.Sum
	if v := sh.Get(k); v != nil {
		if sum, err = setsum.Parse(v); err != nil {
			return fmt.Errorf("file sum shard: %w", err)
		}
	}
	fn(&sum)
	return sh.Put(k, sum.Bytes())
}

// readShards reads a collection bucket's file sum shards.
func readShards(b *bolt.Bucket) (setsum.Shards, error) {
	var out setsum.Shards
	sh := b.Bucket(bucketFileShards)
	if sh == nil {
		return out, nil
	}
	err := sh.ForEach(func(k, v []byte) error {
		if len(k) != 1 {
			return fmt.Errorf("file sum shard: bad key %x", k)
		}
		sum, err := setsum.Parse(v)
		if err != nil {
			return fmt.Errorf("file sum shard: %w", err)
		}
		out[k[0]] = sum
		return nil
	})
	return out, err
}

// writeShards stores every shard of s that is not empty, and removes the
// empty ones.
func writeShards(b *bolt.Bucket, s *setsum.Shards) error {
	sh, err := b.CreateBucketIfNotExists(bucketFileShards)
	if err != nil {
		return err
	}
	for i := range s {
		k := []byte{byte(i)}
		if s[i] == (setsum.Sum{}) {
			if err := sh.Delete(k); err != nil {
				return err
			}
			continue
		}
		if err := sh.Put(k, s[i].Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

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
	Marker      string `json:"CTag"`
	SyncToken   string // RFC 6578 section 4 DAV:sync-token
	DisplayName string
	Color       string
	ReadOnly    bool
	LastSync    time.Time
	LastError   string
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

// Store is an open state file.
type Store struct {
	db      *bolt.DB
	path    string
	version int
	foldMu  sync.Mutex // serialises Fold
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

// Collections returns all collections, sorted by Key.
func (s *Store) Collections() ([]Collection, error) {
	var out []Collection
	err := s.db.View(func(btx *bolt.Tx) error {
		root := btx.Bucket(bucketCollections)
		return root.ForEachBucket(func(k []byte) error {
			c, _, err := readInfo(root.Bucket(k), string(k))
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("collections: %w", err)
	}
	// bbolt keys are byte-ordered, which is Go string order; sort anyway
	// because the order is part of the contract.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Collection returns one collection; ok is false if it is unknown.
func (s *Store) Collection(key string) (Collection, bool, error) {
	var (
		c  Collection
		ok bool
	)
	err := s.viewCollection(key, func(b *bolt.Bucket) error {
		var err error
		c, ok, err = readInfo(b, key)
		return err
	})
	if err != nil {
		return Collection{}, false, fmt.Errorf("collection %s: %w", key, err)
	}
	return c, ok, nil
}

// readInfo decodes a collection bucket's info. A bucket that only has
// items (PutItem before SetCollection) still counts as existing.
func readInfo(b *bolt.Bucket, key string) (Collection, bool, error) {
	if b == nil {
		return Collection{}, false, nil
	}
	c := Collection{Key: key}
	if v := b.Get(keyInfo); v != nil {
		if err := json.Unmarshal(v, &c); err != nil {
			return Collection{}, false, fmt.Errorf("decode collection %s: %w", key, err)
		}
		c.Key = key
	}
	return c, true, nil
}

// viewCollection runs fn in a read transaction on the collection's bucket;
// for an unknown collection it runs nothing.
func (s *Store) viewCollection(key string, fn func(b *bolt.Bucket) error) error {
	return s.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketCollections).Bucket([]byte(key))
		if b == nil {
			return nil
		}
		return fn(b)
	})
}

// forEachItem calls fn with every item record (without Base) of a
// collection bucket, in href order.
func forEachItem(b *bolt.Bucket, fn func(Item) error) error {
	items := b.Bucket(bucketItems)
	if items == nil {
		return nil
	}
	return items.ForEach(func(k, v []byte) error {
		it, err := decodeItem(k, v)
		if err != nil {
			return err
		}
		return fn(it)
	})
}

// Items returns a collection's items sorted by Href, without Base (the
// fast path for planning). An unknown collection has no items.
func (s *Store) Items(key string) ([]Item, error) {
	var out []Item
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		return forEachItem(b, func(it Item) error {
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("items of %s: %w", key, err)
	}
	s.dropMapping() // every record was read: see dropMapping
	return out, nil
}

// FileSum returns the setsum of the collection's recorded item files
// (setsum.FileRecord of each Name and Fingerprint). When a folder's own sum
// equals it, every item file is exactly as recorded and no other is there.
// An unknown collection has the empty sum.
func (s *Store) FileSum(key string) (setsum.Sum, error) {
	var sum setsum.Sum
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		if v := b.Get(keyFileSum); v != nil {
			var err error
			sum, err = setsum.Parse(v)
			return err
		}
		return nil
	})
	if err != nil {
		return setsum.Sum{}, fmt.Errorf("file sum of %s: %w", key, err)
	}
	return sum, nil
}

// FileShards returns the collection's file sum split by file name
// (setsum.Shards; Total equals FileSum). An unknown collection has empty
// shards.
func (s *Store) FileShards(key string) (setsum.Shards, error) {
	var out setsum.Shards
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		var err error
		out, err = readShards(b)
		return err
	})
	if err != nil {
		return setsum.Shards{}, fmt.Errorf("file sum shards of %s: %w", key, err)
	}
	return out, nil
}

// ItemsByHref returns the items (without Base) recorded under hrefs;
// unknown hrefs are left out. It costs one lookup per href, not a scan.
func (s *Store) ItemsByHref(key string, hrefs []string) (map[string]Item, error) {
	out := make(map[string]Item, len(hrefs))
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		items := b.Bucket(bucketItems)
		if items == nil {
			return nil
		}
		for _, h := range hrefs {
			v := items.Get([]byte(h))
			if v == nil {
				continue
			}
			it, err := decodeItem([]byte(h), v)
			if err != nil {
				return err
			}
			out[h] = it
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("items of %s: %w", key, err)
	}
	return out, nil
}

// ItemsByName returns the items (without Base) recorded with the given
// local file names, by name; unknown names are left out. One index lookup
// per name.
func (s *Store) ItemsByName(key string, names []string) (map[string]Item, error) {
	out := make(map[string]Item, len(names))
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		items, idx := b.Bucket(bucketItems), b.Bucket(bucketNames)
		if items == nil || idx == nil {
			return nil
		}
		for _, n := range names {
			href := idx.Get([]byte(n))
			if href == nil {
				continue
			}
			v := items.Get(href)
			if v == nil {
				continue
			}
			it, err := decodeItem(href, v)
			if err != nil {
				return err
			}
			if it.Name == n {
				out[n] = it
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("items of %s: %w", key, err)
	}
	// Callers look up a whole folder chunk by chunk: drop what each chunk
	// mapped (see dropMapping).
	s.dropMapping()
	return out, nil
}

// ItemsWithUID returns the items (without Base) whose UID is in uids,
// looked up in the UID index.
func (s *Store) ItemsWithUID(key string, uids map[string]bool) ([]Item, error) {
	var out []Item
	if len(uids) == 0 {
		return nil, nil
	}
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		items, idx := b.Bucket(bucketItems), b.Bucket(bucketUIDs)
		if items == nil || idx == nil {
			return nil
		}
		for _, uid := range sortedSet(uids) {
			prefix := uidKey(uid, "")
			c := idx.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				href := k[len(prefix):]
				v := items.Get(href)
				if v == nil {
					continue
				}
				it, err := decodeItem(href, v)
				if err != nil {
					return err
				}
				out = append(out, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("items of %s: %w", key, err)
	}
	return out, nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Item returns one item with its Base; ok is false if it is unknown.
func (s *Store) Item(key, href string) (Item, bool, error) {
	var (
		it Item
		ok bool
	)
	err := s.viewItems(key, func(b *bolt.Bucket) error {
		var err error
		it, ok, err = getItem(b, href)
		return err
	})
	if err != nil {
		return Item{}, false, fmt.Errorf("item %s in %s: %w", href, key, err)
	}
	return it, ok, nil
}

func getItem(b *bolt.Bucket, href string) (Item, bool, error) {
	items := b.Bucket(bucketItems)
	if items == nil {
		return Item{}, false, nil
	}
	v := items.Get([]byte(href))
	if v == nil {
		return Item{}, false, nil
	}
	it, seq, err := decodeItemSeq([]byte(href), v)
	if err != nil {
		return Item{}, false, err
	}
	if bases := b.Bucket(bucketBases); bases != nil && seq != 0 {
		if bv := bases.Get(seqKey(seq)); bv != nil {
			// Copy: bbolt memory is only valid inside the transaction.
			it.Base = append([]byte{}, bv...)
		}
	}
	return it, true, nil
}

// Update runs fn in one read-write transaction scoped to the collection
// key: everything fn does is committed together, or (when fn returns an
// error) nothing is.
func (s *Store) Update(key string, fn func(tx *Tx) error) error {
	err := s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{btx: btx, key: key}
		defer func() { tx.btx = nil }()
		return fn(tx)
	})
	if err != nil {
		return fmt.Errorf("update %s: %w", key, err)
	}
	s.dropMapping()
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
		j := btx.Bucket(bucketJournal)
		var drop [][]byte
		err := j.ForEach(func(k, v []byte) error {
			var e JournalEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode journal entry: %w", err)
			}
			if e.Key == key {
				drop = append(drop, append([]byte{}, k...))
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
	})
	if err != nil {
		return fmt.Errorf("delete collection %s: %w", key, err)
	}
	return nil
}

// Tx is a read-write transaction on one collection, valid only inside the
// Update callback that received it.
type Tx struct {
	btx *bolt.Tx
	key string
}

// bucket returns the collection's bucket, creating it when create is set.
func (tx *Tx) bucket(create bool) (*bolt.Bucket, error) {
	if tx.btx == nil {
		return nil, ErrTxDone
	}
	root := tx.btx.Bucket(bucketCollections)
	if !create {
		return root.Bucket([]byte(tx.key)), nil
	}
	b, err := root.CreateBucketIfNotExists([]byte(tx.key))
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
	c, ok, err := readInfo(b, tx.key)
	if err != nil {
		return Collection{}, false
	}
	return c, ok
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
	if err != nil {
		return Item{}, false, err
	}
	if b == nil {
		return Item{}, false, nil
	}
	if err := foldInTx(b); err != nil {
		return Item{}, false, err
	}
	return getItem(b, href)
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
	if err != nil {
		return fmt.Errorf("put item %s: %w", it.Href, err)
	}
	if err := foldInTx(b); err != nil {
		return fmt.Errorf("put item %s: %w", it.Href, err)
	}
	items, err := b.CreateBucketIfNotExists(bucketItems)
	if err != nil {
		return fmt.Errorf("put item %s: %w", it.Href, err)
	}
	bases, err := b.CreateBucketIfNotExists(bucketBases)
	if err != nil {
		return fmt.Errorf("put item %s: %w", it.Href, err)
	}
	bases.FillPercent = 1 // keys only ever grow: pack pages full
	var seq uint64
	key := []byte(it.Href)
	if it.Base != nil {
		if v := items.Get(key); v != nil {
			if _, oldSeq, err := decodeItemSeq(key, v); err == nil && oldSeq != 0 && bytes.Equal(bases.Get(seqKey(oldSeq)), it.Base) {
				seq = oldSeq // an unchanged base is not rewritten
			}
		}
		if seq == 0 {
			if seq, err = storeBase(bases, it.Base); err != nil {
				return fmt.Errorf("put item base %s: %w", it.Href, err)
			}
		}
	}
	if err := putRecord(b, it, seq); err != nil {
		return fmt.Errorf("put item %s: %w", it.Href, err)
	}
	return nil
}

// storeBase stores base under the bases bucket's next sequence number and
// returns it.
func storeBase(bases *bolt.Bucket, base []byte) (uint64, error) {
	seq, err := bases.NextSequence()
	if err != nil {
		return 0, err
	}
	return seq, bases.Put(seqKey(seq), base)
}

// putRecord stores it's record (with base sequence seq, already stored;
// 0 for none: then the replaced record's base stays if its hash is
// it.Hash) and updates the indexes, the file sum, and the base of the
// record it replaces.
func putRecord(b *bolt.Bucket, it Item, seq uint64) error {
	items, err := b.CreateBucketIfNotExists(bucketItems)
	if err != nil {
		return err
	}
	key := []byte(it.Href)
	var (
		oldSeq uint64
		old    *Item
	)
	if v := items.Get(key); v != nil {
		o, s, err := decodeItemSeq(key, v)
		if err != nil {
			return err
		}
		old, oldSeq = &o, s
	}
	if seq == 0 && old != nil && old.Hash == it.Hash {
		seq = oldSeq // no new base, same content: the stored base still describes it
	}
	if err := updateFileSum(b, old, &it); err != nil {
		return err
	}
	if err := updateUIDIndex(b, it.Href, old, &it); err != nil {
		return err
	}
	if err := updateNameIndex(b, it.Href, old, &it); err != nil {
		return err
	}
	if oldSeq != 0 && oldSeq != seq {
		if bases := b.Bucket(bucketBases); bases != nil {
			if err := bases.Delete(seqKey(oldSeq)); err != nil {
				return err
			}
		}
	}
	return items.Put(key, encodeItem(it, seq))
}

// DeleteItem forgets one item (and its base). Unknown hrefs are not an error.
func (tx *Tx) DeleteItem(href string) error {
	b, err := tx.bucket(false)
	if err != nil {
		return fmt.Errorf("delete item %s: %w", href, err)
	}
	if b == nil {
		return nil
	}
	if err := foldInTx(b); err != nil {
		return fmt.Errorf("delete item %s: %w", href, err)
	}
	items := b.Bucket(bucketItems)
	if items == nil {
		return nil
	}
	key := []byte(href)
	if v := items.Get(key); v != nil {
		old, seq, err := decodeItemSeq(key, v)
		if err != nil {
			return fmt.Errorf("delete item %s: %w", href, err)
		}
		if err := updateFileSum(b, &old, nil); err != nil {
			return fmt.Errorf("delete item %s: %w", href, err)
		}
		if err := updateUIDIndex(b, href, &old, nil); err != nil {
			return fmt.Errorf("delete item %s: %w", href, err)
		}
		if err := updateNameIndex(b, href, &old, nil); err != nil {
			return fmt.Errorf("delete item %s: %w", href, err)
		}
		if bases := b.Bucket(bucketBases); bases != nil && seq != 0 {
			if err := bases.Delete(seqKey(seq)); err != nil {
				return fmt.Errorf("delete item %s: %w", href, err)
			}
		}
	}
	if err := items.Delete(key); err != nil {
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

func journalKey(id uint64) []byte {
	// Big-endian so byte order is numeric order: Pending is oldest first.
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}
