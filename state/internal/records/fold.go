package records

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// DefaultChunk is how many appended records Fold indexes per transaction,
// and how many UID index entries it adds per transaction afterwards: few
// enough to bound a transaction's memory, enough to keep commits few. The
// UIDs go in a pass of their own because random UIDs added with their
// records make every chunk rewrite most of the UID tree.
const DefaultChunk = 5000

// dropEvery is how many appended records (or items) a fold reads between
// two dropTxMapping calls: a chunk's records lie all over the log, so
// without this the pages a big fold reads stay resident (see DropMapping).
// The listing of the whole log and the UID lookups drop as often, for the
// same reason.
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

// foldMark records how far an interrupted Fold got (key keyFoldMark in the
// collection bucket): every appended record with a sequence number up to
// Seq and an href up to Href is indexed, the rest are not. Their UID index
// entries may be missing (Fold adds them after the last chunk), so whoever
// goes on adds those of every record the mark covers. Appended records
// stay in place until the whole fold is done, then go in one step.
//
// Why: deleting each folded record from the log, in href order, touched a
// page of the log per record in every chunk, and the resident memory of a
// big first download grew with it. The mark makes a resumed
// Fold (or a writer's FoldInTx) skip what is done, so no record is indexed
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

// Folder folds one collection's append log.
type Folder struct {
	DB *bolt.DB
	// Bucket returns the collection's bucket in tx, nil if it is gone.
	Bucket func(tx *bolt.Tx) *bolt.Bucket
	// Chunk is how many records a transaction indexes (0: DefaultChunk).
	Chunk int
	// Stop, if set, is asked after each committed transaction: an error
	// stops the fold there, as a crash would, and Fold returns it (tests).
	Stop func() error
}

// Fold moves the collection's appended records (Append) into its items
// and indexes, in href order, a chunk per transaction; adds their UID
// index entries in UID order; then drops them from the log. A crash in
// between leaves a mark (foldMark) from which the next Fold or writer goes
// on. Only one Fold of a file may run at a time.
func (f Folder) Fold() error {
	if f.Chunk <= 0 {
		f.Chunk = DefaultChunk
	}
	for {
		r := &round{Folder: f}
		again, err := r.run()
		if err != nil || !again {
			return err
		}
	}
}

// round is one round of Fold: the records it listed, and the mark its
// transactions expect to find.
type round struct {
	Folder
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
// everything under it (FoldInTx) and new ones may be waiting.
func (r *round) run() (again bool, err error) {
	recs, done, err := r.list()
	if err != nil || (len(recs) == 0 && !r.resumed) {
		return false, err
	}
	if !r.resumed {
		r.mark.Seq = recs[len(recs)-1].seq // list gives sequence order
	}
	// Stable: of two records with one href, the later one is folded last
	// and wins, as with two Put calls.
	slices.SortStableFunc(recs, func(x, y foldRec) int { return strings.Compare(x.href, y.href) })
	if moved, err := r.records(recs); err != nil || moved {
		return moved, err
	}
	for _, rec := range recs {
		if len(done) == 0 || done[len(done)-1] != rec.href {
			done = append(done, rec.href)
		}
	}
	if moved, err := r.uids(done); err != nil || moved {
		return moved, err
	}
	return r.dropLog()
}

// view runs fn on the collection's bucket in a read transaction, if the
// collection exists, then drops the pages it mapped.
func (r *round) view(fn func(b *bolt.Bucket) error) error {
	err := r.DB.View(func(tx *bolt.Tx) error {
		if b := r.Bucket(tx); b != nil {
			return fn(b)
		}
		return nil
	})
	DropMapping(r.DB)
	return err
}

// list returns the appended records to fold, in sequence order, and the
// hrefs of those an interrupted fold already indexed (their UID entries
// are still to add). Records appended after the mark are left for the
// next round.
func (r *round) list() (recs []foldRec, done []string, err error) {
	err = r.view(func(b *bolt.Bucket) error {
		ap := b.Bucket(bucketAppended)
		if ap == nil {
			return nil
		}
		var err error
		if r.mark, r.resumed, err = readFoldMark(b); err != nil {
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
			case !r.resumed: // all of them
			case seq > r.mark.Seq:
				return nil
			case r.mark.done(seq, string(href)):
				done = append(done, string(href))
				return nil
			}
			recs = append(recs, foldRec{href: string(href), seq: seq})
			return nil
		})
	})
	return recs, done, err
}

// update runs fn on the collection and its log if the mark is still the
// one this round expects; moved reports that it is not (a writer folded
// everything: start over).
func (r *round) update(fn func(b, ap *bolt.Bucket) error) (moved bool, err error) {
	err = r.DB.Update(func(tx *bolt.Tx) error {
		b := r.Bucket(tx)
		if b == nil {
			moved = true
			return nil
		}
		ap := b.Bucket(bucketAppended)
		got, ok, err := readFoldMark(b)
		if err != nil {
			return err
		}
		if ap == nil || ok != r.resumed || (ok && got != r.mark) {
			moved = true
			return nil
		}
		return fn(b, ap)
	})
	DropMapping(r.DB) // chunks read appended records all over the file
	if err == nil && !moved && r.Stop != nil {
		err = r.Stop()
	}
	return moved, err
}

// records indexes recs (in href order) but for their UIDs, Chunk per
// transaction, moving the mark along.
func (r *round) records(recs []foldRec) (moved bool, err error) {
	for start := 0; start < len(recs); {
		end := min(start+r.Chunk, len(recs))
		for end < len(recs) && recs[end].href == recs[end-1].href {
			end++ // the mark splits by href: keep an href's records together
		}
		next := foldMark{Seq: r.mark.Seq, Href: recs[end-1].href}
		moved, err := r.update(func(b, ap *bolt.Bucket) error {
			seqs := make([][]byte, 0, end-start)
			for _, rec := range recs[start:end] {
				seqs = append(seqs, seqKey(rec.seq))
			}
			if err := foldRecords(b, ap, seqs, false); err != nil {
				return err
			}
			return b.Put(keyFoldMark, next.bytes())
		})
		if moved {
			return true, err
		}
		r.mark, r.resumed, start = next, true, end
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// uids adds the UID index entries of the items under hrefs, in UID order
// over the whole fold, Chunk per transaction: chunk by chunk, random UIDs
// made each transaction rewrite most of the UID tree.
func (r *round) uids(hrefs []string) (moved bool, err error) {
	var keys [][]byte
	err = r.view(func(b *bolt.Bucket) error {
		var err error
		keys, err = uidKeysOf(b, hrefs)
		return err
	})
	if err != nil {
		return false, err
	}
	slices.SortFunc(keys, bytes.Compare)
	for start := 0; start < len(keys); start += r.Chunk {
		part := keys[start:min(start+r.Chunk, len(keys))]
		moved, err := r.update(func(b, _ *bolt.Bucket) error { return putUIDKeys(b, part) })
		if err != nil || moved {
			return moved, err
		}
	}
	return false, nil
}

// dropLog removes the folded records and the mark: the whole log if
// nothing was appended meanwhile, else the records up to the mark's
// sequence, and then Fold goes again.
func (r *round) dropLog() (again bool, err error) {
	var newer bool
	moved, err := r.update(func(b, ap *bolt.Bucket) error {
		if err := b.Delete(keyFoldMark); err != nil {
			return err
		}
		c := ap.Cursor()
		if k, _ := c.Last(); k == nil || binary.BigEndian.Uint64(k) <= r.mark.Seq {
			return b.DeleteBucket(bucketAppended)
		}
		var folded [][]byte
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= r.mark.Seq; k, _ = c.Next() {
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
