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

// foldChunk is how many appended records Fold indexes per transaction,
// and how many UID index entries it adds per transaction afterwards: few
// enough to bound a transaction's memory, enough to keep commits few.
// Appending 100k items with random hrefs and UIDs, then folding (state
// alone): chunks of 1,000 took 2.0 s and 75 MB while the UIDs went in with
// their records (each chunk rewrote most of the UID tree), 5,000 1.3 s and
// 97 MB; with the UIDs in a pass of their own, 5,000 take 1.2 s and 63 MB.
// BenchmarkAppendThenFold10k: 152-159 ms at 1,000, 118-143 ms at 5,000.
// (Before the fold mark, when each chunk also deleted its records from
// the log, 3,000 peaked at 105 MB in the 100k benchmark.)
var foldChunk = 5000

// dropEvery is how many appended records (or items) a fold reads between
// two dropTxMapping calls: a chunk's records lie all over the log, and
// without this the 100k fold above peaked at 113 MB instead of 97 (UIDs
// with their records). The listing of the whole log and the UID lookups
// drop as often: the listing alone took the 100k fold from 11 to 48 MB.
const dropEvery = 1000

// pageDropper counts a fold's reads inside one transaction and drops the
// mapped pages (dropTxMapping) after every dropEvery of them: the one
// cadence of the log listing, the record phase and the UID lookups.
type pageDropper struct{ reads int }

// read is called before each read.
func (d *pageDropper) read(tx *bolt.Tx) error {
	if d.reads > 0 && d.reads%dropEvery == 0 {
		if err := dropTxMapping(tx); err != nil {
			return err
		}
	}
	d.reads++
	return nil
}

// foldInterrupt, set by tests, is asked after each committed chunk
// whether to stop there, as a crash would.
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

// appendedEntry returns the sequence number and href of the appended
// record k, v (as a log listing sees it).
func appendedEntry(k, v []byte) (seq uint64, href []byte, err error) {
	href, _, err = appendedHref(v)
	if err != nil || len(k) != 8 {
		return 0, nil, fmt.Errorf("appended record %x: %w", k, errShortRecord)
	}
	return binary.BigEndian.Uint64(k), href, nil
}

// foldMark records how far an interrupted Fold got (key keyFoldMark in the
// collection bucket): every appended record with a sequence number up to
// Seq and an href up to Href is indexed, the rest are not. Their UID index
// entries may be missing (Fold adds them after the last chunk), so whoever
// goes on adds those of every record the mark covers. Appended records
// stay in place until the whole fold is done, then go in one step.
//
// Why: deleting each folded record from the log, in href order, touched a
// page of the log per record in every chunk: at 100k items with chunks of
// 3,000 that took vdird from 72 MB to 105 MB. The mark makes a resumed
// Fold (or a writer's foldInTx) skip what is done, so no record is indexed
// twice: an href appended twice would otherwise lose its base.
type foldMark struct {
	Seq  uint64
	Href string
}

var keyFoldMark = []byte("foldmark")

func readFoldMark(b *bolt.Bucket) (m foldMark, ok bool, err error) {
	v := b.Get(keyFoldMark)
	if v == nil {
		return foldMark{}, false, nil
	}
	if len(v) < 8 {
		return foldMark{}, false, fmt.Errorf("fold mark: %w", errShortRecord)
	}
	return foldMark{Seq: binary.BigEndian.Uint64(v), Href: string(v[8:])}, true, nil
}

func (m foldMark) bytes() []byte { return append(seqKey(m.Seq), m.Href...) }

// done reports whether the appended record seq for href is indexed.
func (m foldMark) done(seq uint64, href string) bool { return seq <= m.Seq && href <= m.Href }

// Fold moves the collection's appended records (AppendItem) into its items
// and indexes, in href order, a chunk per transaction; adds their UID
// index entries in UID order; then drops them from the log. A crash in
// between leaves a mark (foldMark) from which the next Fold or writer goes
// on. Readers call it themselves when they meet appended records; callers
// that just appended many call it to pay the cost at a time of their
// choosing.
func (s *Store) Fold(key string) error {
	s.foldMu.Lock() // one fold per Store at a time: each goes on from the mark
	defer s.foldMu.Unlock()
	for {
		f := &fold{s: s, key: key}
		again, err := f.run()
		if err != nil {
			return fmt.Errorf("fold %s: %w", key, err)
		}
		if !again {
			return nil
		}
	}
}

