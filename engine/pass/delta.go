package pass

import (
	"context"
	"maps"
	"slices"

	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/remote"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// scopedDelta runs a pass in which only the server changed (the folder is
// exactly as recorded, with the file sum of folder) and the server offers
// a delta from the recorded sync-token. Only the members the delta names,
// and any recorded item sharing a UID with what arrived, are loaded,
// fetched and planned (plan.Input.Partial), so one remote change in a
// calendar of any size costs memory and time in the size of the change.
// done is false when it cannot tell (token refused, delta too big or
// truncated, server error): the caller then runs a full pass, which sorts
// all of that out.
func (p *pass) scopedDelta(ctx context.Context, folder local.Folder) (done bool, err error) {
	dl, ok, err := p.src.ReadDelta(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	d, err := vdir.Open(p.col.Dir, p.fmt.Ext)
	if err != nil {
		return false, nil
	}
	// The folder is as recorded: no file moved.
	return true, p.planScoped(ctx, d, local.Scan{Recorded: folder.Sum}, dl, "scoped pass from the sync-token delta")
}

// scopedLocal runs a pass in which only the folder changed (the change
// marker is as recorded) by edits and new files, not deletions: only the
// files whose fingerprint moved (local.ScanChanged, plus recorded items
// sharing a UID with them) are read and planned, so an edit in a calendar
// of any size costs memory in the size of the change. done is false when
// it cannot tell (a recorded file is missing, temp files, too many
// changes): the caller then runs a full pass, which also handles
// deletions and their guards.
func (p *pass) scopedLocal(ctx context.Context, folder local.Folder) (done bool, err error) {
	d, scan, ok, err := p.scanFolder(folder)
	if err != nil || !ok {
		return err != nil, err
	}
	// The server is as recorded (same change marker): an empty delta, and
	// the recorded token stays.
	return true, p.planScoped(ctx, d, scan, remote.Delta{Token: p.src.Token}, "scoped pass from the folder's changed files")
}

// scopedBoth runs a pass in which both sides changed since the last one:
// the folder only gained or changed files, and the server offers a delta
// from the recorded sync-token, so that a daemon uploading a burst of
// edits while the server also changes does not load a whole calendar per
// poll. done is false when either side cannot be scoped: the caller then
// runs a full pass.
func (p *pass) scopedBoth(ctx context.Context, folder local.Folder) (done bool, err error) {
	d, scan, ok, err := p.scanFolder(folder)
	if err != nil || !ok {
		return err != nil, err
	}
	dl, ok, err := p.src.ReadDelta(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	return true, p.planScoped(ctx, d, scan, dl, "scoped pass from the changed files and the sync-token delta")
}

// scanFolder opens the calendar's folder, whose file sum is folder's, and
// scans it for the files that moved (local.ScanChanged). ok is false when
// a scoped pass cannot tell; err is a state error.
func (p *pass) scanFolder(folder local.Folder) (d *vdir.Dir, scan local.Scan, ok bool, err error) {
	if d, err = vdir.Open(p.col.Dir, p.fmt.Ext); err != nil {
		return nil, scan, false, nil
	}
	scan, ok, err = local.ScanChanged(d, p.env.Store, p.key, folder)
	return d, scan, ok, err
}

// planScoped plans and applies a scoped pass over folder d, the one body
// behind the three scopes: the folder's moved and new files (scan; empty
// when the folder is as recorded) and the server's delta (dl; empty, with
// the recorded token, when the server is as recorded). What is planned is
// the union: the moved files, the members the delta names, and recorded
// items sharing a UID with anything that arrived on either side. Every
// other recorded item is unchanged on both sides (its file was seen with
// its recorded fingerprint, and the delta does not name it).
func (p *pass) planScoped(ctx context.Context, d *vdir.Dir, scan local.Scan, dl remote.Delta, what string) error {
	kn := known{byHref: map[string]state.Item{}, byName: map[string]state.Item{}}
	for _, k := range scan.ChangedKnown {
		kn.byHref[k.Href], kn.byName[k.Name] = k, k
	}
	named, err := p.env.Store.ItemsByHref(p.key, dl.Hrefs())
	if err != nil {
		return err
	}
	maps.Copy(kn.byHref, named)
	rv := p.src.Scoped(kn.byHref, dl)
	if err := p.src.Fetch(ctx, rv, kn.byHref); err != nil {
		return err
	}

	// The folder: the moved and new files as they are now.
	lv := p.localView(d)
	var in plan.Input
	uids := map[string]bool{}
	for _, e := range scan.Changed {
		l := lv.Entry(e, kn.byName)
		if lv.Skipped(l.Name) {
			continue
		}
		in.Local = append(in.Local, l)
		if l.UID != "" {
			uids[l.UID] = true
		}
	}
	for _, u := range rv.UIDs {
		uids[u] = true
	}
	// A UID that arrived on either side may also belong to a recorded item
	// neither side named (a moved or copied item, a duplicate): it is
	// planned too, unchanged on both sides.
	same, err := p.env.Store.ItemsWithUID(p.key, uids)
	if err != nil {
		return err
	}
	for _, it := range same {
		if _, ok := kn.byHref[it.Href]; !ok {
			kn.byHref[it.Href] = it
			rv.ETags[it.Href] = it.ETag
		}
	}
	// Every known item whose file did not move is as recorded.
	for _, h := range slices.Sorted(maps.Keys(kn.byHref)) {
		it := kn.byHref[h]
		in.Known = append(in.Known, apply.KnownOf(it))
		if it.Name == "" {
			continue
		}
		if _, listed := lv.FP[it.Name]; !listed {
			kn.byName[it.Name] = it
			in.Local = append(in.Local, lv.Unchanged(it))
		}
	}
	in.Partial = int(scan.Recorded.N)
	p.log.Debug().Int("files", len(scan.Changed)).Int("changed", len(dl.Changed)).
		Int("deleted", len(dl.Deleted)).Int("planned", len(in.Known)).Msg(what)
	return p.planAndApply(ctx, in, lv, rv, kn, dl.Token, true)
}
