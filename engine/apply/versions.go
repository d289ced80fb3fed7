package apply

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/versions"
)

// The versions an executor keeps. Before a write replaces a file or a
// server object that sync had synced, the version that is about to
// disappear goes into the versions store: the file's bytes for a Download
// over it or a DeleteLocal, the server's bytes (as fetched this pass, or
// the base state keeps while the server still has its etag) for an Upload
// or a DeleteRemote. When it cannot be kept, the write is not made and the
// item is the pass's problem. Creates and first downloads replace nothing
// and keep nothing; a conflict keeps its loser as a conflict copy instead.

// keepChunk bounds the versions saved, and so the bytes held, at once.
const keepChunk = 256

// Versions keeps the versions an executor's writes replace.
type Versions struct {
	Store *versions.Store
	Pass  string // names the pass in the versions it keeps (versions.NewPassID)

	// massSide is the side whose items a confirmed mass delete deletes:
	// RemoteSide when files are deleted because the server lost them.
	massSide plan.Side
	// kept holds, per item side (the key replaces gives), the result of
	// keeping its version this pass: nil once kept.
	kept map[string]error
}

// KeepAhead keeps, in batches, the versions that the actions of in's plan
// will replace, so a pass that deletes or overwrites many items pays about
// one flush of the disk per batch. A version that cannot be kept fails its
// item's write when the executor comes to it. It stops when ctx ends.
func (x *Executor) KeepAhead(ctx context.Context, in plan.Input, acts []plan.Action) {
	v := x.Versions
	if v == nil || !v.Store.Keeps(x.Rec.Col.Account) {
		return
	}
	if in.Options.AllowMassDelete {
		// The deletions the guard would have refused without the
		// confirmation are the mass delete's.
		again := in
		again.Options.AllowMassDelete = false
		if r := plan.Plan(again).Refused; r != nil {
			v.massSide = r.Side
		}
	}
	var (
		batch []versions.Version
		keys  []string
	)
	// flush saves the batch; false when none of it could be kept (ctx
	// ended), which leaves its items to be tried one by one.
	flush := func() bool {
		err := v.Store.SaveBatch(ctx, batch)
		var be *versions.BatchError
		isBatch := errors.As(err, &be)
		for i, key := range keys {
			switch {
			case isBatch:
				v.note(key, be.Errs[i])
			case err == nil:
				v.note(key, nil)
			}
		}
		batch, keys = batch[:0], keys[:0]
		return err == nil || isBatch
	}
	for _, act := range acts {
		key, side, reason := x.replaces(act)
		if reason == "" || v.done(key) {
			continue
		}
		ver, ok, err := x.versionOf(ctx, act, side, reason, false)
		switch {
		case err != nil:
			v.note(key, err)
		case ok:
			batch, keys = append(batch, ver), append(keys, key)
		}
		if len(batch) == keepChunk && !flush() {
			return
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

// keepReplaced keeps the version that act is about to replace, unless
// KeepAhead kept it already; an error means act must not be carried out.
func (x *Executor) keepReplaced(ctx context.Context, r *itemRun, act plan.Action) error {
	v := x.Versions
	if v == nil || r.journal != 0 { // after our own write: what it replaces is ours
		return nil
	}
	key, side, reason := x.replaces(act)
	return x.keepSide(ctx, act, key, side, reason)
}

// keepSide keeps the version of side that act is about to replace, under
// key, for reason; nothing when reason is "".
func (x *Executor) keepSide(ctx context.Context, act plan.Action, key string, side versions.Side, reason versions.Reason) error {
	v := x.Versions
	if reason == "" {
		return nil
	}
	if err, ok := v.kept[key]; ok {
		return keepError(err)
	}
	if !v.Store.Keeps(x.Rec.Col.Account) {
		return nil
	}
	ver, ok, err := x.versionOf(ctx, act, side, reason, true)
	if err == nil && ok {
		err = v.Store.Save(ctx, ver)
	}
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	v.note(key, err)
	return keepError(err)
}

func keepError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("not done, left for the next pass: %w", err)
}

func (v *Versions) note(key string, err error) {
	if v.kept == nil {
		v.kept = map[string]error{}
	}
	v.kept[key] = err
}

func (v *Versions) done(key string) bool {
	_, ok := v.kept[key]
	return ok
}

// keepLocalBeforeMerge keeps the file a merge is about to overwrite.
func (x *Executor) keepLocalBeforeMerge(ctx context.Context, r *itemRun, act plan.Action) error {
	if x.Versions == nil || r.journal != 0 {
		return nil
	}
	return x.keepSide(ctx, act, "L\x00"+act.Name, versions.Local, versions.Merged)
}

// replaces tells what act replaces: the item side's key, the side, and
// why; reason is "" when act replaces nothing that is kept.
func (x *Executor) replaces(act plan.Action) (key string, side versions.Side, reason versions.Reason) {
	switch act.Kind {
	case plan.Download:
		if _, listed := x.Local.FP[act.Name]; act.Name != "" && listed {
			return "L\x00" + act.Name, versions.Local, versions.OverwrittenByServer
		}
	case plan.DeleteLocal:
		if _, listed := x.Local.FP[act.Name]; listed {
			reason = versions.DeletedOnServer
			if x.Versions.massSide == plan.RemoteSide {
				reason = versions.MassDeleteConfirmed
			}
			return "L\x00" + act.Name, versions.Local, reason
		}
	case plan.Upload:
		if act.ETag != "" {
			return "S\x00" + act.Href, versions.Server, versions.OverwrittenByLocal
		}
	case plan.Merged:
		if act.Put && act.ETag != "" {
			return "S\x00" + act.Href, versions.Server, versions.Merged
		}
	case plan.DeleteRemote:
		reason = versions.DeletedLocally
		if x.Versions.massSide == plan.LocalSide {
			reason = versions.MassDeleteConfirmed
		}
		return "S\x00" + act.Href, versions.Server, reason
	}
	return "", "", ""
}

// versionOf is the version act replaces on side. ok is false when there is
// none to keep: the server no longer holds the version act was planned
// against (its write then fails with 412 and is planned again). fetch
// allows a GET for a server version neither this pass nor state holds.
func (x *Executor) versionOf(ctx context.Context, act plan.Action, side versions.Side, reason versions.Reason, fetch bool) (versions.Version, bool, error) {
	var (
		data []byte
		err  error
	)
	if side == versions.Local {
		data, err = x.localBytes(act.Name)
	} else {
		data, err = x.serverBytes(ctx, act.Href, act.ETag, fetch)
	}
	if err != nil || data == nil {
		return versions.Version{}, false, err
	}
	uid := act.UID
	if uid == "" {
		uid = x.Known[act.Href].UID
	}
	if uid == "" {
		if info, err := x.format().Inspect(data); err == nil {
			uid = info.UID
		}
	}
	col := x.Rec.Col
	return versions.Version{Data: data, Meta: versions.Meta{
		Account: col.Account, Collection: x.Cal.Href, Folder: filepath.Base(col.Dir),
		UID: uid, Href: act.Href, File: act.Name, Side: side, Reason: reason,
		Pass: x.Versions.Pass, Time: x.Now(),
	}}, true, nil
}

// localBytes reads the file name as this pass listed it; a file changed
// since is left for the next pass, as its write would be.
func (x *Executor) localBytes(name string) ([]byte, error) {
	fp := x.Local.FP[name]
	b, got, err := x.Local.Dir.Read(name)
	if err != nil {
		return nil, fmt.Errorf("read %s to keep its version: %w", name, err)
	}
	if got != fp {
		return nil, fmt.Errorf("%s changed while syncing", name)
	}
	return b, nil
}

// serverBytes is the server's object at href while its etag is etag: as
// fetched this pass, else the base state keeps when state's etag is that
// one, else (when fetch is set) read now. nil when the server holds
// another version or nothing.
func (x *Executor) serverBytes(ctx context.Context, href, etag string, fetch bool) ([]byte, error) {
	if o, ok := x.Remote.Data[href]; ok && sameETag(o.ETag, etag) {
		return o.Data, nil
	}
	it, ok, err := x.Rec.Store.Item(x.Rec.Key, href)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if ok && it.Base != nil && sameETag(it.ETag, etag) {
		return it.Base, nil
	}
	if !fetch {
		return nil, nil
	}
	o, err := x.remoteObject(ctx, href)
	switch {
	case errors.Is(err, davclient.ErrNotFound):
		return nil, nil // the write meets what the server holds and is planned again
	case err != nil:
		return nil, fmt.Errorf("read the server's version to keep it: %w", err)
	case !sameETag(o.ETag, etag):
		return nil, nil
	}
	return o.Data, nil
}

// sameETag compares two etags as If-Match does after the executor's retry
// with a weak etag's strong form: W/ aside.
func sameETag(a, b string) bool {
	return a != "" && strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}
