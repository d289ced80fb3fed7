package records

import (
	"bytes"

	"github.com/vdird/vdird/internal/setsum"
	bolt "go.etcd.io/bbolt"
)

// The steps of state's schema migrations that change a collection bucket.
// Each is a released step: its effect must never change.

// MoveBasesV1 moves bases from href keys (schema 1) to append-only
// sequence keys, and makes each item record name its base's sequence
// (schema 2).
func MoveBasesV1(b *bolt.Bucket) error {
	old := b.Bucket(bucketBaseV1)
	if old == nil {
		return nil
	}
	items := b.Bucket(bucketItems)
	if items == nil {
		return b.DeleteBucket(bucketBaseV1) // bases of no item
	}
	bases, err := b.CreateBucketIfNotExists(bucketBases)
	if err != nil {
		return err
	}
	bases.FillPercent = 1
	err = old.ForEach(func(href, base []byte) error {
		v := items.Get(href)
		if v == nil {
			return nil // a base without its item: drop it
		}
		it, _, err := decodeItemSeq(href, v)
		if err != nil {
			return err
		}
		seq, err := bases.NextSequence()
		if err != nil {
			return err
		}
		// Copies: Put keeps the slices until commit, and the old
		// bucket's memory goes away with DeleteBucket.
		if err := bases.Put(seqKey(seq), bytes.Clone(base)); err != nil {
			return err
		}
		return items.Put(bytes.Clone(href), encodeItem(it, seq))
	})
	if err != nil {
		return err
	}
	return b.DeleteBucket(bucketBaseV1)
}

// ComputeFileSum stores the file sum of the items (schema 3).
func ComputeFileSum(b *bolt.Bucket) error {
	var sum setsum.Sum
	err := ForEach(b, func(it Item) error {
		if it.Name != "" {
			sum.Add(fileRecord(it))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return b.Put(keyFileSum, sum.Bytes())
}

// IndexUIDs builds the UID index (schema 4).
func IndexUIDs(b *bolt.Bucket) error {
	idx, err := b.CreateBucketIfNotExists(bucketUIDs)
	if err != nil {
		return err
	}
	return ForEach(b, func(it Item) error {
		return idx.Put(uidKey(it.UID, it.Href), nil)
	})
}

// IndexNames builds the local file name index (schema 5).
func IndexNames(b *bolt.Bucket) error {
	idx, err := b.CreateBucketIfNotExists(bucketNames)
	if err != nil {
		return err
	}
	return ForEach(b, func(it Item) error {
		if it.Name == "" {
			return nil
		}
		return idx.Put([]byte(it.Name), []byte(it.Href))
	})
}

// ComputeFileShards splits the file sum of the indexed items by file name
// (schema 7). Appended records not folded yet are in neither: their fold
// adds them to both.
func ComputeFileShards(b *bolt.Bucket) error {
	var shards setsum.Shards
	err := ForEach(b, func(it Item) error {
		if it.Name != "" {
			shards.Add(it.Name, fileRecord(it))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeShards(b, &shards)
}
