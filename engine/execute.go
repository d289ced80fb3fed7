package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// apply performs one action and records its result. A per-item failure is
// reported in the summary and left for the next pass; only failures that
// make the rest of the pass pointless (state, context) are returned.
func (p *pass) apply(ctx context.Context, act plan.Action) error {
	var err error
	switch act.Kind {
	case plan.Download:
		err = p.download(ctx, act)
	case plan.Upload, plan.DeleteRemote:
		if strings.HasPrefix(act.ETag, pseudoETagPrefix) {
			// RFC 4791 servers give ETags; one that does not leaves nothing
			// to make a write conditional on, and vdird never writes blind.
			err = fmt.Errorf("the server gave no ETag for %s, so it cannot be changed safely: local change kept", act.Href)
		} else if act.Kind == plan.Upload {
			err = p.upload(ctx, act)
		} else {
			err = p.deleteRemote(ctx, act)
		}
	case plan.Create:
		err = p.create(ctx, act.Href, act.Name, act.UID)
	case plan.DeleteLocal:
		err = p.deleteLocal(act)
	case plan.Record:
		p.record(act.Href, act.ETag, act.Name, act.Hash, act.UID, p.localData[act.Name])
		p.s.Recorded++
	case plan.Forget:
		href := act.Href
		p.queue(func(tx *state.Tx) error { return tx.DeleteItem(href) })
	case plan.Conflict:
		err = p.conflict(ctx, act)
	case plan.Skip:
		p.s.Skipped = append(p.s.Skipped, fmt.Sprintf("%s: %s", p.itemName(act), act.Reason))
		if act.Href != "" {
			if k, ok := p.known[act.Href]; !ok || k.ETag != p.remote[act.Href] {
				p.heldRemote = true
			}
		}
	}
	if err == nil {
		return nil
	}
	if isFatal(err) {
		return err
	}
	p.problem(act, err)
	return nil
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

func (p *pass) record(href, etag, name, hash, uid string, base []byte) {
	it := p.item(href, etag, name, hash, uid, base)
	p.queue(func(tx *state.Tx) error { return tx.PutItem(it) })
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

func (p *pass) download(ctx context.Context, act plan.Action) error {
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
	p.record(act.Href, o.ETag, name, vdir.Hash(o.Data), uid, o.Data)
	p.s.Downloaded++
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("file", name).Msg("↓ downloaded")
	return nil
}

func (p *pass) journal(op, href, name, etag, hash, uid string) (uint64, error) {
	id, err := p.e.store.BeginJournal(state.JournalEntry{Key: p.key, Href: href, Name: name, Op: op,
		ETagBefore: etag, Hash: hash, UID: uid, Started: p.e.Now()})
	if err != nil {
		return 0, fmt.Errorf("%w: journal: %v", errState, err)
	}
	return id, nil
}

func (p *pass) hook(op, href string) error {
	if p.e.afterRemoteWrite != nil {
		return p.e.afterRemoteWrite(op, href)
	}
	return nil
}

func (p *pass) upload(ctx context.Context, act plan.Action) error {
	data := p.localData[act.Name]
	if data == nil {
		return fmt.Errorf("no content read for %s", act.Name)
	}
	id, err := p.journal("put", act.Href, act.Name, act.ETag, act.Hash, act.UID)
	if err != nil {
		return err
	}
	res, err := p.c.Put(ctx, act.Href, data, act.ETag)
	if errors.Is(err, davclient.ErrPreconditionFailed) {
		p.endJournal(id, err)
		if strings.HasPrefix(act.ETag, "W/") {
			if retried, err := p.retryWeak(ctx, act, data); retried || err != nil {
				return err
			}
		}
		// Changed on the server since we listed it: both changed.
		return p.resolveAgainstServer(ctx, act.Href, act.Name, act.UID, data)
	}
	if err != nil {
		p.endJournal(id, err)
		return err
	}
	if err := p.hook("put", act.Href); err != nil {
		return err
	}
	return p.afterPut(ctx, id, act.Href, res, act.Name, act.UID, data, "↑ uploaded")
}

// afterPut records a successful PUT. Without an ETag the server may have
// changed the body: fetch its version and write it locally.
func (p *pass) afterPut(ctx context.Context, journal uint64, href string, res davclient.PutResult, name, uid string, data []byte, msg string) error {
	if res.Href != "" {
		href = res.Href
	}
	etag, hash, base := res.ETag, vdir.Hash(data), data
	if etag == "" {
		o, err := p.c.Get(ctx, href)
		if err != nil {
			return fmt.Errorf("get after put without etag: %w", err)
		}
		if o.ETag == "" {
			o.ETag = pseudoETagPrefix + vdir.Hash(o.Data)
		}
		if vdir.Hash(o.Data) != hash {
			if err := p.writeLocal(name, o.Data); err != nil {
				return err
			}
		}
		etag, hash, base = o.ETag, vdir.Hash(o.Data), o.Data
	}
	it := p.item(href, etag, name, hash, uid, base)
	if err := p.commitNow(journal, func(tx *state.Tx) error { return tx.PutItem(it) }); err != nil {
		return err
	}
	p.known[href] = it
	p.s.Uploaded++
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("file", name).Str("href", href).Msg(msg)
	return nil
}

func (p *pass) create(ctx context.Context, href, name, uid string) error {
	data := p.localData[name]
	if data == nil {
		return fmt.Errorf("no content read for %s", name)
	}
	if href == "" {
		href = hrefFor(p.cal.Href, name, uid)
	}
	for attempt := 0; ; attempt++ {
		id, err := p.journal("create", href, name, "", vdir.Hash(data), uid)
		if err != nil {
			return err
		}
		res, err := p.c.Create(ctx, href, data)
		if err == nil {
			if err := p.hook("create", href); err != nil {
				return err
			}
			return p.afterPut(ctx, id, href, res, name, uid, data, "↑ created")
		}
		p.endJournal(id, err)
		var de *davclient.Error
		switch {
		case errors.Is(err, davclient.ErrConflict) && errors.As(err, &de) && de.Href != "":
			// CALDAV:no-uid-conflict: the server holds this UID at another href. Adopt it.
			return p.resolveAgainstServer(ctx, de.Href, name, uid, data)
		case errors.Is(err, davclient.ErrPreconditionFailed):
			o, gerr := p.c.Get(ctx, href)
			if gerr != nil {
				return fmt.Errorf("create %s: name taken and unreadable: %w", href, gerr)
			}
			if info, ierr := ics.Inspect(o.Data); ierr == nil && info.UID == uid {
				// Our own item (an earlier pass or a crash before state was
				// written): compare instead of duplicating.
				p.remoteData[href] = o
				return p.resolveAgainstServer(ctx, href, name, uid, data)
			}
			if attempt > 0 {
				return err
			}
			href = p.cal.Href + "vdird-" + randomToken() + ".ics"
		default:
			return err
		}
	}
}

// resolveAgainstServer handles a local version meeting a server version of
// the same item that state did not know about: equal → record, else the
// conflict policy.
func (p *pass) resolveAgainstServer(ctx context.Context, href, name, uid string, local []byte) error {
	delete(p.remoteData, href)
	o, err := p.c.Get(ctx, href)
	if errors.Is(err, davclient.ErrNotFound) {
		return p.create(ctx, href, name, uid)
	}
	if err != nil {
		return err
	}
	if o.ETag == "" {
		o.ETag = pseudoETagPrefix + vdir.Hash(o.Data)
	}
	p.remoteData[href] = o
	if vdir.Hash(o.Data) == vdir.Hash(local) || ics.Equivalent(o.Data, local) {
		p.record(href, o.ETag, name, vdir.Hash(local), uid, local)
		p.s.Recorded++
		return nil
	}
	act := plan.Action{Kind: plan.Conflict, Href: href, Name: name, ETag: o.ETag, UID: uid, Winner: plan.RemoteSide}
	switch {
	case p.cal.ReadOnly:
	case p.a.ConflictPolicy == plan.LocalWins:
		act.Winner = plan.LocalSide
	case p.a.ConflictPolicy == plan.KeepBoth:
		act.KeepBoth = true
	}
	return p.conflict(ctx, act)
}

func (p *pass) conflict(ctx context.Context, act plan.Action) error {
	o, err := p.remoteObject(ctx, act.Href)
	if err != nil {
		return err
	}
	local := p.localData[act.Name]
	if local == nil {
		return fmt.Errorf("no content read for %s", act.Name)
	}
	if ics.Equivalent(o.Data, local) {
		// The server holds our content in its own layout (it rewrote what
		// we sent, e.g. an upload whose answer was lost): not a conflict.
		p.record(act.Href, o.ETag, act.Name, vdir.Hash(local), act.UID, local)
		p.s.Recorded++
		return nil
	}
	p.s.Conflicts++
	log := p.e.log.Warn().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("file", act.Name)
	if act.Winner == plan.LocalSide {
		copyName, err := p.d.WriteConflictCopy(act.Name, o.Data, p.e.Now())
		if err != nil {
			return err
		}
		log.Str("copy", copyName).Msg("⚠ conflict: local version wins, server version kept as " + copyName)
		id, err := p.journal("put", act.Href, act.Name, o.ETag, vdir.Hash(local), act.UID)
		if err != nil {
			return err
		}
		res, err := p.c.Put(ctx, act.Href, local, o.ETag)
		if err != nil {
			p.endJournal(id, err)
			return err
		}
		if err := p.hook("put", act.Href); err != nil {
			return err
		}
		return p.afterPut(ctx, id, act.Href, res, act.Name, act.UID, local, "↑ uploaded (conflict winner)")
	}
	// The server's version wins the file.
	if act.KeepBoth {
		// Keep the local version as a separate new item with its own UID.
		newUID := act.UID + "-vdird-" + randomToken()
		newName := "vdird-" + shortHash(newUID) + ".ics"
		if err := p.writeLocal(newName, ics.ReplaceUID(local, newUID)); err != nil {
			return err
		}
		p.localData[newName] = ics.ReplaceUID(local, newUID)
		log.Str("copy", newName).Msg("⚠ conflict: kept both, local version is now the new item " + newName)
		if err := p.writeLocal(act.Name, o.Data); err != nil {
			return err
		}
		p.record(act.Href, o.ETag, act.Name, vdir.Hash(o.Data), act.UID, o.Data)
		if p.cal.ReadOnly {
			return nil
		}
		return p.create(ctx, "", newName, newUID)
	}
	copyName, err := p.d.WriteConflictCopy(act.Name, local, p.e.Now())
	if err != nil {
		return err
	}
	log.Str("copy", copyName).Msg("⚠ conflict: server version wins, local version kept as " + copyName)
	if err := p.writeLocal(act.Name, o.Data); err != nil {
		return err
	}
	p.record(act.Href, o.ETag, act.Name, vdir.Hash(o.Data), act.UID, o.Data)
	return nil
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

func (p *pass) deleteRemote(ctx context.Context, act plan.Action) error {
	id, err := p.journal("delete", act.Href, act.Name, act.ETag, "", act.UID)
	if err != nil {
		return err
	}
	err = p.c.Delete(ctx, act.Href, act.ETag)
	if errors.Is(err, davclient.ErrPreconditionFailed) && strings.HasPrefix(act.ETag, "W/") {
		if etag, same, gerr := p.strongETagIfUnchanged(ctx, act.Href); gerr == nil && same {
			err = p.c.Delete(ctx, act.Href, etag)
			if errors.Is(err, davclient.ErrPreconditionFailed) {
				p.endJournal(id, err)
				return fmt.Errorf("server gives only weak ETags, which cannot guard a DELETE: %s kept on the server", act.Href)
			}
		}
	}
	if errors.Is(err, davclient.ErrPreconditionFailed) {
		// Changed on the server meanwhile: the edit wins over the delete.
		p.endJournal(id, err)
		delete(p.remoteData, act.Href)
		return p.download(ctx, plan.Action{Kind: plan.Download, Href: act.Href, Name: act.Name, UID: act.UID})
	}
	if err != nil {
		p.endJournal(id, err)
		return err
	}
	if err := p.hook("delete", act.Href); err != nil {
		return err
	}
	href := act.Href
	if err := p.commitNow(id, func(tx *state.Tx) error { return tx.DeleteItem(href) }); err != nil {
		return err
	}
	p.s.DeletedRemote++
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("file", act.Name).Str("href", act.Href).Msg("✗ deleted on server (deleted locally)")
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

// strongETagIfUnchanged fetches href and reports whether the server still
// holds what was last synced (the base), with the ETag to send: servers or
// proxies that weaken ETags (W/) can never satisfy If-Match (RFC 7232 §3.1
// uses strong comparison), but the underlying validator usually can.
func (p *pass) strongETagIfUnchanged(ctx context.Context, href string) (string, bool, error) {
	o, err := p.c.Get(ctx, href)
	if err != nil {
		return "", false, err
	}
	k, ok, err := p.e.store.Item(p.key, href)
	if err != nil || !ok {
		return "", false, err
	}
	same := vdir.Hash(o.Data) == k.Hash || (k.Base != nil && ics.Equivalent(o.Data, k.Base))
	return strings.TrimPrefix(o.ETag, "W/"), same && o.ETag != "", nil
}

// retryWeak handles a 412 on an If-Match with a weak ETag: when the server
// still holds the base, the PUT is sent again with the strong form of its
// current ETag. It reports whether it handled the upload.
func (p *pass) retryWeak(ctx context.Context, act plan.Action, data []byte) (bool, error) {
	etag, same, err := p.strongETagIfUnchanged(ctx, act.Href)
	if err != nil || !same {
		return false, nil // let the caller treat it as changed on the server
	}
	id, err := p.journal("put", act.Href, act.Name, etag, act.Hash, act.UID)
	if err != nil {
		return true, err
	}
	res, err := p.c.Put(ctx, act.Href, data, etag)
	if errors.Is(err, davclient.ErrPreconditionFailed) {
		p.endJournal(id, err)
		return true, fmt.Errorf("server gives only weak ETags, which cannot guard an update: local edit of %s kept, not uploaded", act.Name)
	}
	if err != nil {
		p.endJournal(id, err)
		return true, err
	}
	if err := p.hook("put", act.Href); err != nil {
		return true, err
	}
	return true, p.afterPut(ctx, id, act.Href, res, act.Name, act.UID, data, "↑ uploaded")
}
