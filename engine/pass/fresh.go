package pass

import (
	"context"
	"errors"
	"fmt"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/davclient/calfilter"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/fresh"
	"github.com/vdird/vdird/engine/plan"
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
	if p.scope.Narrowed() {
		token = "" // no delta for a narrowed calendar (remote.Source.List)
	}
	if token == "" && p.cal.SupportsSync && !p.scope.Narrowed() {
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
	w := fresh.Start(d, p.fmt, p.col.Dir, func(items []state.Item) error {
		// State indexes the new items once the pass's next commit, which
		// adds none, is done.
		return p.rec.Commit(func(tx *state.Tx) error { return tx.AddNewItems(items) })
	}, p.log)
	defer w.Stop()
	p.work.Start(0)
	defer p.work.Done()
	derr := calfilter.Download(ctx, p.c, p.cal, p.src.Filter(), func(o davclient.Object) error {
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
	// failed: a resumed first sync then fetches only the rest. A staging
	// folder stays hidden until finish publishes it complete.
	rep, serr := w.Stop()
	p.s.Problems = append(p.s.Problems, rep.Problems...)
	p.s.Skipped = append(p.s.Skipped, rep.Skipped...)
	p.s.Downloaded += rep.Written
	if serr != nil {
		return "", false, fmt.Errorf("download: %w", serr)
	}
	if derr != nil {
		return "", false, fmt.Errorf("download: %w", derr)
	}
	p.log.Info().Int("items", p.s.Downloaded).Msg("↓ downloaded new " + p.fmt.Noun)
	// A member left out: the next pass lists the calendar again, so it is
	// reported until it is resolved on the server.
	return token, len(rep.Skipped) > 0, nil
}

// publish moves a staging folder filled by this pass to the calendar's
// folder. merged tells that a folder with files had appeared there
// meanwhile: theirs were kept, and the next pass must list both sides.
func (p *pass) publish(stage *vdir.Dir) (merged bool, err error) {
	_, kept, err := stage.Publish(p.col.Dir)
	if err != nil {
		return false, fmt.Errorf("local folder: %w", err)
	}
	if len(kept) == 0 {
		return false, nil
	}
	// Someone made the folder and put files in it meanwhile: theirs stay,
	// and ours are forgotten, so that the next pass sees a file and a
	// server item both new under one name and applies the conflict policy
	// (the loser kept), rather than taking their file for an edit of ours.
	p.log.Warn().Strs("files", kept).
		Msg("the folder appeared during the first download with files of the same names: theirs were kept, the next pass compares them with the server")
	recorded, err := p.env.Store.ItemsByName(p.key, kept)
	if err != nil {
		return false, fmt.Errorf("%w: %v", apply.ErrState, err)
	}
	return true, p.rec.Commit(func(tx *state.Tx) error {
		for _, it := range recorded {
			if err := tx.DeleteItem(it.Href); err != nil {
				return err
			}
		}
		return nil
	})
}

// hasStage tells whether the collection's folder dir has a staging folder
// of item files with extension ext: a first download that did not
// complete.
func hasStage(dir, ext string) (bool, error) {
	_, err := vdir.OpenStaged(dir, ext)
	switch {
	case errors.Is(err, vdir.ErrNoDir):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("local folder: %w", err)
	}
	return true, nil
}

// resumeFirstDownload carries on a first download that stopped before it
// was complete (cancelled, cut off, killed): the items it recorded wait in
// its hidden staging folder, which nobody has seen yet. It is a full pass
// over that folder. The planner weighs the server's listing against the
// staged items, so only members that are missing or changed since are
// fetched, and a member deleted on the server leaves the folder; finish
// publishes the folder once everything is applied. A folder made meanwhile
// under the calendar's name is merged on publishing, without replacing
// any of its files.
func (p *pass) resumeFirstDownload(ctx context.Context, items []state.Item, existed bool) error {
	st, err := vdir.OpenStaged(p.col.Dir, p.fmt.Ext)
	if err != nil {
		return fmt.Errorf("local folder: %w", err)
	}
	sd, err := fresh.Settle(st, items, p.opts.DryRun)
	if err != nil {
		return fmt.Errorf("local folder: %w", err)
	}
	if len(sd.Missing) > 0 && !p.opts.DryRun {
		// Forgotten, so that they come down again.
		if err := p.rec.Commit(func(tx *state.Tx) error {
			for _, it := range sd.Missing {
				if err := tx.DeleteItem(it.Href); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	p.log.Info().Int("staged", len(sd.Kept)).Int("removed", sd.Removed).Int("missing", len(sd.Missing)).Int("damaged", sd.Damaged).
		Msg("resuming an interrupted first download: fetching what its staging folder lacks")
	kn := newKnown(sd.Kept)
	lv := p.localView(st)
	var in plan.Input
	for _, en := range sd.Files {
		if l := lv.Entry(en, kn.byName); !lv.Skipped(l.Name) {
			in.Local = append(in.Local, l)
		}
	}
	for _, it := range sd.Kept {
		in.Known = append(in.Known, apply.KnownOf(it))
	}
	if err := p.syncMeta(ctx, st, existed); err != nil {
		return err
	}
	rv, newToken, err := p.src.List(ctx, kn.byHref, true)
	if err != nil {
		return p.interrupted(err, len(sd.Kept), 0)
	}
	if err := p.src.Fetch(ctx, rv, kn.byHref); err != nil {
		return p.interrupted(err, len(sd.Kept), len(rv.ETags))
	}
	if !p.opts.DryRun {
		p.stage = st
	}
	if err := p.planAndApply(ctx, in, lv, rv, kn, newToken, existed); err != nil {
		return p.interrupted(err, len(sd.Kept)+p.s.Downloaded-p.s.DeletedLocal, len(rv.ETags))
	}
	return nil
}

// interrupted is the error of a pass that stopped before the staging
// folder of a first download was complete: it stays hidden, holding
// staged items of total (0 when not known yet, as in the streamed
// download), and the next run resumes it.
func (p *pass) interrupted(err error, staged, total int) error {
	of := ""
	if total > 0 {
		of = fmt.Sprintf(" of %d", total)
	}
	return fmt.Errorf("first download interrupted, %d%s items staged and hidden until a later run completes it: %w", staged, of, err)
}
