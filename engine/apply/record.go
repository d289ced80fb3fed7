package apply

import (
	"errors"
	"fmt"

	"github.com/vdird/vdird/state"
)

// ErrState marks a failure to read or write state: it makes the rest of a
// pass pointless, where a failed item is only that item's problem.
var ErrState = errors.New("state")

// BatchSize bounds how many local-only results wait for one state commit.
// Remote writes are committed at once (with their journal entry).
const BatchSize = 200

// Recorder commits a pass's results to the state of one collection:
// local-only results in batches, the result of a remote write at once
// together with the end of its journal entry.
type Recorder struct {
	Store *state.Store
	Key   string
	// Col is recorded before anything else by the first commit of a
	// calendar that state does not know yet.
	Col state.Collection

	batch []func(*state.Tx) error
	err   error // the first failed commit of a full batch
}

// Queue adds a state update to the pending batch and commits the batch
// when it is full. A failed commit is kept for Failed, and the batch is
// not tried again here.
func (r *Recorder) Queue(fn func(*state.Tx) error) {
	r.batch = append(r.batch, fn)
	if len(r.batch) >= BatchSize && r.err == nil {
		r.err = r.Flush()
	}
}

// Failed returns the first failed commit of a full batch: results of the
// pass are then missing from state.
func (r *Recorder) Failed() error { return r.err }

// Flush commits the queued updates and then fns in one transaction. What
// could not be committed stays queued: its results are not recorded yet.
func (r *Recorder) Flush(fns ...func(*state.Tx) error) error {
	r.batch = append(r.batch, fns...)
	if len(r.batch) == 0 {
		return nil
	}
	if err := r.Commit(r.batch...); err != nil {
		return err
	}
	r.batch = nil
	return nil
}

// Commit runs fns in one state transaction, recording the collection
// first if this is a new calendar's first commit.
func (r *Recorder) Commit(fns ...func(*state.Tx) error) error {
	col := r.Col
	err := r.Store.Update(r.Key, func(tx *state.Tx) error {
		if _, ok := tx.Collection(); !ok {
			if err := tx.SetCollection(col); err != nil {
				return err
			}
		}
		for _, fn := range fns {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	return nil
}

// commitNow records a remote write's result together with the end of its
// journal entry, atomically.
func (r *Recorder) commitNow(journal uint64, fn func(*state.Tx) error) error {
	return r.Flush(fn, func(tx *state.Tx) error { return tx.EndJournal(journal) })
}
