package apply

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/davclient/calfilter"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/remote"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// The remote writes of a pass and conflict resolution. Each write is
// journaled, sent with the precondition the plan gives, and its answer is
// turned into a plan.Outcome when the plan did not foresee it; what to do
// then is plan.Next's decision.

// put sends the local version with If-Match: act.ETag (an Upload, or the
// PUT of a Conflict the local side won).
func (x *Executor) put(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	if err := x.keepReplaced(ctx, r, act); err != nil {
		return nil, err
	}
	data := x.Local.Data[act.Name]
	if data == nil {
		return nil, fmt.Errorf("no content read for %s", act.Name)
	}
	id, err := x.journal("put", act.Href, act.Name, act.ETag, vdir.Hash(data), act.UID)
	if err != nil {
		return nil, err
	}
	r.writes++
	res, err := x.Client.Put(ctx, x.Cal, act.Href, data, act.ETag)
	return x.answered(ctx, r, act, id, res, err)
}

// create sends the local version with If-None-Match: *, at act.Href or,
// when that is empty, at an href of the engine's choosing that this item
// has not tried yet.
func (x *Executor) create(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	data := x.Local.Data[act.Name]
	if data == nil {
		return nil, fmt.Errorf("no content read for %s", act.Name)
	}
	if act.Href == "" {
		act.Href = hrefFor(x.Cal.Href, x.format().Ext, act.Name, act.UID)
		if r.tried[act.Href] {
			act.Href = x.Cal.Href + "vdird-" + randomToken() + x.format().Ext
		}
	}
	if r.tried == nil {
		r.tried = map[string]bool{}
	}
	r.tried[act.Href] = true
	id, err := x.journal("create", act.Href, act.Name, "", vdir.Hash(data), act.UID)
	if err != nil {
		return nil, err
	}
	r.writes++
	res, err := x.Client.Create(ctx, x.Cal, act.Href, data)
	return x.answered(ctx, r, act, id, res, err)
}

// answered turns the answer to a PUT into an outcome: Stored (read back
// when it carried no ETag), or a 412 or no-uid-conflict together with what
// the server holds now. Any other failure is the item's problem.
func (x *Executor) answered(ctx context.Context, r *itemRun, act plan.Action, journal uint64, res davclient.PutResult, err error) (*plan.Outcome, error) {
	var de *davclient.Error
	switch {
	case err == nil:
		msg := "↑ uploaded"
		switch act.Kind {
		case plan.Create:
			msg = "↑ created"
		case plan.Conflict:
			msg = "↑ uploaded (conflict winner)"
		case plan.Merged:
			msg = "↑ uploaded (merged)"
		}
		r.journal = journal
		x.Report.Uploaded++
		x.Log.Info().Str("file", act.Name).Str("href", res.Href).Msg(msg)
		out := x.outcome(r, act, plan.Stored)
		out.At, out.ETag = res.Href, res.ETag
		if res.ETag != "" {
			return out, nil
		}
		return x.withServer(ctx, r, out, res.Href)
	case errors.Is(err, davclient.ErrPreconditionFailed) && !(errors.As(err, &de) && de.Refused()):
		x.endJournal(journal, err)
		return x.withServer(ctx, r, x.outcome(r, act, plan.PreconditionFailed), act.Href)
	case act.Kind == plan.Create && errors.Is(err, davclient.ErrUIDConflict) && errors.As(err, &de):
		x.endJournal(journal, err)
		out := x.outcome(r, act, plan.UIDConflict)
		out.At, out.Refusal = de.Href, err.Error()
		if de.Href == "" {
			return x.holder(ctx, r, out)
		}
		return x.withServer(ctx, r, out, de.Href)
	case act.Kind == plan.Create && errors.Is(err, davclient.ErrUIDInUse) && x.Refuse != nil:
		// The UID lives at another href of the account (an item moved
		// between calendars): settled at the end of the account pass.
		x.endJournal(journal, err)
		x.Refuse(act, err)
		return nil, nil
	case (act.Kind == plan.Upload || act.Kind == plan.Create) && errors.As(err, &de) && de.Refused():
		// The server refuses these bytes as such: the same PUT would get
		// the same answer until the file changes.
		x.endJournal(journal, err)
		x.reject(act.Name, vdir.Hash(x.Local.Data[act.Name]), err.Error())
		return nil, nil
	}
	x.endJournal(journal, err)
	return nil, err
}

