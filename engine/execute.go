package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// batchSize bounds how many local-only results wait for one state commit.
// Remote writes are committed at once (with their journal entry).
const batchSize = 200

// maxSteps bounds the actions one item may take in one pass. plan.Next
// bounds the remote writes among them, which ends any chain sooner.
const maxSteps = 4 * plan.MaxWrites

// itemRun is one item's way through a pass: the planned action and what
// plan.Next asks for after each surprise.
type itemRun struct {
	known      *plan.Known     // the item's entry in state; nil for a new item
	writes     int             // remote writes sent
	journal    uint64          // entry of a write the server accepted, ended by the commit that records it
	tried      map[string]bool // hrefs a create was sent to
	conflicted bool            // counted in the summary already
}

// apply carries out one planned action and, after each surprise in the
// server's answer, the action plan.Next gives for it. A per-item failure is
// reported in the summary and left for the next pass; only failures that
// make the rest of the pass pointless (state, context) are returned.
func (p *pass) apply(ctx context.Context, act plan.Action) error {
	last, err := p.settle(ctx, act)
	if err == nil {
		return nil
	}
	if isFatal(err) {
		return err
	}
	p.problem(last, err)
	return nil
}

// settle carries out act and what plan.Next asks for after each surprise,
// up to maxSteps. It returns the last action and the error it met.
func (p *pass) settle(ctx context.Context, act plan.Action) (plan.Action, error) {
	r := &itemRun{}
	if k, ok := p.known[act.Href]; ok {
		known := knownOf(k)
		r.known = &known
	}
	for step := 0; step < maxSteps; step++ {
		out, err := p.perform(ctx, r, act)
		if err != nil || out == nil {
			return act, err
		}
		act = plan.Next(*out)
	}
	return act, fmt.Errorf("not settled after %d steps: left for the next pass", maxSteps)
}

// perform carries out one action. It returns the outcome to ask the
// planner about when the server's answer was a surprise, nil when the
// action is done.
func (p *pass) perform(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	switch act.Kind {
	case plan.Download:
		return nil, p.download(ctx, r, act)
	case plan.Upload:
		return p.put(ctx, r, act)
	case plan.Create:
		return p.create(ctx, r, act)
	case plan.DeleteRemote:
		return p.deleteRemote(ctx, r, act)
	case plan.DeleteLocal:
		return nil, p.deleteLocal(act)
	case plan.Record:
		if r.journal == 0 {
			p.s.Recorded++
		}
		return nil, p.keep(r, p.item(act.Href, act.ETag, act.Name, act.Hash, act.UID, p.localData[act.Name]), act.OldHref)
	case plan.Forget:
		href := act.Href
		p.queue(func(tx *state.Tx) error { return tx.DeleteItem(href) })
	case plan.Conflict:
		return p.conflict(ctx, r, act)
	case plan.Skip:
		p.s.Skipped = append(p.s.Skipped, fmt.Sprintf("%s: %s", p.itemName(act), act.Reason))
		if act.Href != "" {
			if k, ok := p.known[act.Href]; !ok || k.ETag != p.remote[act.Href] {
				p.heldRemote = true
			}
		}
	case plan.Report:
		return nil, errors.New(act.Reason)
	}
	return nil, nil
}

func isFatal(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errState)
}

var errState = errors.New("state")

func (p *pass) itemName(act plan.Action) string {
	if act.Name != "" {
		return filepath.Join(p.col.Dir, act.Name)
	}
	return act.Href
}

func (p *pass) problem(act plan.Action, err error) {
	if p.s.Throttled == nil && RetryAfter(err) > 0 {
		p.s.Throttled = err
	}
	msg := fmt.Sprintf("%s %s: %v", act.Kind, p.itemName(act), err)
	if act.Kind == plan.Report {
		msg = fmt.Sprintf("%s: %v", p.itemName(act), err)
	}
	p.s.Problems = append(p.s.Problems, msg)
	p.e.log.Error().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Err(err).
		Str("action", act.Kind.String()).Str("file", act.Name).Str("href", act.Href).Msg("item not synced")
}

// queue adds a state update to the pending batch and commits the batch
// when it is full. A failed commit is kept in p.commitErr, which fails the
// pass at finish; queue does not try the batch again.
func (p *pass) queue(fn func(*state.Tx) error) {
	p.batch = append(p.batch, fn)
	if len(p.batch) >= batchSize && p.commitErr == nil {
		p.commitErr = p.flush()
	}
}

// flush commits queued state updates in one transaction. A batch that
// could not be committed stays queued: its results are not recorded yet.
func (p *pass) flush() error {
	if len(p.batch) == 0 {
		return nil
	}
	if err := p.commit(p.batch...); err != nil {
		return err
	}
	p.batch = nil
	return nil
}

