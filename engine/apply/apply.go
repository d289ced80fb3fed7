// Package apply carries out the plan of one collection's pass: it writes
// files, sends remote writes with the preconditions the plan gives, merges
// an item changed on both sides against its base, keeps the loser of a
// conflict as a copy, and records every result in state.
// Each remote write is journaled first, so a write whose answer or commit
// a crash cut off is recognised afterwards (Recover). It decides nothing
// itself: what a surprise in the server's answer means is plan.Next's
// decision. What it did is counted in a Report.
package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/remote"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// maxSteps bounds the actions one item may take in one pass. plan.Next
// bounds the remote writes among them, which ends any chain sooner.
const maxSteps = 4 * plan.MaxWrites

// Report counts what an executor did, for the pass's summary.
type Report struct {
	Downloaded, Uploaded, DeletedLocal, DeletedRemote, Conflicts, Recorded int
	// Merged counts the items whose edits on both sides were merged.
	Merged int

	Skipped  []string // items left as they are, and why
	Problems []string // per-item failures, left for the next pass
	// Rejected holds the file versions the server refused, by file name:
	// refused now, or refused before and not sent again (plan.Rejected).
	Rejected map[string]plan.Rejection
	// Throttled is the first per-item error that carried a Retry-After.
	Throttled error
}

// Executor carries out the actions planned for one calendar or address
// book, given the views the plan was made from, which it keeps up to
// date.
type Executor struct {
	Rec    *Recorder
	Client *davclient.Client
	Cal    davclient.Calendar
	Policy plan.Policy
	Merge  bool // items changed on both sides are merged (plan.Options.Merge)
	Local  *local.View
	Remote *remote.View
	// Known is state's items by href, as the plan saw them; results of
	// remote writes are added as they are recorded.
	Known map[string]state.Item
	// Refuse, when set, takes a create the server refused because its UID
	// lives at another href of the account (davclient.ErrUIDInUse), to be
	// settled when every calendar had its turn. Unset, such a refusal is
	// the item's problem.
	Refuse func(act plan.Action, err error)
	Now    func() time.Time
	Log    zerolog.Logger // with the account and calendar
	Report Report

	// Versions, when set, keeps what the executor's writes replace.
	Versions *Versions
}

// itemRun is one item's way through a pass: the planned action and what
// plan.Next asks for after each surprise.
type itemRun struct {
	known      *plan.Known     // the item's entry in state; nil for a new item
	writes     int             // remote writes sent
	journal    uint64          // entry of a write the server accepted, ended by the commit that records it
	tried      map[string]bool // hrefs a create was sent to
	conflicted bool            // counted in the report already
	merge      *merging        // the last Merge's result, for the Merged that writes it
	merged     bool            // counted in the report already
}

// Apply carries out one planned action and, after each surprise in the
// server's answer, the action plan.Next gives for it. A per-item failure
// is reported and left for the next pass; only failures that make the
// rest of the pass pointless (state, context) are returned.
func (x *Executor) Apply(ctx context.Context, act plan.Action) error {
	last, err := x.Settle(ctx, act)
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrState) {
		return err
	}
	x.Problem(last, err)
	return nil
}

// Settle carries out act and what plan.Next asks for after each surprise,
// up to maxSteps. It returns the last action and the error it met.
func (x *Executor) Settle(ctx context.Context, act plan.Action) (plan.Action, error) {
	r := x.run(act)
	for step := 0; step < maxSteps; step++ {
		out, err := x.perform(ctx, r, act)
		if err != nil || out == nil {
			return act, err
		}
		act = plan.Next(*out)
	}
	return act, fmt.Errorf("not settled after %d steps: left for the next pass", maxSteps)
}

// format is the format of the collection's items.
func (x *Executor) format() *format.Format { return format.Of(x.Cal.Kind) }

// run starts the way of act's item through the pass.
func (x *Executor) run(act plan.Action) *itemRun {
	r := &itemRun{}
	if k, ok := x.Known[act.Href]; ok {
		known := KnownOf(k)
		r.known = &known
	}
	return r
}