// holder finds the member holding the UID of a create that the server
// refused without naming it: one REPORT on the UID, then the members it
// lists until one holds exactly that UID (a text-match matches
// substrings). out.At and out.Server stay empty when none does.
func (x *Executor) holder(ctx context.Context, r *itemRun, out *plan.Outcome) (*plan.Outcome, error) {
	uid := out.Local.UID
	info, err := x.format().Inspect(x.Local.Data[out.Action.Name])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", out.Action.Name, err)
	}
	items, err := calfilter.ByUID(ctx, x.Client, x.Cal, info.Component, uid)
	if err != nil {
		return nil, fmt.Errorf("looking up the member holding UID %s: %w", uid, err)
	}
	for _, it := range items {
		out.Server = nil
		if _, err := x.withServer(ctx, r, out, it.Href); err != nil {
			return nil, err
		}
		if out.Server != nil && out.Server.UID == uid {
			out.At = it.Href
			x.Log.Debug().Str("file", out.Action.Name).Str("href", it.Href).Msg("the UID refused as taken is held there")
			return out, nil
		}
	}
	out.Server = nil
	return out, nil
}

// outcome describes the item for the planner.
func (x *Executor) outcome(r *itemRun, act plan.Action, ev plan.Event) *plan.Outcome {
	local := plan.Local{Name: act.Name, UID: act.UID}
	if data := x.Local.Data[act.Name]; data != nil {
		local.Hash = vdir.Hash(data)
	}
	return &plan.Outcome{Action: act, Event: ev, Known: r.known, Local: local, Writes: r.writes,
		Options: plan.Options{Policy: x.Policy, ReadOnly: x.Cal.ReadOnly, Merge: x.Merge}}
}