// commit runs fns in one state transaction, recording the collection first
// if this is a new calendar's first commit.
func (p *pass) commit(batch ...func(*state.Tx) error) error {
	col := p.col
	err := p.e.store.Update(p.key, func(tx *state.Tx) error {
		if _, ok := tx.Collection(); !ok {
			// First results of a new calendar: the collection record comes first.
			if err := tx.SetCollection(col); err != nil {
				return err
			}
		}
		for _, fn := range batch {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errState, err)
	}
	return nil
}

// commitNow records a remote write's result together with the end of its
// journal entry, atomically.
func (p *pass) commitNow(journal uint64, fn func(*state.Tx) error) error {
	p.batch = append(p.batch, fn, func(tx *state.Tx) error { return tx.EndJournal(journal) })
	return p.flush()
}

// keep records rec, dropping the item's entry at oldHref in the same
// commit (the item moved there). After a remote write the commit also ends
// the write's journal entry, at once; otherwise it joins the batch.
func (p *pass) keep(r *itemRun, rec state.Item, oldHref string) error {
	fn := func(tx *state.Tx) error {
		if oldHref != "" && oldHref != rec.Href {
			if err := tx.DeleteItem(oldHref); err != nil {
				return err
			}
		}
		return tx.PutItem(rec)
	}
	if r.journal == 0 {
		p.queue(fn)
		return nil
	}
	id := r.journal
	r.journal = 0
	if err := p.commitNow(id, fn); err != nil {
		return err
	}
	delete(p.known, oldHref)
	p.known[rec.Href] = rec
	return nil
}

func (p *pass) item(href, etag, name, hash, uid string, base []byte) state.Item {
	fp := p.localFP[name]
	return state.Item{Href: href, ETag: etag, Name: name, Fingerprint: state.Fingerprint(fp), Hash: hash, UID: uid, Base: base}
}

func (p *pass) remoteObject(ctx context.Context, href string) (davclient.Object, error) {
	if o, ok := p.remoteData[href]; ok {
		return o, nil
	}
	o, err := p.c.Get(ctx, href)
	if err != nil {
		return o, err
	}
	if _, err := p.checkRemote(o); err != nil {
		return o, fmt.Errorf("get %s: %w", href, err)
	}
	if o.ETag == "" {
		o.ETag = pseudoETagPrefix + vdir.Hash(o.Data)
	}
	return o, nil
}

// newName picks a file name for a new remote item that no local file uses.
func (p *pass) newName(href string) string {
	name := vdir.NameForHref(href)
	// Anything at the name counts, listed or not (a symlink, a folder…).
	taken := func(n string) bool {
		_, err := os.Lstat(filepath.Join(p.d.Path(), n))
		return p.usedNames[n] || err == nil
	}
	for i := 2; taken(name); i++ {
		name = vdir.NameForHref(fmt.Sprintf("%s#%d", href, i))
	}
	p.usedNames[name] = true
	return name
}

// writeLocal writes data to name, refusing to clobber a file that changed
// since this pass listed it.
func (p *pass) writeLocal(name string, data []byte) error {
	var expect *vdir.Fingerprint
	if fp, ok := p.localFP[name]; ok {
		expect = &fp
	}
	fp, err := p.d.Write(name, data, expect)
	if err != nil {
		if errors.Is(err, vdir.ErrChanged) {
			return fmt.Errorf("%s changed while syncing: left for the next pass", name)
		}
		return err
	}
	p.localFP[name] = fp
	p.usedNames[name] = true
	return nil
}

func (p *pass) download(ctx context.Context, r *itemRun, act plan.Action) error {
	o, err := p.remoteObject(ctx, act.Href)
	if err != nil {
		return err
	}
	name := act.Name
	if name == "" {
		name = p.newName(act.Href)
	}
	if err := p.writeLocal(name, o.Data); err != nil {
		return err
	}
	uid := act.UID
	if info, err := ics.Inspect(o.Data); err == nil {
		uid = info.UID
	}
	if r.journal == 0 { // else the server's version of our own write
		p.s.Downloaded++
		p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("file", name).Msg("↓ downloaded")
	}
	return p.keep(r, p.item(act.Href, o.ETag, name, vdir.Hash(o.Data), uid, o.Data), act.OldHref)
}

func (p *pass) journal(op, href, name, etag, hash, uid string) (uint64, error) {
	id, err := p.e.store.BeginJournal(state.JournalEntry{Key: p.key, Href: href, Name: name, Op: op,
		ETagBefore: etag, Hash: hash, UID: uid, Started: p.e.Now()})
	if err != nil {
		return 0, fmt.Errorf("%w: journal: %v", errState, err)
	}
	return id, nil
}

func (p *pass) deleteLocal(act plan.Action) error {
	fp, ok := p.localFP[act.Name]
	if ok {
		if err := p.d.Delete(act.Name, fp); err != nil {
			if errors.Is(err, vdir.ErrChanged) {
				return fmt.Errorf("%s changed while syncing: not deleted", act.Name)
			}
			return err
		}
	}
	href := act.Href
	p.queue(func(tx *state.Tx) error { return tx.DeleteItem(href) })
	p.s.DeletedLocal++
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("file", act.Name).Msg("✗ deleted locally (deleted on server)")
	return nil
}

// recoverJournal settles remote writes that a crash left unrecorded: the
// server is asked what it holds, and state is brought in line, so the next
// plan neither repeats a create (duplicate) nor loses the local edit.
func (e *Engine) recoverJournal(ctx context.Context, a *config.Account, c *davclient.Client) error {
	pending, err := e.store.Pending()
	if err != nil {
		return err
	}
	for _, j := range pending {
		col, ok, err := e.store.Collection(j.Key)
		if err != nil {
			return err
		}
		if !ok || col.Account != a.Name {
			if !ok {
				_ = e.store.EndJournal(j.ID)
			}
			continue
		}
		o, err := c.Get(ctx, j.Href)
		switch {
		case errors.Is(err, davclient.ErrNotFound):
			err = e.store.Update(j.Key, func(tx *state.Tx) error {
				if j.Op == "delete" {
					if err := tx.DeleteItem(j.Href); err != nil {
						return err
					}
				}
				return tx.EndJournal(j.ID)
			})
		case err != nil:
			return fmt.Errorf("recovering interrupted %s of %s: %w", j.Op, j.Href, err)
		default:
			err = e.recoverWrite(j, col, o)
		}
		if err != nil {
			return err
		}
		e.log.Info().Str("account", a.Name).Str("op", j.Op).Str("href", j.Href).Msg("settled a write interrupted by a crash")
	}
	return nil
}

// recoverWrite handles an interrupted put/create whose href exists on the
// server. The item is ours when the server holds our bytes, or — for a create,
// since servers such as Radicale rewrite bodies — our UID at our href.
func (e *Engine) recoverWrite(j state.JournalEntry, col state.Collection, o davclient.Object) error {
	if o.ETag == "" {
		o.ETag = pseudoETagPrefix + vdir.Hash(o.Data)
	}
	if j.Op == "delete" {
		return e.store.EndJournal(j.ID)
	}
	d, err := vdir.Open(col.Dir)
	if err != nil {
		return e.store.EndJournal(j.ID)
	}
	data, fp, err := d.Read(j.Name)
	unchanged := err == nil && vdir.Hash(data) == j.Hash
	info, _ := ics.Inspect(o.Data)
	ours := vdir.Hash(o.Data) == j.Hash ||
		(unchanged && ics.Equivalent(o.Data, data)) ||
		(j.Op == "create" && info.UID != "" && info.UID == j.UID)
	if !ours {
		// Someone else's version: state keeps the old etag, so the next pass
		// sees both sides changed and applies the conflict policy.
		return e.store.EndJournal(j.ID)
	}
	if !unchanged {
		// The file changed since (or is gone): record the server side only as
		// of the old content, so the next pass sees the local change.
		return e.store.Update(j.Key, func(tx *state.Tx) error {
			if err := tx.PutItem(state.Item{Href: j.Href, ETag: o.ETag, Name: j.Name, Hash: j.Hash, UID: j.UID}); err != nil {
				return err
			}
			return tx.EndJournal(j.ID)
		})
	}
	return e.store.Update(j.Key, func(tx *state.Tx) error {
		it := state.Item{Href: j.Href, ETag: o.ETag, Name: j.Name, Fingerprint: state.Fingerprint(fp), Hash: j.Hash, UID: j.UID, Base: data}
		if err := tx.PutItem(it); err != nil {
			return err
		}
		return tx.EndJournal(j.ID)
	})
}

// endJournal closes a journal entry after a failed remote write, unless the
// outcome is unknown: when the request got no HTTP answer (connection lost,
// timeout, cancel) the server may have applied it, and the open entry lets
// the next pass recognise our own write instead of calling it a conflict.
func (p *pass) endJournal(id uint64, err error) {
	var de *davclient.Error
	if errors.As(err, &de) {
		_ = p.e.store.EndJournal(id)
	}
}