// fold is one round of Fold: the records it listed, and the mark its
// transactions expect to find.
type fold struct {
	s       *Store
	key     string
	mark    foldMark
	resumed bool // a mark exists: from an interrupted fold, or this one
}

// foldRec is an appended record waiting to be folded.
type foldRec struct {
	href string
	seq  uint64
}

// run folds the appended records it lists and reports whether Fold
// should go again: records were appended meanwhile, or a writer folded
// everything under it (foldInTx) and new ones may be waiting.
func (f *fold) run() (again bool, err error) {
	recs, done, err := f.list()
	if err != nil || (len(recs) == 0 && !f.resumed) {
		return false, err
	}
	if !f.resumed {
		f.mark.Seq = recs[len(recs)-1].seq // list gives sequence order
	}
	// Stable: of two records with one href, the later one is folded last
	// and wins, as with two PutItem calls.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].href < recs[j].href })
	if moved, err := f.records(recs); err != nil || moved {
		return moved, err
	}
	for _, r := range recs {
		if len(done) == 0 || done[len(done)-1] != r.href {
			done = append(done, r.href)
		}
	}
	if moved, err := f.uids(done); err != nil || moved {
		return moved, err
	}
	return f.dropLog()
}

// list returns the appended records to fold, in sequence order, and the
// hrefs of those an interrupted fold already indexed (their UID entries
// are still to add). Records appended after the mark are left for the
// next round.
func (f *fold) list() (recs []foldRec, done []string, err error) {
	err = f.s.viewCollection(f.key, func(b *bolt.Bucket) error {
		ap := b.Bucket(bucketAppended)
		if ap == nil {
			return nil
		}
		var err error
		if f.mark, f.resumed, err = readFoldMark(b); err != nil {
			return err
		}
		var pages pageDropper
		return ap.ForEach(func(k, v []byte) error {
			if err := pages.read(b.Tx()); err != nil {
				return err
			}
			seq, href, err := appendedEntry(k, v)
			if err != nil {
				return err
			}
			switch {
			case !f.resumed: // all of them
			case seq > f.mark.Seq:
				return nil
			case f.mark.done(seq, string(href)):
				done = append(done, string(href))
				return nil
			}
			recs = append(recs, foldRec{href: string(href), seq: seq})
			return nil
		})
	})
	f.s.dropMapping() // the listing read every appended record
	return recs, done, err
}

// update runs fn on the collection and its log if the mark is still the
// one this fold expects; moved reports that it is not (a writer folded
// everything: start over).
func (f *fold) update(fn func(b, ap *bolt.Bucket) error) (moved bool, err error) {
	err = f.s.db.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketCollections).Bucket([]byte(f.key))
		if b == nil {
			moved = true
			return nil
		}
		ap := b.Bucket(bucketAppended)
		got, ok, err := readFoldMark(b)
		if err != nil {
			return err
		}
		if ap == nil || ok != f.resumed || (ok && got != f.mark) {
			moved = true
			return nil
		}
		return fn(b, ap)
	})
	f.s.dropMapping() // chunks read appended records all over the file
	return moved, err
}

// records indexes recs (in href order) but for their UIDs, foldChunk per
// transaction, moving the mark along.
func (f *fold) records(recs []foldRec) (moved bool, err error) {
	for start := 0; start < len(recs); {
		end := min(start+foldChunk, len(recs))
		for end < len(recs) && recs[end].href == recs[end-1].href {
			end++ // the mark splits by href: keep an href's records together
		}
		next := foldMark{Seq: f.mark.Seq, Href: recs[end-1].href}
		moved, err := f.update(func(b, ap *bolt.Bucket) error {
			seqs := make([][]byte, 0, end-start)
			for _, r := range recs[start:end] {
				seqs = append(seqs, seqKey(r.seq))
			}
			if err := foldRecords(b, ap, seqs, false); err != nil {
				return err
			}
			return b.Put(keyFoldMark, next.bytes())
		})
		if err != nil || moved {
			return moved, err
		}
		f.mark, f.resumed, start = next, true, end
		if foldInterrupt != nil && foldInterrupt() {
			return false, errFoldInterrupted
		}
	}
	return false, nil
}

