package records

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// bucketAppended holds the records of a first download that are not yet
// in the items bucket and its indexes (schema 6): keys are 8-byte
// big-endian sequence numbers, values uvarint length + href, then the item
// record. The bucket exists only while such records wait.
//
// Why: a first download records its items batch by batch, so a crash
// loses no written file's record. Hrefs are random (UUIDs), so putting a
// batch of them into the items, UID and name trees touches a page almost
// per item in each tree, and every commit rewrote pages all over them: the
// state file became a large part of a first download's time and of its
// resident memory. Appending touches only the tree's last pages; Fold then
// indexes everything once, in href order.
var bucketAppended = []byte("appended")

// Append records it, an item the collection does not have yet (a first
// download), by appending to a log instead of updating the indexes. The
// log is indexed by Fold, or by FoldInTx (which Put and Delete call
// first); readers must fold it before they read (Waiting). An href that
// was recorded before is replaced when the record is folded, as Put would.
func Append(b *bolt.Bucket, it Item) error {
	var seq uint64
	if it.Base != nil {
		var err error
		if seq, err = storeBase(b, it.Base); err != nil {
			return fmt.Errorf("base: %w", err)
		}
	}
	ap, err := b.CreateBucketIfNotExists(bucketAppended)
	if err != nil {
		return err
	}
	ap.FillPercent = 1
	n, err := ap.NextSequence()
	if err != nil {
		return err
	}
	v := binary.AppendUvarint(nil, uint64(len(it.Href)))
	v = append(v, it.Href...)
	v = append(v, encodeItem(it, seq)...)
	return ap.Put(seqKey(n), v)
}

// Waiting reports whether collection bucket b has appended records that
// are not indexed yet: its reads are incomplete until they are folded.
func Waiting(b *bolt.Bucket) bool { return b.Bucket(bucketAppended) != nil }

// appendedHref splits an appended value into its href and item record.
func appendedHref(v []byte) (href, rec []byte, err error) {
	l, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < l {
		return nil, nil, errShortRecord
	}
	return v[n : n+int(l)], v[n+int(l):], nil
}

// appendedEntry returns the sequence number and href of the appended
// record k, v (as a log listing sees it).
func appendedEntry(k, v []byte) (seq uint64, href []byte, err error) {
	href, _, err = appendedHref(v)
	if err != nil || len(k) != 8 {
		return 0, nil, fmt.Errorf("appended record %x: %w", k, errShortRecord)
	}
	return binary.BigEndian.Uint64(k), href, nil
}

