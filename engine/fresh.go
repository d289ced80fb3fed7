package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/fresh"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// freshDownload brings a calendar that has no state and an empty local
// folder d in with one streamed calendar-query: every member is a plain
// download (the planner says so for each batch, but for a UID another
// member holds), so objects go straight to disk in batches (package
// fresh) instead of being held for planning. It returns the sync-token to
// record ("" for none), and whether a member was left out.
//
// Where the server offers sync-collection, the first token is one read
// before the data: whatever changes after it, even during the download,
// the next delta repeats, so nothing is missed. The calendar listing that
// started this pass carries it (it is the change marker); only when the
// listing had none is it read with a Depth-0 PROPFIND of DAV:sync-token,
// which costs a fraction of an initial sync-collection listing, and
// grows far slower with the calendar (docs/performance.md, "First
// sync-token").
func (p *pass) freshDownload(ctx context.Context, d *vdir.Dir) (token string, held bool, err error) {
	token = p.cal.SyncToken
	if token == "" && p.cal.SupportsSync {
		tok, err := p.c.SyncToken(ctx, p.cal.Href)
		switch {
		case err == nil:
			token = tok
		case ctx.Err() != nil:
			return "", false, ctx.Err()
		default:
			p.log.Info().Err(err).Msg("no first sync-token: the next pass lists the calendar")
		}
	}
	w := fresh.Start(d, p.col.Dir, func(items []state.Item) error {
		// State indexes the new items once the pass's next commit, which
		// adds none, is done.
		return p.rec.Commit(func(tx *state.Tx) error { return tx.AddNewItems(items) })
	}, p.log)
	defer w.Stop()
	p.work.Start(0)
	defer p.work.Done()
	derr := p.c.Download(ctx, p.cal.Href, func(o davclient.Object) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.work.Add(1, len(o.Data))
		return w.Add(o)
	})
	if derr == nil {
		derr = w.Send()
	}
	// What was handed over is written and recorded even when the download
	// failed: a resumed first sync then fetches only the rest.
	rep, serr := w.Stop()
	p.s.Problems = append(p.s.Problems, rep.Problems...)
	p.s.Skipped = append(p.s.Skipped, rep.Skipped...)
	p.s.Downloaded += rep.Written
	// Every file in a staging folder now is durable and recorded (the
	// writers flushed each batch before handing it on): publish it, after
	// a failed download too, so that a resumed first sync keeps them.
	if d.Staged() {
		if _, perr := p.publish(d); perr != nil && serr == nil {
			serr = perr
		}
	}
	if serr != nil {
		return "", false, fmt.Errorf("download: %w", serr)
	}
	if derr != nil {
		return "", false, fmt.Errorf("download: %w", derr)
	}
	p.log.Info().Int("items", p.s.Downloaded).Msg("↓ downloaded new calendar")
	// A member left out: the next pass lists the calendar again, so it is
	// reported until it is resolved on the server.
	return token, len(rep.Skipped) > 0, nil
}

// publish moves a staging folder filled by freshDownload (or left by an
// interrupted one, recoverStage) to the calendar's folder, and returns
// that.
func (p *pass) publish(stage *vdir.Dir) (*vdir.Dir, error) {
	d, kept, err := stage.Publish(p.col.Dir)
	if err != nil {
		return nil, fmt.Errorf("local folder: %w", err)
	}
	if len(kept) == 0 {
		return d, nil
	}
	// Someone made the folder and put files in it meanwhile: theirs stay,
	// and ours are forgotten, so that the next pass sees a file and a
	// server item both new under one name and applies the conflict policy
	// (the loser kept), rather than taking their file for an edit of ours.
	p.log.Warn().Strs("files", kept).
		Msg("the folder appeared during the first download with files of the same names: theirs were kept, the next pass compares them with the server")
	recorded, err := p.e.store.ItemsByName(p.key, kept)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", apply.ErrState, err)
	}
	return d, p.rec.Commit(func(tx *state.Tx) error {
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
	if _, err := p.publish(st); err != nil {
		return err
	}
	p.log.Info().Int("kept", len(items)).Int("removed", removed).
		Msg("finished an interrupted first download: recorded files kept, unrecorded ones removed")
	return nil
}