// KnownOf is the planner's view of a recorded item.
func KnownOf(it state.Item) plan.Known {
	return plan.Known{Href: it.Href, ETag: it.ETag, Name: it.Name, Hash: it.Hash, UID: it.UID}
}

// perform carries out one action. It returns the outcome to ask the
// planner about when the server's answer was a surprise, nil when the
// action is done.
func (x *Executor) perform(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	switch act.Kind {
	case plan.Download:
		return nil, x.download(ctx, r, act)
	case plan.Upload:
		return x.put(ctx, r, act)
	case plan.Create:
		return x.create(ctx, r, act)
	case plan.DeleteRemote:
		return x.deleteRemote(ctx, r, act)
	case plan.DeleteLocal:
		return nil, x.deleteLocal(ctx, r, act)
	case plan.Record:
		if r.journal == 0 {
			x.Report.Recorded++
		}
		return nil, x.keep(r, x.item(act.Href, act.ETag, act.Name, act.Hash, act.UID, x.Local.Data[act.Name]), act.OldHref)
	case plan.Forget:
		href := act.Href
		x.Rec.Queue(func(tx *state.Tx) error { return tx.DeleteItem(href) })
	case plan.Conflict:
		return x.conflict(ctx, r, act)
	case plan.Merge:
		return x.merge(ctx, r, act)
	case plan.Merged:
		return x.merged(ctx, r, act)
	case plan.Skip:
		x.Report.Skipped = append(x.Report.Skipped, fmt.Sprintf("%s: %s", ItemName(x.Rec.Col.Dir, act), act.Reason))
		if act.Href != "" {
			if k, ok := x.Known[act.Href]; !ok || k.ETag != x.Remote.ETags[act.Href] {
				x.Remote.Held = true
			}
		}
	case plan.Report:
		return nil, errors.New(act.Reason)
	case plan.Rejected:
		x.reject(act.Name, act.Hash, act.Reason)
	}
	return nil, nil
}

// reject reports that the server refuses the version of file name whose
// content hashes to hash, for reason.
func (x *Executor) reject(name, hash, reason string) {
	if x.Report.Rejected == nil {
		x.Report.Rejected = map[string]plan.Rejection{}
	}
	x.Report.Rejected[name] = plan.Rejection{Hash: hash, Reason: reason}
	x.Log.Warn().Str("file", name).Str("reason", reason).Msg("refused by the server: not sent again until the file changes")
}

// ItemName names an action's item in reports: its file in folder, or its
// href when it has no file.
func ItemName(folder string, act plan.Action) string {
	if act.Name != "" {
		return filepath.Join(folder, act.Name)
	}
	return act.Href
}

// Problem reports that act failed with err: the item is left for the next
// pass.
func (x *Executor) Problem(act plan.Action, err error) {
	var de *davclient.Error
	if x.Report.Throttled == nil && errors.As(err, &de) && de.RetryAfter > 0 {
		x.Report.Throttled = err
	}
	msg := fmt.Sprintf("%s %s: %v", act.Kind, ItemName(x.Rec.Col.Dir, act), err)
	if act.Kind == plan.Report {
		msg = fmt.Sprintf("%s: %v", ItemName(x.Rec.Col.Dir, act), err)
	}
	x.Report.Problems = append(x.Report.Problems, msg)
	x.Log.Error().Err(err).Str("action", act.Kind.String()).Str("file", act.Name).Str("href", act.Href).Msg("item not synced")
}

// keep records rec, dropping the item's entry at oldHref in the same
// commit (the item moved there). After a remote write the commit also ends
// the write's journal entry, at once; otherwise it joins the batch.
func (x *Executor) keep(r *itemRun, rec state.Item, oldHref string) error {
	fn := func(tx *state.Tx) error {
		if oldHref != "" && oldHref != rec.Href {
			if err := tx.DeleteItem(oldHref); err != nil {
				return err
			}
		}
		return tx.PutItem(rec)
	}
	if r.journal == 0 {
		x.Rec.Queue(fn)
		return nil
	}
	id := r.journal
	r.journal = 0
	if err := x.Rec.commitNow(id, fn); err != nil {
		return err
	}
	delete(x.Known, oldHref)
	x.Known[rec.Href] = rec
	return nil
}