// FoldInTx folds every appended record of collection bucket b that an
// interrupted Fold left (all, if none was) inside the caller's write
// transaction: a write must not be overtaken by an older appended record
// folded after it.
func FoldInTx(b *bolt.Bucket) error {
	ap := b.Bucket(bucketAppended)
	if ap == nil {
		return nil
	}
	mark, resumed, err := readFoldMark(b)
	if err != nil {
		return err
	}
	var (
		seqs [][]byte
		done []string // indexed by the interrupted Fold, but for their UIDs
	)
	err = ap.ForEach(func(k, v []byte) error {
		seq, href, err := appendedEntry(k, v)
		if err != nil {
			return err
		}
		if resumed && mark.done(seq, string(href)) {
			done = append(done, string(href))
		} else {
			seqs = append(seqs, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys, err := uidKeysOf(b, done)
	if err != nil {
		return err
	}
	if err := putUIDKeys(b, keys); err != nil {
		return err
	}
	if err := foldRecords(b, ap, seqs, true); err != nil {
		return err
	}
	if err := b.Delete(keyFoldMark); err != nil {
		return err
	}
	return b.DeleteBucket(bucketAppended)
}

// uidKeysOf returns the UID index keys of the items under hrefs (skipping
// unknown ones).
func uidKeysOf(b *bolt.Bucket, hrefs []string) ([][]byte, error) {
	keys := make([][]byte, 0, len(hrefs))
	var pages pageDropper
	for _, h := range hrefs {
		if err := pages.read(b.Tx()); err != nil {
			return nil, err
		}
		it, _, ok, err := get(b, []byte(h))
		if err != nil {
			return nil, err
		}
		if ok {
			keys = append(keys, uidKey(it.UID, h))
		}
	}
	return keys, nil
}

// putUIDKeys adds keys to the UID index; keys already there stay.
func putUIDKeys(b *bolt.Bucket, keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	idx, err := b.CreateBucketIfNotExists(bucketUIDs)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := idx.Put(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// newRecord is an appended record whose href the items bucket does not
// have yet, with its base sequence.
type newRecord struct {
	it  Item
	seq uint64
}

// foldRecords indexes the appended records under seqs (in the order
// given; of two with one href the later wins); they stay in ap.
// Records whose href is new go into each tree in that tree's key order
// (indexNew), so a first download's records are appended to the trees
// rather than scattered through them; the rest take Put's general path.
// New records get their UID index entries only if withUIDs: Fold adds
// them afterwards, for all chunks at once.
func foldRecords(b, ap *bolt.Bucket, seqs [][]byte, withUIDs bool) error {
	var (
		news  []newRecord
		idx   = map[string]int{} // href → index in news
		pages pageDropper
	)
	for _, k := range seqs {
		if err := pages.read(b.Tx()); err != nil {
			return err
		}
		it, seq, err := appendedRecord(ap, k)
		if err != nil {
			return err
		}
		if i, ok := idx[it.Href]; ok {
			// Twice in this fold: the later replaces the earlier, base too,
			// as Put would.
			if old := news[i].seq; seq == 0 && news[i].it.Hash == it.Hash {
				seq = old
			} else if err := deleteBase(b, old); err != nil {
				return err
			}
			news[i] = newRecord{it, seq}
			continue
		}
		key := []byte(it.Href)
		if _, _, ok, err := get(b, key); err != nil {
			return err
		} else if ok {
			if err := putRecord(b, key, it, seq); err != nil {
				return fmt.Errorf("index %s: %w", it.Href, err)
			}
			continue
		}
		idx[it.Href] = len(news)
		news = append(news, newRecord{it, seq})
	}
	return indexNew(b, news, withUIDs)
}

// appendedRecord decodes the appended record under key k.
func appendedRecord(ap *bolt.Bucket, k []byte) (Item, uint64, error) {
	v := ap.Get(k)
	if v == nil {
		return Item{}, 0, fmt.Errorf("appended record %x: gone", k)
	}
	href, rv, err := appendedHref(v)
	if err != nil {
		return Item{}, 0, fmt.Errorf("appended record %x: %w", k, err)
	}
	return decodeItemSeq(href, rv)
}

// indexNew stores news, records of hrefs the items bucket does not have,
// and adds them to the file sum and its shards, the name index and (if
// withUIDs) the UID index, each tree in its own key order.
func indexNew(b *bolt.Bucket, news []newRecord, withUIDs bool) error {
	if len(news) == 0 {
		return nil
	}
	items, err := b.CreateBucketIfNotExists(bucketItems)
	if err != nil {
		return err
	}
	sum, err := FileSum(b)
	if err != nil {
		return err
	}
	shards, err := FileShards(b)
	if err != nil {
		return err
	}
	slices.SortFunc(news, func(x, y newRecord) int { return cmp.Compare(x.it.Href, y.it.Href) })
	var names, uids [][2][]byte
	for _, n := range news {
		it := n.it
		if err := items.Put([]byte(it.Href), encodeItem(it, n.seq)); err != nil {
			return fmt.Errorf("index %s: %w", it.Href, err)
		}
		if it.Name != "" {
			rec := fileRecord(it)
			sum.Add(rec)
			shards.Add(it.Name, rec)
			names = append(names, [2][]byte{[]byte(it.Name), []byte(it.Href)})
		}
		if withUIDs {
			uids = append(uids, [2][]byte{uidKey(it.UID, it.Href), nil})
		}
	}
	if err := putSorted(b, bucketNames, names); err != nil {
		return err
	}
	if err := putSorted(b, bucketUIDs, uids); err != nil {
		return err
	}
	if err := writeShards(b, &shards); err != nil {
		return err
	}
	return b.Put(keyFileSum, sum.Bytes())
}

// putSorted puts the key-value pairs kv into b's sub-bucket name, in key
// order.
func putSorted(b *bolt.Bucket, name []byte, kv [][2][]byte) error {
	t, err := b.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	slices.SortFunc(kv, func(x, y [2][]byte) int { return bytes.Compare(x[0], y[0]) })
	for _, p := range kv {
		if err := t.Put(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}
