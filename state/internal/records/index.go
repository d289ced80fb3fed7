package records

import (
	"bytes"
	"fmt"

	"github.com/vdird/vdird/internal/setsum"
	bolt "go.etcd.io/bbolt"
)

// updateIndexes replaces old's entries (if any) by new's (if any) in the
// file sum, the UID index and the name index of the item under href.
func updateIndexes(b *bolt.Bucket, href string, old, new *Item) error {
	if err := updateFileSum(b, old, new); err != nil {
		return err
	}
	if err := updateUIDIndex(b, href, old, new); err != nil {
		return err
	}
	return updateNameIndex(b, href, old, new)
}

// updateNameIndex replaces old's name entry (if any) by new's (if any).
func updateNameIndex(b *bolt.Bucket, href string, old, new *Item) error {
	if old != nil && new != nil && old.Name == new.Name {
		return nil
	}
	var oldKey, newKey []byte
	if old != nil && old.Name != "" {
		oldKey = []byte(old.Name)
	}
	if new != nil && new.Name != "" {
		newKey = []byte(new.Name)
	}
	return replaceEntry(b, bucketNames, oldKey, newKey, []byte(href))
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
	var oldKey, newKey []byte
	if old != nil {
		oldKey = uidKey(old.UID, href)
	}
	if new != nil {
		newKey = uidKey(new.UID, href)
	}
	return replaceEntry(b, bucketUIDs, oldKey, newKey, nil)
}

// replaceEntry removes oldKey from the index sub-bucket name if it still
// maps to value (another item may have taken it over since), then maps
// newKey to value. A nil key is no entry.
func replaceEntry(b *bolt.Bucket, name, oldKey, newKey, value []byte) error {
	idx, err := b.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	if oldKey != nil && bytes.Equal(idx.Get(oldKey), value) {
		if err := idx.Delete(oldKey); err != nil {
			return err
		}
	}
	if newKey != nil {
		return idx.Put(newKey, value)
	}
	return nil
}

func fileRecord(it Item) []byte {
	return setsum.FileRecord(it.Name, it.Fingerprint.Size, it.Fingerprint.ModNs, it.Fingerprint.Inode)
}

// FileSum returns the setsum of collection bucket b's item files
// (setsum.FileRecord of each Name and Fingerprint; items without a Name
// count for nothing).
func FileSum(b *bolt.Bucket) (setsum.Sum, error) {
	v := b.Get(keyFileSum)
	if v == nil {
		return setsum.Sum{}, nil
	}
	sum, err := setsum.Parse(v)
	if err != nil {
		return setsum.Sum{}, fmt.Errorf("file sum: %w", err)
	}
	return sum, nil
}

// updateFileSum replaces old (if any) by new (if any) in the collection's
// file sum. An item without a local file (Name "") counts for nothing.
func updateFileSum(b *bolt.Bucket, old, new *Item) error {
	if old != nil && new != nil && old.Name == new.Name && old.Fingerprint == new.Fingerprint {
		return nil
	}
	sum, err := FileSum(b)
	if err != nil {
		return err
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

// FileShards returns collection bucket b's file sum split by file name
// (setsum.Shards; their Total is FileSum).
func FileShards(b *bolt.Bucket) (setsum.Shards, error) {
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