// withServer reads what the server holds at href now into out.Server (nil
// for nothing), comparing it with the local version and with the base.
// The object is kept for the action that follows.
func (x *Executor) withServer(ctx context.Context, r *itemRun, out *plan.Outcome, href string) (*plan.Outcome, error) {
	delete(x.Remote.Data, href)
	o, err := x.Client.Get(ctx, x.Cal, href)
	if errors.Is(err, davclient.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	info, err := x.format().Inspect(o.Data)
	if err != nil {
		return nil, fmt.Errorf("server sent invalid data for %s: %w", href, err)
	}
	o = remote.WithETag(o)
	x.Remote.Data[href] = o
	v := &plan.Version{Href: href, ETag: o.ETag, Hash: vdir.Hash(o.Data), UID: info.UID}
	if local := x.Local.Data[out.Action.Name]; local != nil {
		v.SameAsLocal = v.Hash == vdir.Hash(local) || x.format().Equivalent(o.Data, local)
	}
	if r.known != nil {
		v.SameAsBase = v.Hash == r.known.Hash || x.holdsBase(r.known.Href, o.Data)
	}
	out.Server = v
	return out, nil
}

// holdsBase tells whether data is what state keeps as the base of the
// item at href, in another layout.
func (x *Executor) holdsBase(href string, data []byte) bool {
	k, ok, err := x.Rec.Store.Item(x.Rec.Key, href)
	return err == nil && ok && k.Base != nil && x.format().Equivalent(data, k.Base)
}

func (x *Executor) deleteRemote(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	if err := x.keepReplaced(ctx, r, act); err != nil {
		return nil, err
	}
	id, err := x.journal("delete", act.Href, act.Name, act.ETag, "", act.UID)
	if err != nil {
		return nil, err
	}
	r.writes++
	err = x.Client.Delete(ctx, act.Href, act.ETag)
	if errors.Is(err, davclient.ErrPreconditionFailed) {
		x.endJournal(id, err)
		return x.withServer(ctx, r, x.outcome(r, act, plan.PreconditionFailed), act.Href)
	}
	if err != nil {
		x.endJournal(id, err)
		return nil, err
	}
	href := act.Href
	if err := x.Rec.commitNow(id, func(tx *state.Tx) error { return tx.DeleteItem(href) }); err != nil {
		return nil, err
	}
	x.Report.DeletedRemote++
	x.Log.Info().Str("file", act.Name).Str("href", act.Href).Msg("✗ deleted on server (deleted locally)")
	return nil, nil
}

// conflict resolves the local version against the server's by
// act.Winner. The planner has compared the two already: versions that
// differ only in layout never come here.
func (x *Executor) conflict(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	o, local, err := x.bothVersions(ctx, act)
	if err != nil {
		return nil, err
	}
	if !r.conflicted {
		r.conflicted = true
		x.Report.Conflicts++
	}
	log := x.Log.Warn().Str("file", act.Name)
	switch {
	case act.Winner == plan.LocalSide:
		copyName, err := x.keepCopy(act.Name, o.Data, vdir.ConflictNote{Side: vdir.ServerVersion, Name: act.Name})
		if err != nil {
			return nil, err
		}
		log.Str("copy", copyName).Msg("⚠ conflict: local version wins, server version kept as a copy")
		return x.put(ctx, r, act)
	case act.KeepBoth:
		return x.keepBoth(r, act, o, local, log)
	}
	copyName, err := x.keepCopy(act.Name, local, vdir.ConflictNote{Side: vdir.LocalVersion, Name: act.Name})
	if err != nil {
		return nil, err
	}
	log.Str("copy", copyName).Msg("⚠ conflict: server version wins, local version kept as a copy")
	if err := x.writeLocal(act.Name, o.Data); err != nil {
		return nil, err
	}
	return nil, x.keep(r, x.item(act.Href, o.ETag, act.Name, vdir.Hash(o.Data), act.UID, o.Data), act.OldHref)
}

// bothVersions are the server's version of act's item and its local bytes.
func (x *Executor) bothVersions(ctx context.Context, act plan.Action) (davclient.Object, []byte, error) {
	o, err := x.remoteObject(ctx, act.Href)
	if err != nil {
		return o, nil, err
	}
	local := x.Local.Data[act.Name]
	if local == nil {
		return o, nil, fmt.Errorf("no content read for %s", act.Name)
	}
	return o, local, nil
}

// keepBoth gives the server's version the file and saves the local version
// as a new item with its own UID, which the planner then has created.
func (x *Executor) keepBoth(r *itemRun, act plan.Action, o davclient.Object, local []byte, log *zerolog.Event) (*plan.Outcome, error) {
	newUID := act.UID + "-vdird-" + randomToken()
	newName := "vdird-" + vdir.Hash([]byte(newUID))[:16] + x.format().Ext
	data := x.format().ReplaceUID(local, newUID)
	if err := x.writeLocal(newName, data); err != nil {
		return nil, err
	}
	x.Local.Data[newName] = data
	log.Str("copy", newName).Msg("⚠ conflict: kept both, local version is now a new item")
	if err := x.writeLocal(act.Name, o.Data); err != nil {
		return nil, err
	}
	if err := x.keep(r, x.item(act.Href, o.ETag, act.Name, vdir.Hash(o.Data), act.UID, o.Data), act.OldHref); err != nil {
		return nil, err
	}
	r.known = nil // from here on, the run is the new item's
	out := x.outcome(r, act, plan.KeptAsNew)
	out.Local = plan.Local{Name: newName, Hash: vdir.Hash(data), UID: newUID}
	return out, nil
}

// keepCopy saves data as a conflict copy of name, with note beside it,
// unless a copy of name holds exactly these bytes already (the same
// conflict met again, e.g. after a refused write), so a conflict gives
// one copy however often it is met.
func (x *Executor) keepCopy(name string, data []byte, note vdir.ConflictNote) (string, error) {
	copies, err := x.Local.Dir.ConflictCopies()
	if err != nil {
		return "", err
	}
	for _, c := range copies {
		if !strings.HasPrefix(c, name+".conflict-") {
			continue
		}
		if b, _, err := x.Local.Dir.Read(c); err == nil && bytes.Equal(b, data) {
			return c, nil
		}
	}
	c, err := x.Local.Dir.WriteConflictCopy(name, data, x.Now())
	if err != nil {
		return "", err
	}
	if err := x.Local.Dir.WriteConflictNote(c, note); err != nil {
		x.Log.Warn().Err(err).Str("copy", c).Msg("conflict copy kept without its note")
	}
	return c, nil
}

// hrefFor picks the href of a new item of a collection whose item files
// end in ext: the file name when it is plain, otherwise one derived from
// the UID's hash.
func hrefFor(collection, ext, name, uid string) string {
	if plainName(name, ext) {
		return collection + name
	}
	return collection + "vdird-" + vdir.Hash([]byte(uid))[:16] + ext
}

// plainName reports whether a file name can serve as an href segment as it
// is: only characters a path segment never escapes (RFC 3986 unreserved,
// plus '@' and '+').
func plainName(name, ext string) bool {
	if !strings.HasSuffix(name, ext) || len(name) > 120 || strings.HasPrefix(name, ".") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@+", r)) {
			return false
		}
	}
	return true
}

func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
