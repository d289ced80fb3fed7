package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/vdird/vdird/internal/setsum"
	bolt "go.etcd.io/bbolt"
)

// bucketAppended holds the records of a first download that are not yet
// in the items bucket and its indexes (schema 6): keys are 8-byte
// big-endian sequence numbers, values uvarint length + href, then the item
// record. The bucket exists only while such records wait.
//
// Why: a first download records its items batch by batch, so a crash
// loses no written file's record. Hrefs are random (UUIDs), so putting 200
// of them into the items, UID and name trees touches a page almost per
// item in each tree, and every commit rewrote a few hundred pages: at 10k
// items the state file took 0.25 s of a 1.9 s download and most of its
// resident memory. Appending touches only the tree's last pages; Fold then
// indexes everything once, in href order.
var bucketAppended = []byte("appended")

// foldChunk is how many appended records Fold indexes per transaction:
// enough to keep the number of commits (each rewriting the UID tree's
// touched pages) small, few enough to bound a transaction's memory. The
// UID index takes the records in random order, so a transaction holds
// about one UID-tree leaf per record. At 10k items on Radicale (batches
// of 400) the fold, the peak of a first download, took vdird to 34-37 MB
// in one transaction, 28-33 MB at 3,000 and 27-28 MB at 1,000; 3,000 was
// 0.03-0.07 s faster at 10k but peaked at 105 MB at 100k (72 MB at 1,000,
// target 100 MB). BenchmarkAppendThenFold10k: 170 ms at 1,000, 144 ms at
// 2,000, 120 ms at 10,000.
var foldChunk = 1000

// foldInterrupt, set by tests, is asked after each committed chunk but the
// last whether to stop there, as a crash would.
var foldInterrupt func() bool

var errFoldInterrupted = errors.New("interrupted (test)")

// errAppended tells a reader that the collection has appended records to
// fold before its indexes are complete.
var errAppended = errors.New("appended records waiting")

// AppendItem records it, an item the collection does not have yet (a
// first download), by appending to a log instead of updating the indexes.
// Store's readers fold appended records first (Fold), so they see it as if
// PutItem had been used; within this transaction, Item does not see it.
// An href that was recorded before is replaced when the record is folded.
func (tx *Tx) AppendItem(it Item) error {
	if it.Href == "" {
		return fmt.Errorf("append item in %s: empty href", tx.key)
	}
	b, err := tx.bucket(true)
	if err != nil {
		return fmt.Errorf("append item %s: %w", it.Href, err)
	}
	var seq uint64
	if it.Base != nil {
		bases, err := b.CreateBucketIfNotExists(bucketBases)
		if err != nil {
			return fmt.Errorf("append item %s: %w", it.Href, err)
		}
		bases.FillPercent = 1 // keys only ever grow: pack pages full
		if seq, err = storeBase(bases, it.Base); err != nil {
			return fmt.Errorf("append item base %s: %w", it.Href, err)
		}
	}
	ap, err := b.CreateBucketIfNotExists(bucketAppended)
	if err != nil {
		return fmt.Errorf("append item %s: %w", it.Href, err)
	}
	ap.FillPercent = 1
	n, err := ap.NextSequence()
	if err != nil {
		return fmt.Errorf("append item %s: %w", it.Href, err)
	}
	v := binary.AppendUvarint(nil, uint64(len(it.Href)))
	v = append(v, it.Href...)
	v = append(v, encodeItem(it, seq)...)
	if err := ap.Put(seqKey(n), v); err != nil {
		return fmt.Errorf("append item %s: %w", it.Href, err)
	}
	return nil
}

// appendedHref splits an appended value into its href and item record.
func appendedHref(v []byte) (href, rec []byte, err error) {
	l, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < l {
		return nil, nil, errShortRecord
	}
	return v[n : n+int(l)], v[n+int(l):], nil
}

