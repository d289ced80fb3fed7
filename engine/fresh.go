package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Limits of one batch of a fresh download: files written with one folder
// flush and recorded in one state transaction. They bound memory, so a new
// calendar of any size streams through in constant space. Each batch costs
// one syncfs (about 4 ms at 10k items): 400 items took a 10k download
// 0.03-0.07 s less than 200 at the same peak RSS (28-29 MB) once state
// records were appended rather than indexed per batch; 800 gained nothing
// more and peaked at 31-34 MB.
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
// download (the planner would say so for each), so objects go straight to
// disk in batches instead of being held for planning. It returns the
// sync-token to record ("" for none).
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
	batchItems := freshBatchItems
	if p.e.freshBatchItems > 0 {
		batchItems = p.e.freshBatchItems
	}
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
	if p.e.afterFirstToken != nil {
		p.e.afterFirstToken()
	}
	// Three stages: this goroutine parses the response, file writers
	// (two) validate each full batch and put it on disk with one folder
	// flush, and a recorder commits the written batches to state. The
	// recorder only ever sees files that are already durable, and batches
	// are written while earlier ones are being recorded; their order does
	// not matter. (Validating in the parser's goroutine made it the
	// slowest stage: 0.25 s of its 0.6 s at 10k items.)
	var (
		batches   = make(chan []davclient.Object) // full batches for the writers
		written   = make(chan []state.Item)
		writerOut = make(chan error, 1)
		recordOut = make(chan error, 1)
		stopped   atomic.Bool // a later stage failed: stop feeding it
		problems  []string    // the writers', merged when they are done
		total     int         // the recorder's
	)
	var (
		writers sync.WaitGroup
		wmu     sync.Mutex // guards problems and werrs
		werrs   []error
	)
	for range freshWriters {
		writers.Add(1)
		go func() {
			defer writers.Done()
			var werr error
			for b := range batches {
				if werr != nil {
					continue
				}
				var probs []string
				items, err := p.writeFreshBatch(b, &probs)
				wmu.Lock()
				problems = append(problems, probs...)
				wmu.Unlock()
				if err != nil {
					werr = err
					stopped.Store(true)
					continue
				}
				written <- items
			}
			wmu.Lock()
			werrs = append(werrs, werr)
			wmu.Unlock()
		}()
	}
	go func() {
		writers.Wait()
		close(written)
		writerOut <- errors.Join(werrs...)
	}()
	go func() {
		var rerr error
		for items := range written {
			if rerr != nil {
				continue
			}
			if rerr = p.recordFresh(items); rerr != nil {
				stopped.Store(true)
				continue
			}
			total += len(items)
			if p.e.afterBatch != nil {
				p.e.afterBatch(total)
			}
		}
		recordOut <- rerr
	}()
	stagesDone := false
	stopStages := func() error {
		if stagesDone {
			return nil
		}
		stagesDone = true
		close(batches)
		werr, rerr := <-writerOut, <-recordOut
		p.s.Problems = append(p.s.Problems, problems...)
		p.s.Downloaded += total
		if werr != nil {
			return werr
		}
		return rerr
	}
	defer stopStages()
	var (
		objs []davclient.Object
		size int
	)
	send := func() error {
		if len(objs) == 0 {
			return nil
		}
		if stopped.Load() {
			return errors.New("writing stopped")
		}
		batches <- objs
		objs, size = nil, 0
		return nil
	}
	add := func(o davclient.Object) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A member the server sends twice is written once; the second
		// write fails as a problem, and the pass does not advance.
		objs = append(objs, o)
		size += len(o.Data)
		if len(objs) >= batchItems || size >= freshBatchBytes {
			return send()
		}
		return nil
	}

	derr := p.c.Download(ctx, p.cal.Href, add)
	if derr == nil {
		derr = send()
	}
	// What was handed over is written and recorded even when the download
	// failed: a resumed first sync then fetches only the rest.
	serr := stopStages()
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

// writeFreshBatch writes the valid objects of one batch of a fresh download
// with one folder flush and returns the state items of the files it wrote.
// Invalid data and files that could not be written are reported in
// problems and left out.
func (p *pass) writeFreshBatch(objs []davclient.Object, problems *[]string) ([]state.Item, error) {
	uids := make([]string, 0, len(objs))
	valid := objs[:0:0]
	for _, o := range objs {
		info, err := ics.Inspect(o.Data)
		if err != nil {
			*problems = append(*problems, p.invalidRemote(o.Href, err))
			continue
		}
		valid = append(valid, o)
		uids = append(uids, info.UID)
	}
	objs = valid
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
			*problems = append(*problems, fmt.Sprintf("download %s: %v", o.Href, be.Errs[i]))
			continue
		}
		hash := vdir.Hash(o.Data)
		etag := o.ETag
		if etag == "" {
			etag = pseudoETagPrefix + hash
		}
		items = append(items, state.Item{Href: o.Href, ETag: etag, Name: files[i].Name,
			Fingerprint: state.Fingerprint(fps[i]), Hash: hash, UID: uids[i], Base: o.Data})
	}
	return items, nil
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
