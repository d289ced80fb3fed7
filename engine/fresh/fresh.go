// Package fresh writes the first download of a calendar to its folder: the
// members of one streamed calendar-query go straight to disk in batches,
// each written at once (vdir.WriteBatch) and recorded in state in one
// transaction, so a new calendar of any size streams through holding one
// batch per stage (and the href of each UID given a file). The planner
// still has the last word on each batch: a member whose UID another one
// already holds is left out and reported. Settle readies what an
// interrupted first download left in its staging folder for the resume.
package fresh

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/remote"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Limits of one batch: files written at once and recorded in one state
// transaction. They bound memory; in a folder that is not staged each
// batch also costs one filesystem flush. Fewer items per batch made a
// download slower at the same memory, more used memory and gained
// nothing; a batch of typical items stays under BatchBytes, so the bytes
// bound only cuts batches of big ones, down to one photo card each
// (docs/performance.md, "First-download batches").
const (
	BatchItems = 400
	BatchBytes = 1 << 20
	// writers batches are validated and written at once: one's files are
	// created while the other is validated or waits for its filesystem
	// flush. A third adds memory, not speed.
	writers = 2
)

// Report is what a first download did and left out.
type Report struct {
	Written  int      // items written and recorded
	Problems []string // invalid data, files that could not be written
	Skipped  []string // members the planner left out, and why
}

// Writer runs a first download in three stages: the caller's goroutine
// parses the response and hands each object to Add, file writers plan,
// validate and put each full batch on disk (vdir.WriteBatch), and a
// recorder commits the written batches to state. Batches are written
// while earlier ones are being recorded; their order does not matter. In
// a folder that is not staged the recorder only ever sees files that are
// already durable. In a staging folder it records files that are not yet:
// the folder is flushed once when it is published, and a resume after a
// crash checks each recorded file's bytes first (Settle). The
// writers validate, not the parser: that made the parser the slowest
// stage.
type Writer struct {
	dir      *vdir.Dir
	format   *format.Format
	folder   string // the calendar's folder, to name files in reports
	recordFn func([]state.Item) error
	log      zerolog.Logger

	batches   chan []davclient.Object // full batches for the writers
	written   chan []state.Item
	writerOut chan error
	recordOut chan error
	stopped   atomic.Bool // a later stage failed: stop feeding it
	claims    claims

	wmu    sync.Mutex // guards report and werrs
	report Report
	werrs  []error
	total  int // the recorder's

	// The batch being filled by Add (the parser's).
	objs []davclient.Object
	size int
	done bool
}

// claims maps each UID a first download gave a file to the href it came
// from: the items the planner weighs each later batch against, as a
// later pass weighs new members against recorded ones.
type claims struct {
	mu    sync.Mutex
	byUID map[string]string
}

// Start starts the writers and the recorder of a first download of items
// in format f into d, the staging folder of the collection's folder;
// record commits the items of one written batch to state. log gets the
// problems met.
func Start(d *vdir.Dir, f *format.Format, folder string, record func([]state.Item) error, log zerolog.Logger) *Writer {
	st := &Writer{dir: d, format: f, folder: folder, recordFn: record, log: log, batches: make(chan []davclient.Object),
		written: make(chan []state.Item), writerOut: make(chan error, 1), recordOut: make(chan error, 1),
		claims: claims{byUID: map[string]string{}}}
	var all sync.WaitGroup
	for range writers {
		all.Add(1)
		go func() {
			defer all.Done()
			st.write()
		}()
	}
	go func() {
		all.Wait()
		close(st.written)
		st.writerOut <- errors.Join(st.werrs...)
	}()
	go st.record()
	return st
}

// write is one writer: it writes each batch it receives until one fails.
func (st *Writer) write() {
	var werr error
	for b := range st.batches {
		if werr != nil {
			continue
		}
		var rep Report
		items, err := st.writeBatch(b, &rep)
		st.wmu.Lock()
		st.report.Problems = append(st.report.Problems, rep.Problems...)
		st.report.Skipped = append(st.report.Skipped, rep.Skipped...)
		st.wmu.Unlock()
		if err != nil {
			werr = err
			st.stopped.Store(true)
			continue
		}
		st.written <- items
	}
	st.wmu.Lock()
	st.werrs = append(st.werrs, werr)
	st.wmu.Unlock()
}

// record is the recorder: it commits each written batch until one fails.
func (st *Writer) record() {
	var rerr error
	for items := range st.written {
		if rerr != nil {
			continue
		}
		if rerr = st.recordFn(items); rerr != nil {
			st.stopped.Store(true)
			continue
		}
		st.total += len(items)
	}
	st.recordOut <- rerr
}

// Add puts o in the current batch and hands the batch on when it is full.
func (st *Writer) Add(o davclient.Object) error {
	st.objs = append(st.objs, o)
	st.size += len(o.Data)
	if len(st.objs) >= BatchItems || st.size >= BatchBytes {
		return st.Send()
	}
	return nil
}