// uids adds the UID index entries of the items under hrefs, in UID order
// over the whole fold, foldChunk per transaction: chunk by chunk, random
// UIDs made each transaction rewrite most of the UID tree.
func (f *fold) uids(hrefs []string) (moved bool, err error) {
	var keys [][]byte
	err = f.s.viewCollection(f.key, func(b *bolt.Bucket) error {
		var err error
		keys, err = uidKeysOf(b, hrefs)
		return err
	})
	f.s.dropMapping()
	if err != nil {
		return false, err
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	for start := 0; start < len(keys); start += foldChunk {
		part := keys[start:min(start+foldChunk, len(keys))]
		moved, err := f.update(func(b, _ *bolt.Bucket) error { return putUIDKeys(b, part) })
		if err != nil || moved {
			return moved, err
		}
		if foldInterrupt != nil && foldInterrupt() {
			return false, errFoldInterrupted
		}
	}
	return false, nil
}

// dropLog removes the folded records and the mark: the whole log if
// nothing was appended meanwhile, else the records up to the mark's
// sequence, and then Fold goes again.
func (f *fold) dropLog() (again bool, err error) {
	var newer bool
	moved, err := f.update(func(b, ap *bolt.Bucket) error {
		if err := b.Delete(keyFoldMark); err != nil {
			return err
		}
		c := ap.Cursor()
		if k, _ := c.Last(); k == nil || binary.BigEndian.Uint64(k) <= f.mark.Seq {
			return b.DeleteBucket(bucketAppended)
		}
		var folded [][]byte
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= f.mark.Seq; k, _ = c.Next() {
			folded = append(folded, k)
		}
		for _, k := range folded {
			if err := ap.Delete(k); err != nil {
				return err
			}
		}
		newer = true
		return nil
	})
	return moved || newer, err
}

// foldInTx folds every appended record of collection bucket b that an
// interrupted Fold left (all, if none was) inside the caller's
// transaction: PutItem and DeleteItem must not be overtaken by an older
// appended record folded after them.
func foldInTx(b *bolt.Bucket) error {
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
			seqs = append(seqs, append([]byte(nil), k...))
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
	items := b.Bucket(bucketItems)
	if items == nil {
		return nil, nil
	}
	keys := make([][]byte, 0, len(hrefs))
	var pages pageDropper
	for _, h := range hrefs {
		if err := pages.read(b.Tx()); err != nil {
			return nil, err
		}
		v := items.Get([]byte(h))
		if v == nil {
			continue
		}
		it, _, err := decodeItemSeq([]byte(h), v)
		if err != nil {
			return nil, err
		}
		keys = append(keys, uidKey(it.UID, h))
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

// foldRecords indexes the appended records under seqs (in the order
// given; of two with one href the later wins); they stay in ap.
// Records whose href is new go into each tree in that tree's key order,
// so a first download's records are appended to the trees rather than
// scattered through them; the rest take PutItem's general path. New
// records get their UID index entries only if withUIDs: Fold adds them
// afterwards, for all chunks at once.
func foldRecords(b, ap *bolt.Bucket, seqs [][]byte, withUIDs bool) error {
	items, err := b.CreateBucketIfNotExists(bucketItems)
	if err != nil {
		return err
	}
	type fresh struct {
		it  Item
		seq uint64
	}
	var (
		news  []fresh
		idx   = map[string]int{} // href → index in news
		pages pageDropper
	)
	for _, k := range seqs {
		if err := pages.read(b.Tx()); err != nil {
			return err
		}
		v := ap.Get(k)
		if v == nil {
			return fmt.Errorf("appended record %x: gone", k)
		}
		href, rv, err := appendedHref(v)
		if err != nil {
			return fmt.Errorf("appended record %x: %w", k, err)
		}
		it, seq, err := decodeItemSeq(href, rv)
		if err != nil {
			return err
		}
		if i, ok := idx[it.Href]; ok {
			// Twice in this fold: the later replaces the earlier, base too,
			// as PutItem would.
			if old := news[i].seq; seq == 0 && news[i].it.Hash == it.Hash {
				seq = old
			} else if old != 0 && old != seq {
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
	shards, err := readShards(b)
	if err != nil {
		return err
	}
	sort.Slice(news, func(i, j int) bool { return news[i].it.Href < news[j].it.Href })
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
	if err := writeShards(b, &shards); err != nil {
		return err
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
