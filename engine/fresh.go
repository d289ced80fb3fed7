package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Limits of one batch of a fresh download: files written with one folder
// flush and recorded in one state transaction. They bound memory, so a new
// calendar of any size streams through holding one batch per stage (and
// the href of each UID given a file, for the duplicate-UID rule). Each
// batch costs one syncfs (about 4 ms at 10k items): 400 items took a 10k
// download 0.03-0.07 s less than 200 at the same peak RSS (28-29 MB) once
// state records were appended rather than indexed per batch; 800 gained
// nothing more and peaked at 31-34 MB.
const (
	freshBatchItems = 400
	freshBatchBytes = 4 << 20
	// freshWriters batches are written at once: one's files are created
	// while the other waits for its filesystem flush (measured at 10k
	// items on Radicale: 1.87–1.95 s against 1.93–2.05 s with one writer;
	// a third adds memory, not speed).
	freshWriters = 2
)

// freshDownload brings a calendar that has no state and an empty local
// folder in with one streamed calendar-query: every member is a plain
// download (the planner says so for each batch, but for a UID another
// member holds), so objects go straight to disk in batches instead of
// being held for planning. It returns the sync-token to record ("" for
// none).
//
// Where the server offers sync-collection, the first token is one read
// before the data: whatever changes after it, even during the download,
// the next delta repeats, so nothing is missed. The calendar listing that
// started this pass carries it (it is the change marker); only when the
// listing had none is it read with a Depth-0 PROPFIND of DAV:sync-token.
// Measured on Radicale 3.1 a token costs 0.45 s at 10k items and about
// 4.5 s at 100k, where an initial sync-collection listing costs 1.5 s and
// over 60 s (and one carrying the data 1.7 s at 10k).
func (p *pass) freshDownload(ctx context.Context) (string, error) {
	token := p.cal.SyncToken
	if token == "" && p.cal.SupportsSync {
		tok, err := p.c.SyncToken(ctx, p.cal.Href)
		switch {
		case err == nil:
			token = tok
		case ctx.Err() != nil:
			return "", ctx.Err()
		default:
			p.e.log.Info().Str("calendar", p.s.Calendar).Err(err).Msg("no first sync-token: the next pass lists the calendar")
		}
	}
	st := p.startFresh()
	defer st.stop()
	derr := p.c.Download(ctx, p.cal.Href, func(o davclient.Object) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return st.add(o)
	})
	if derr == nil {
		derr = st.send()
	}
	// What was handed over is written and recorded even when the download
	// failed: a resumed first sync then fetches only the rest.
	serr := st.stop()
	// Every file in a staging folder now is durable and recorded (the
	// writers flushed each batch before handing it on): publish it, after
	// a failed download too, so that a resumed first sync keeps them.
	if p.d.Staged() {
		if perr := p.publish(); perr != nil && serr == nil {
			serr = perr
		}
	}
	if serr != nil {
		return "", fmt.Errorf("download: %w", serr)
	}
	if derr != nil {
		return "", fmt.Errorf("download: %w", derr)
	}
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Int("items", p.s.Downloaded).Msg("↓ downloaded new calendar")
	return token, nil
}

// freshStages runs a fresh download in three stages: the caller's
// goroutine parses the response and hands each object to add, file
// writers (freshWriters) plan, validate and put each full batch on disk
// with one folder flush, and a recorder commits the written batches to
// state. The recorder only ever sees files that are already durable, and
// batches are written while earlier ones are being recorded; their order
// does not matter. (Validating in the parser's goroutine made it the
// slowest stage: 0.25 s of its 0.6 s at 10k items.)
type freshStages struct {
	p         *pass
	batches   chan []davclient.Object // full batches for the writers
	written   chan []state.Item
	writerOut chan error
	recordOut chan error
	stopped   atomic.Bool // a later stage failed: stop feeding it
	claims    freshClaims

	wmu    sync.Mutex // guards report and werrs
	report freshReport
	werrs  []error
	total  int // the recorder's

	// The batch being filled by add (the parser's).
	objs []davclient.Object
	size int
	done bool
}

// freshReport is what writers report of the items they left out.
type freshReport struct{ problems, skipped []string }

// freshClaims maps each UID a fresh download gave a file to the href it
// came from: the items the planner weighs each later batch against, as a
// later pass weighs new members against recorded ones.
type freshClaims struct {
	mu    sync.Mutex
	byUID map[string]string
}