// Send hands the current batch to the writers: the last one, once the
// download is complete.
func (st *Writer) Send() error {
	if len(st.objs) == 0 {
		return nil
	}
	if st.stopped.Load() {
		return errors.New("writing stopped")
	}
	st.batches <- st.objs
	st.objs, st.size = nil, 0
	return nil
}

// Stop waits for the writers and the recorder and returns what they did
// and the first failure. What was handed over is written and recorded
// even after a failed download. Later calls return nothing.
func (st *Writer) Stop() (Report, error) {
	if st.done {
		return Report{}, nil
	}
	st.done = true
	close(st.batches)
	werr, rerr := <-st.writerOut, <-st.recordOut
	rep := st.report
	rep.Written = st.total
	if werr != nil {
		return rep, werr
	}
	return rep, rerr
}

// object is a valid member of a first download, read once.
type object struct {
	davclient.Object
	uid, hash string
}

// writeBatch writes the objects of one batch that the planner downloads
// and returns the state items of the files it wrote. Invalid data,
// members the planner leaves out and files that could not be written are
// reported in rep.
func (st *Writer) writeBatch(batch []davclient.Object, rep *Report) ([]state.Item, error) {
	objs := make([]object, 0, len(batch))
	for _, o := range batch {
		info, err := st.format.Inspect(o.Data)
		if err != nil {
			rep.Problems = append(rep.Problems, remote.Invalid(st.log, o.Href, err))
			continue
		}
		objs = append(objs, object{Object: remote.WithETag(o), uid: info.UID, hash: vdir.Hash(o.Data)})
	}
	objs = st.plan(objs, rep)
	files := make([]vdir.NewFile, len(objs))
	for i, o := range objs {
		// The folder was empty when listed and batches refuse to replace
		// anything, so the name needs no check against the folder here.
		files[i] = vdir.NewFile{Name: vdir.NameForHref(o.Href, st.dir.Ext()), Data: o.Data}
	}
	fps, err := st.dir.WriteBatch(files)
	var be *vdir.BatchError
	if err != nil && !errors.As(err, &be) {
		return nil, fmt.Errorf("writing %d files: %w", len(files), err)
	}
	items := make([]state.Item, 0, len(objs))
	for i, o := range objs {
		if be != nil && be.Errs[i] != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("download %s: %v", o.Href, be.Errs[i]))
			continue
		}
		items = append(items, state.Item{Href: o.Href, ETag: o.ETag, Name: files[i].Name,
			Fingerprint: state.Fingerprint(fps[i]), Hash: o.hash, UID: o.uid, Base: o.Data})
	}
	return items, nil
}

// plan asks the planner which objects of a batch to download.
// The items written by earlier batches that share a UID with the batch are
// its known items, as recorded ones are in a later pass: a member whose UID
// another one already holds, written before or first in href order, is
// left out and reported (the planner's duplicate-UID rule), so no two
// files get one UID. A member the server sends twice is written once and
// reported, and the pass does not advance.
func (st *Writer) plan(objs []object, rep *Report) []object {
	claims := &st.claims
	claims.mu.Lock()
	defer claims.mu.Unlock()
	var in plan.Input
	at := make(map[string]int, len(objs)) // href → index in objs
	earlier := map[string]bool{}          // hrefs written by earlier batches, in the input
	for i, o := range objs {
		held, claimed := claims.byUID[o.uid]
		if _, twice := at[o.Href]; twice || (claimed && held == o.Href) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("download %s: the server sent it twice in one listing: written once", o.Href))
			continue
		}
		at[o.Href] = i
		in.Remote = append(in.Remote, plan.Remote{Href: o.Href, ETag: o.ETag, Hash: o.hash, UID: o.uid})
		if claimed && !earlier[held] {
			// Unchanged on both sides since it was written, which empty
			// etags and hashes on every side say.
			earlier[held] = true
			name := vdir.NameForHref(held, st.dir.Ext())
			in.Known = append(in.Known, plan.Known{Href: held, Name: name, UID: o.uid})
			in.Remote = append(in.Remote, plan.Remote{Href: held, UID: o.uid})
			in.Local = append(in.Local, plan.Local{Name: name, UID: o.uid})
		}
	}
	keep := objs[:0:0]
	for _, act := range plan.Plan(in).Actions {
		i, inBatch := at[act.Href]
		switch {
		case act.Kind == plan.Download && inBatch:
			keep = append(keep, objs[i])
			if objs[i].uid != "" {
				claims.byUID[strings.Clone(objs[i].uid)] = strings.Clone(act.Href)
			}
		case act.Kind == plan.Skip:
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %s", apply.ItemName(st.folder, act), act.Reason))
		}
	}
	return keep
}
