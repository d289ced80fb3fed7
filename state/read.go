package state

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vdird/vdird/internal/setsum"
	"github.com/vdird/vdird/state/internal/records"
	bolt "go.etcd.io/bbolt"
)

// errWaiting tells view that the collection has new items waiting in the
// append log (Tx.AddNewItems): its indexes are incomplete until they are
// folded in.
var errWaiting = errors.New("new items waiting")

// view returns what read finds in the collection's bucket, read in one
// transaction after any new items waiting in the append log are indexed
// (items added after that are not seen: the read came first). An unknown
// collection gives the zero T. what names the read in errors.
func view[T any](s *Store, key, what string, read func(b *bolt.Bucket) (T, error)) (T, error) {
	once := func(folded bool) (out T, err error) {
		err = s.db.View(func(btx *bolt.Tx) error {
			b := collectionBucket(btx, key)
			switch {
			case b == nil:
				return nil
			case !folded && records.Waiting(b):
				return errWaiting
			}
			out, err = read(b)
			return err
		})
		return out, err
	}
	out, err := once(false)
	if errors.Is(err, errWaiting) {
		if err = s.fold(key); err == nil {
			out, err = once(true)
		}
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// foldChunk and foldStop, set by tests, are records.Folder's Chunk and
// Stop for every fold.
var (
	foldChunk int
	foldStop  func() error
)

// fold indexes the new items of the collection that wait in its append
// log, a chunk per transaction.
func (s *Store) fold(key string) error {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	f := records.Folder{DB: s.db, Chunk: foldChunk, Stop: foldStop,
		Bucket: func(btx *bolt.Tx) *bolt.Bucket { return collectionBucket(btx, key) }}
	if err := f.Fold(); err != nil {
		return fmt.Errorf("index new items of %s: %w", key, err)
	}
	return nil
}

// Collections returns all collections, sorted by Key.
func (s *Store) Collections() ([]Collection, error) {
	var out []Collection
	err := s.db.View(func(btx *bolt.Tx) error {
		root := btx.Bucket(bucketCollections)
		return root.ForEachBucket(func(k []byte) error {
			c, err := readInfo(root.Bucket(k), string(k))
			if err != nil {
				return err
			}
			out = append(out, *c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("collections: %w", err)
	}
	// bbolt keys are byte-ordered, which is Go string order; sort anyway
	// because the order is part of the contract.
	slices.SortFunc(out, func(a, b Collection) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Collection returns one collection; ok is false if it is unknown.
func (s *Store) Collection(key string) (Collection, bool, error) {
	c, err := view(s, key, "collection "+key, func(b *bolt.Bucket) (*Collection, error) { return readInfo(b, key) })
	if err != nil || c == nil {
		return Collection{}, false, err
	}
	return *c, true, nil
}

// Items returns a collection's items sorted by Href, without Base (the
// fast path for planning). An unknown collection has no items.
func (s *Store) Items(key string) ([]Item, error) {
	out, err := view(s, key, "items of "+key, func(b *bolt.Bucket) ([]Item, error) {
		var out []Item
		err := records.ForEach(b, func(r records.Item) error {
			out = append(out, itemOf(r))
			return nil
		})
		return out, err
	})
	records.DropMapping(s.db) // every record was read: see DropMapping
	return out, err
}

// lookup returns the items that get finds under keys, by key.
func lookup(b *bolt.Bucket, keys []string, get func(*bolt.Bucket, string) (records.Item, bool, error)) (map[string]Item, error) {
	out := make(map[string]Item, len(keys))
	for _, k := range keys {
		r, ok, err := get(b, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = itemOf(r)
		}
	}
	return out, nil
}

// ItemsByHref returns the items (without Base) recorded under hrefs;
// unknown hrefs are left out. It costs one lookup per href, not a scan.
func (s *Store) ItemsByHref(key string, hrefs []string) (map[string]Item, error) {
	return view(s, key, "items of "+key, func(b *bolt.Bucket) (map[string]Item, error) {
		return lookup(b, hrefs, records.Get)
	})
}

// ItemsByName returns the items (without Base) recorded with the given
// local file names, by name; unknown names are left out. One index lookup
// per name.
func (s *Store) ItemsByName(key string, names []string) (map[string]Item, error) {
	out, err := view(s, key, "items of "+key, func(b *bolt.Bucket) (map[string]Item, error) {
		return lookup(b, names, records.ByName)
	})
	// Callers look up a whole folder chunk by chunk: drop what each chunk
	// mapped (see records.DropMapping).
	records.DropMapping(s.db)
	return out, err
}

// ItemsWithUID returns the items (without Base) whose UID is in uids,
// looked up in the UID index, by UID then href.
func (s *Store) ItemsWithUID(key string, uids map[string]bool) ([]Item, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	return view(s, key, "items of "+key, func(b *bolt.Bucket) ([]Item, error) {
		var out []Item
		for _, uid := range slices.Sorted(maps.Keys(uids)) {
			err := records.WithUID(b, uid, func(r records.Item) error {
				out = append(out, itemOf(r))
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// Item returns one item with its Base; ok is false if it is unknown.
func (s *Store) Item(key, href string) (Item, bool, error) {
	it, err := view(s, key, "item "+href+" in "+key, func(b *bolt.Bucket) (*Item, error) {
		return found(records.GetWithBase(b, href))
	})
	if err != nil || it == nil {
		return Item{}, false, err
	}
	return *it, true, nil
}

// found turns a records lookup into an Item, nil if there was none.
func found(r records.Item, ok bool, err error) (*Item, error) {
	if err != nil || !ok {
		return nil, err
	}
	it := itemOf(r)
	return &it, nil
}

// FileSum returns the setsum of the collection's recorded item files
// (setsum.FileRecord of each Name and Fingerprint). When a folder's own sum
// equals it, every item file is exactly as recorded and no other is there.
// An unknown collection has the empty sum.
func (s *Store) FileSum(key string) (setsum.Sum, error) {
	return view(s, key, "file sum of "+key, records.FileSum)
}

// FileShards returns the collection's file sum split by file name
// (setsum.Shards; Total equals FileSum). An unknown collection has empty
// shards.
func (s *Store) FileShards(key string) (setsum.Shards, error) {
	return view(s, key, "file sum shards of "+key, records.FileShards)
}
