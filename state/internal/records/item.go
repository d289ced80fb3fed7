package records

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ForEach calls fn with every item (without Base) of collection bucket b,
// in href order.
func ForEach(b *bolt.Bucket, fn func(Item) error) error {
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

// Get returns the item (without Base) recorded under href.
func Get(b *bolt.Bucket, href string) (Item, bool, error) {
	it, _, ok, err := get(b, []byte(href))
	return it, ok, err
}

// GetWithBase returns the item recorded under href with its Base, a copy
// that outlives the transaction.
func GetWithBase(b *bolt.Bucket, href string) (Item, bool, error) {
	it, seq, ok, err := get(b, []byte(href))
	if err != nil || !ok || seq == 0 {
		return it, ok, err
	}
	if bases := b.Bucket(bucketBases); bases != nil {
		if bv := bases.Get(seqKey(seq)); bv != nil {
			it.Base = bytes.Clone(bv)
		}
	}
	return it, true, nil
}

// get decodes the record under href and its base sequence.
func get(b *bolt.Bucket, href []byte) (it Item, seq uint64, ok bool, err error) {
	items := b.Bucket(bucketItems)
	if items == nil {
		return Item{}, 0, false, nil
	}
	v := items.Get(href)
	if v == nil {
		return Item{}, 0, false, nil
	}
	it, seq, err = decodeItemSeq(href, v)
	return it, seq, err == nil, err
}

// ByName returns the item (without Base) recorded with the local file
// name, looked up in the name index.
func ByName(b *bolt.Bucket, name string) (Item, bool, error) {
	idx := b.Bucket(bucketNames)
	if idx == nil {
		return Item{}, false, nil
	}
	href := idx.Get([]byte(name))
	if href == nil {
		return Item{}, false, nil
	}
	it, _, ok, err := get(b, href)
	if err != nil || !ok || it.Name != name {
		return Item{}, false, err
	}
	return it, true, nil
}

// WithUID calls fn with every item (without Base) whose UID is uid, in
// href order, looked up in the UID index.
func WithUID(b *bolt.Bucket, uid string, fn func(Item) error) error {
	idx := b.Bucket(bucketUIDs)
	if idx == nil {
		return nil
	}
	prefix := uidKey(uid, "")
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		it, _, ok, err := get(b, k[len(prefix):])
		if err != nil {
			return err
		}
		if ok {
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// Put records it under it.Href, replacing any earlier record, after
// folding the append log (FoldInTx) so that no older appended record
// overtakes it. A base always describes the recorded content: a nil Base
// keeps the stored base when it.Hash is the recorded one and drops it
// otherwise; an unchanged Base is not rewritten.
func Put(b *bolt.Bucket, it Item) error {
	if err := FoldInTx(b); err != nil {
		return err
	}
	key := []byte(it.Href)
	var seq uint64
	if it.Base != nil {
		_, oldSeq, ok, err := get(b, key)
		if err != nil {
			return err
		}
		if bases := b.Bucket(bucketBases); ok && oldSeq != 0 && bases != nil && bytes.Equal(bases.Get(seqKey(oldSeq)), it.Base) {
			seq = oldSeq // an unchanged base is not rewritten
		} else if seq, err = storeBase(b, it.Base); err != nil {
			return fmt.Errorf("base: %w", err)
		}
	}
	return putRecord(b, key, it, seq)
}

// storeBase stores base under the bases bucket's next sequence number and
// returns it.
func storeBase(b *bolt.Bucket, base []byte) (uint64, error) {
	bases, err := b.CreateBucketIfNotExists(bucketBases)
	if err != nil {
		return 0, err
	}
	bases.FillPercent = 1 // keys only ever grow: pack pages full
	seq, err := bases.NextSequence()
	if err != nil {
		return 0, err
	}
	return seq, bases.Put(seqKey(seq), base)
}

// deleteBase removes the base under seq (0: none).
func deleteBase(b *bolt.Bucket, seq uint64) error {
	if bases := b.Bucket(bucketBases); bases != nil && seq != 0 {
		return bases.Delete(seqKey(seq))
	}
	return nil
}

// putRecord stores it's record under key, its href (with base sequence
// seq, already stored; 0 for none: then the replaced record's base stays
// if its hash is it.Hash) and updates the indexes, the file sum, and the
// base of the record it replaces.
func putRecord(b *bolt.Bucket, key []byte, it Item, seq uint64) error {
	items, err := b.CreateBucketIfNotExists(bucketItems)
	if err != nil {
		return err
	}
	o, oldSeq, ok, err := get(b, key)
	if err != nil {
		return err
	}
	var old *Item
	if ok {
		old = &o
		if seq == 0 && o.Hash == it.Hash {
			seq = oldSeq // no new base, same content: the stored base still describes it
		}
	}
	if err := updateIndexes(b, it.Href, old, &it); err != nil {
		return err
	}
	if oldSeq != seq {
		if err := deleteBase(b, oldSeq); err != nil {
			return err
		}
	}
	return items.Put(key, encodeItem(it, seq))
}

// Delete forgets the item under href and its base, after folding the
// append log (FoldInTx). An unknown href is not an error.
func Delete(b *bolt.Bucket, href string) error {
	if err := FoldInTx(b); err != nil {
		return err
	}
	old, seq, ok, err := get(b, []byte(href))
	if err != nil || !ok {
		return err
	}
	if err := updateIndexes(b, href, &old, nil); err != nil {
		return err
	}
	if err := deleteBase(b, seq); err != nil {
		return err
	}
	return b.Bucket(bucketItems).Delete([]byte(href))
}