// Fold moves the collection's appended records (AppendItem) into its items
// and indexes, in href order, a chunk per transaction; a crash in between
// leaves the rest appended for the next Fold. Readers call it themselves
// when they meet appended records; callers that just appended many call
// it to pay the cost at a time of their choosing.
func (s *Store) Fold(key string) error {
	type rec struct {
		href string
		seq  [8]byte
	}
	var recs []rec
	err := s.viewCollection(key, func(b *bolt.Bucket) error {
		ap := b.Bucket(bucketAppended)
		if ap == nil {
			return nil
		}
		return ap.ForEach(func(k, v []byte) error {
			href, _, err := appendedHref(v)
			if err != nil || len(k) != 8 {
				return fmt.Errorf("appended record %x: %w", k, errShortRecord)
			}
			recs = append(recs, rec{href: string(href), seq: [8]byte(k)})
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("fold %s: %w", key, err)
	}
	if len(recs) == 0 {
		return nil
	}
	s.dropMapping() // the listing read every appended record
	// Stable: of two records with one href, the later one is folded last
	// and wins, as with two PutItem calls.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].href < recs[j].href })
	for start := 0; start < len(recs); start += foldChunk {
		chunk := recs[start:min(start+foldChunk, len(recs))]
		last := start+len(chunk) == len(recs)
		err := s.db.Update(func(btx *bolt.Tx) error {
			b := btx.Bucket(bucketCollections).Bucket([]byte(key))
			if b == nil {
				return nil
			}
			ap := b.Bucket(bucketAppended)
			if ap == nil {
				return nil // folded by someone else meanwhile
			}
			seqs := make([][]byte, len(chunk))
			for i := range chunk {
				seqs[i] = chunk[i].seq[:]
			}
			if err := foldRecords(b, ap, seqs); err != nil {
				return err
			}
			if last {
				if k, _ := ap.Cursor().First(); k == nil {
					return b.DeleteBucket(bucketAppended)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fold %s: %w", key, err)
		}
		s.dropMapping() // each chunk reads appended records all over the file
		if foldInterrupt != nil && !last && foldInterrupt() {
			return fmt.Errorf("fold %s: %w", key, errFoldInterrupted)
		}
	}
	return nil
}

// foldInTx folds every appended record of collection bucket b inside the
// caller's transaction: PutItem and DeleteItem must not be overtaken by an
// older appended record folded after them.
func foldInTx(b *bolt.Bucket) error {
	ap := b.Bucket(bucketAppended)
	if ap == nil {
		return nil
	}
	var seqs [][]byte
	err := ap.ForEach(func(k, _ []byte) error {
		seqs = append(seqs, append([]byte(nil), k...))
		return nil
	})
	if err != nil {
		return err
	}
	if err := foldRecords(b, ap, seqs); err != nil {
		return err
	}
	return b.DeleteBucket(bucketAppended)
}

// foldRecords indexes the appended records under seqs (in the order
// given; of two with one href the later wins) and deletes them from ap.
// Records whose href is new go into each tree in that tree's key order,
// so a first download's records are appended to the trees rather than
// scattered through them; the rest take PutItem's general path.
func foldRecords(b, ap *bolt.Bucket, seqs [][]byte) error {
	items, err := b.CreateBucketIfNotExists(bucketItems)
	if err != nil {
		return err
	}
	type fresh struct {
		it  Item
		seq uint64
	}
	var (
		news []fresh
		idx  = map[string]int{} // href → index in news
	)
	for _, k := range seqs {
		v := ap.Get(k)
		if v == nil {
			continue // folded by someone else meanwhile
		}
		href, rv, err := appendedHref(v)
		if err != nil {
			return fmt.Errorf("appended record %x: %w", k, err)
		}
		it, seq, err := decodeItemSeq(href, rv)
		if err != nil {
			return err
		}
		if err := ap.Delete(k); err != nil {
			return err
		}
		if i, ok := idx[it.Href]; ok {
			// Twice in this fold: the later replaces the earlier, base too.
			if old := news[i].seq; old != 0 && old != seq {
				if err := b.Bucket(bucketBases).Delete(seqKey(old)); err != nil {
					return err
				}
			}
			news[i] = fresh{it, seq}
			continue
		}
		if items.Get([]byte(it.Href)) != nil {
			if err := putRecord(b, it, seq); err != nil {
				return fmt.Errorf("index %s: %w", it.Href, err)
			}
			continue
		}
		idx[it.Href] = len(news)
		news = append(news, fresh{it, seq})
	}
	if len(news) == 0 {
		return nil
	}
	var sum setsum.Sum
	if v := b.Get(keyFileSum); v != nil {
		if sum, err = setsum.Parse(v); err != nil {
			return fmt.Errorf("file sum: %w", err)
		}
	}
	sort.Slice(news, func(i, j int) bool { return news[i].it.Href < news[j].it.Href })
	var names, uids [][2][]byte
	for _, n := range news {
		it := n.it
		if err := items.Put([]byte(it.Href), encodeItem(it, n.seq)); err != nil {
			return fmt.Errorf("index %s: %w", it.Href, err)
		}
		if it.Name != "" {
			sum.Add(fileRecord(it))
			names = append(names, [2][]byte{[]byte(it.Name), []byte(it.Href)})
		}
		uids = append(uids, [2][]byte{uidKey(it.UID, it.Href), nil})
	}
	for _, tree := range []struct {
		name []byte
		kv   [][2][]byte
	}{{bucketNames, names}, {bucketUIDs, uids}} {
		t, err := b.CreateBucketIfNotExists(tree.name)
		if err != nil {
			return err
		}
		sort.Slice(tree.kv, func(i, j int) bool { return bytes.Compare(tree.kv[i][0], tree.kv[j][0]) < 0 })
		for _, kv := range tree.kv {
			if err := t.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	return b.Put(keyFileSum, sum.Bytes())
}

// viewItems runs fn in a read transaction on the collection's bucket
// after folding its appended records; for an unknown collection it runs
// nothing. Records appended after the fold are not seen: the read happened
// before them.
func (s *Store) viewItems(key string, fn func(b *bolt.Bucket) error) error {
	err := s.viewCollection(key, func(b *bolt.Bucket) error {
		if b.Bucket(bucketAppended) != nil {
			return errAppended
		}
		return fn(b)
	})
	if !errors.Is(err, errAppended) {
		return err
	}
	if err := s.Fold(key); err != nil {
		return err
	}
	return s.viewCollection(key, fn)
}