func (x *Executor) item(href, etag, name, hash, uid string, base []byte) state.Item {
	fp := x.Local.FP[name]
	return state.Item{Href: href, ETag: etag, Name: name, Fingerprint: state.Fingerprint(fp), Hash: hash, UID: uid, Base: base}
}

// remoteObject is the member at href: as fetched this pass, or read now.
func (x *Executor) remoteObject(ctx context.Context, href string) (davclient.Object, error) {
	if o, ok := x.Remote.Data[href]; ok {
		return o, nil
	}
	o, err := x.Client.Get(ctx, x.Cal, href)
	if err != nil {
		return o, err
	}
	if _, err := x.Remote.Check(o); err != nil {
		return o, fmt.Errorf("get %s: %w", href, err)
	}
	return remote.WithETag(o), nil
}

// newName picks a file name for a new remote item that no local file uses.
func (x *Executor) newName(href string) string {
	name := vdir.NameForHref(href, x.format().Ext)
	// Anything at the name counts, listed or not (a symlink, a folder…).
	taken := func(n string) bool {
		_, err := os.Lstat(filepath.Join(x.Local.Dir.Path(), n))
		return x.Local.Used[n] || err == nil
	}
	for i := 2; taken(name); i++ {
		name = vdir.NameForHref(fmt.Sprintf("%s#%d", href, i), x.format().Ext)
	}
	x.Local.Used[name] = true
	return name
}

// writeLocal writes data to name, refusing to clobber a file that changed
// since this pass listed it.
func (x *Executor) writeLocal(name string, data []byte) error {
	var expect *vdir.Fingerprint
	if fp, ok := x.Local.FP[name]; ok {
		expect = &fp
	}
	fp, err := x.Local.Dir.Write(name, data, expect)
	if err != nil {
		if errors.Is(err, vdir.ErrChanged) {
			return fmt.Errorf("%s changed while syncing: left for the next pass", name)
		}
		return err
	}
	x.Local.FP[name] = fp
	x.Local.Used[name] = true
	return nil
}

func (x *Executor) download(ctx context.Context, r *itemRun, act plan.Action) error {
	if err := x.keepReplaced(ctx, r, act); err != nil {
		return err
	}
	o, err := x.remoteObject(ctx, act.Href)
	if err != nil {
		return err
	}
	name := act.Name
	if name == "" {
		name = x.newName(act.Href)
	}
	if err := x.writeLocal(name, o.Data); err != nil {
		return err
	}
	uid := act.UID
	if info, err := x.format().Inspect(o.Data); err == nil {
		uid = info.UID
	}
	if r.journal == 0 { // else the server's version of our own write
		x.Report.Downloaded++
		x.Log.Info().Str("file", name).Msg("↓ downloaded")
	}
	return x.keep(r, x.item(act.Href, o.ETag, name, vdir.Hash(o.Data), uid, o.Data), act.OldHref)
}

func (x *Executor) deleteLocal(ctx context.Context, r *itemRun, act plan.Action) error {
	if err := x.keepReplaced(ctx, r, act); err != nil {
		return err
	}
	if fp, ok := x.Local.FP[act.Name]; ok {
		if err := x.Local.Dir.Delete(act.Name, fp); err != nil {
			if errors.Is(err, vdir.ErrChanged) {
				return fmt.Errorf("%s changed while syncing: not deleted", act.Name)
			}
			return err
		}
	}
	href := act.Href
	x.Rec.Queue(func(tx *state.Tx) error { return tx.DeleteItem(href) })
	x.Report.DeletedLocal++
	x.Log.Info().Str("file", act.Name).Msg("✗ deleted locally (deleted on server)")
	return nil
}