func (p *pass) startFresh() *freshStages {
	st := &freshStages{p: p, batches: make(chan []davclient.Object),
		written: make(chan []state.Item), writerOut: make(chan error, 1), recordOut: make(chan error, 1),
		claims: freshClaims{byUID: map[string]string{}}}
	var writers sync.WaitGroup
	for range freshWriters {
		writers.Add(1)
		go func() {
			defer writers.Done()
			st.write()
		}()
	}
	go func() {
		writers.Wait()
		close(st.written)
		st.writerOut <- errors.Join(st.werrs...)
	}()
	go st.record()
	return st
}

// write is one writer: it writes each batch it receives until one fails.
func (st *freshStages) write() {
	var werr error
	for b := range st.batches {
		if werr != nil {
			continue
		}
		var rep freshReport
		items, err := st.p.writeFreshBatch(b, &st.claims, &rep)
		st.wmu.Lock()
		st.report.problems = append(st.report.problems, rep.problems...)
		st.report.skipped = append(st.report.skipped, rep.skipped...)
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
func (st *freshStages) record() {
	var rerr error
	for items := range st.written {
		if rerr != nil {
			continue
		}
		if rerr = st.p.recordFresh(items); rerr != nil {
			st.stopped.Store(true)
			continue
		}
		st.total += len(items)
	}
	st.recordOut <- rerr
}

// add puts o in the current batch and hands the batch on when it is full.
func (st *freshStages) add(o davclient.Object) error {
	st.objs = append(st.objs, o)
	st.size += len(o.Data)
	if len(st.objs) >= freshBatchItems || st.size >= freshBatchBytes {
		return st.send()
	}
	return nil
}

// send hands the current batch to the writers.
func (st *freshStages) send() error {
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

// stop waits for the writers and the recorder, adds what they did to the
// pass's summary and returns the first failure. Later calls do nothing.
func (st *freshStages) stop() error {
	if st.done {
		return nil
	}
	st.done = true
	close(st.batches)
	werr, rerr := <-st.writerOut, <-st.recordOut
	p := st.p
	p.s.Problems = append(p.s.Problems, st.report.problems...)
	p.s.Skipped = append(p.s.Skipped, st.report.skipped...)
	if len(st.report.skipped) > 0 {
		// A member left out: the next pass lists the calendar again, so it
		// is reported until it is resolved on the server.
		p.heldRemote = true
	}
	p.s.Downloaded += st.total
	if werr != nil {
		return werr
	}
	return rerr
}

// freshObject is a valid member of a fresh download, read once.
type freshObject struct {
	davclient.Object
	uid, hash string
}

// writeFreshBatch writes the objects of one batch of a fresh download that
// the planner downloads, with one folder flush, and returns the state
// items of the files it wrote. Invalid data, members the planner leaves
// out and files that could not be written are reported in rep.
func (p *pass) writeFreshBatch(batch []davclient.Object, claims *freshClaims, rep *freshReport) ([]state.Item, error) {
	objs := make([]freshObject, 0, len(batch))
	for _, o := range batch {
		info, err := ics.Inspect(o.Data)
		if err != nil {
			rep.problems = append(rep.problems, p.invalidRemote(o.Href, err))
			continue
		}
		fo := freshObject{Object: o, uid: info.UID, hash: vdir.Hash(o.Data)}
		if fo.ETag == "" {
			fo.ETag = pseudoETagPrefix + fo.hash
		}
		objs = append(objs, fo)
	}
	objs = p.planFreshBatch(objs, claims, rep)
	files := make([]vdir.NewFile, len(objs))
	for i, o := range objs {
		// The folder was empty when listed and batches refuse to replace
		// anything, so the name needs no check against the folder here.
		files[i] = vdir.NewFile{Name: vdir.NameForHref(o.Href), Data: o.Data}
	}
	fps, err := p.d.WriteBatch(files)
	var be *vdir.BatchError
	if err != nil && !errors.As(err, &be) {
		return nil, fmt.Errorf("writing %d files: %w", len(files), err)
	}
	items := make([]state.Item, 0, len(objs))
	for i, o := range objs {
		if be != nil && be.Errs[i] != nil {
			rep.problems = append(rep.problems, fmt.Sprintf("download %s: %v", o.Href, be.Errs[i]))
			continue
		}
		items = append(items, state.Item{Href: o.Href, ETag: o.ETag, Name: files[i].Name,
			Fingerprint: state.Fingerprint(fps[i]), Hash: o.hash, UID: o.uid, Base: o.Data})
	}
	return items, nil
}

// planFreshBatch asks the planner which objects of a batch to download.
// The items written by earlier batches that share a UID with the batch are
// its known items, as recorded ones are in a later pass: a member whose UID
// another one already holds, written before or first in href order, is
// left out and reported (the planner's duplicate-UID rule), so no two
// files get one UID. A member the server sends twice is written once and
// reported, and the pass does not advance.
func (p *pass) planFreshBatch(objs []freshObject, claims *freshClaims, rep *freshReport) []freshObject {
	claims.mu.Lock()
	defer claims.mu.Unlock()
	var in plan.Input
	at := make(map[string]int, len(objs)) // href → index in objs
	earlier := map[string]bool{}          // hrefs written by earlier batches, in the input
	for i, o := range objs {
		held, claimed := claims.byUID[o.uid]
		if _, twice := at[o.Href]; twice || (claimed && held == o.Href) {
			rep.problems = append(rep.problems, fmt.Sprintf("download %s: the server sent it twice in one listing: written once", o.Href))
			continue
		}
		at[o.Href] = i
		in.Remote = append(in.Remote, plan.Remote{Href: o.Href, ETag: o.ETag, Hash: o.hash, UID: o.uid})
		if claimed && !earlier[held] {
			// Unchanged on both sides since it was written, which empty
			// etags and hashes on every side say.
			earlier[held] = true
			name := vdir.NameForHref(held)
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
			rep.skipped = append(rep.skipped, fmt.Sprintf("%s: %s", p.itemName(act), act.Reason))
		}
	}
	return keep
}

// recordFresh records written items of a fresh download in one state
// transaction as new items (state.Tx.AddNewItems); state indexes them all
// once the pass's next commit, which adds none, is done.
func (p *pass) recordFresh(items []state.Item) error {
	return p.commit(func(tx *state.Tx) error { return tx.AddNewItems(items) })
}

// publish moves a staging folder filled by freshDownload (or left by an
// interrupted one, recoverStage) to the calendar's folder.
func (p *pass) publish() error {
	d, kept, err := p.d.Publish(p.col.Dir)
	if err != nil {
		return fmt.Errorf("local folder: %w", err)
	}
	p.d = d
	if len(kept) == 0 {
		return nil
	}
	// Someone made the folder and put files in it meanwhile: theirs stay,
	// and ours are forgotten, so that the next pass sees a file and a
	// server item both new under one name and applies the conflict policy
	// (the loser kept), rather than taking their file for an edit of ours.
	p.e.log.Warn().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Strs("files", kept).
		Msg("the folder appeared during the first download with files of the same names: theirs were kept, the next pass compares them with the server")
	recorded, err := p.e.store.ItemsByName(p.key, kept)
	if err != nil {
		return fmt.Errorf("%w: %v", errState, err)
	}
	return p.commit(func(tx *state.Tx) error {
		for _, it := range recorded {
			if err := tx.DeleteItem(it.Href); err != nil {
				return err
			}
		}
		return nil
	})
}

// recoverStage finishes a first download that was cut off (a crash, a
// kill) while its folder was still staged under a hidden name: the files
// recorded in state are complete (each batch was flushed before it was
// recorded) and stay; any other file may be torn and goes. Then the folder
// is published and the pass goes on as usual, fetching what is missing.
// A recorded file is kept by its name alone: removing one would read as a
// local deletion, and a changed one is planned as an edit.
func (p *pass) recoverStage() error {
	st, err := vdir.OpenStaged(p.col.Dir)
	if errors.Is(err, vdir.ErrNoDir) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local folder: %w", err)
	}
	items, err := p.e.store.Items(p.key)
	if err != nil {
		return err
	}
	recorded := make(map[string]bool, len(items))
	for _, it := range items {
		recorded[it.Name] = true
	}
	removed, err := st.RemoveUnless(func(name string) bool { return recorded[name] })
	if err != nil {
		return fmt.Errorf("local folder: finishing an interrupted first download: %w", err)
	}
	p.d = st
	if err := p.publish(); err != nil {
		return err
	}
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Int("kept", len(items)).Int("removed", removed).
		Msg("finished an interrupted first download: recorded files kept, unrecorded ones removed")
	return nil
}
