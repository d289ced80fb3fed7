package engine

import (
	"context"
	"errors"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/setsum"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// maxScopedChanges bounds a scoped pass: a delta naming more members goes
// through a full pass instead.
const maxScopedChanges = 1000

var errBigDelta = errors.New("delta too big for a scoped pass")

// scopedDelta runs a pass in which only the server changed (the folder is
// exactly as recorded, folderSum being its file sum) and the server offers
// a delta from the recorded sync-token. Only the members the delta names,
// and any recorded item sharing a UID with what arrived, are loaded,
// fetched and planned (plan.Input.Partial), so one remote change in a
// calendar of any size costs memory and time in the size of the change.
// done is false when it cannot tell (token refused, delta too big or
// truncated, server error): the caller then runs a full pass, which sorts
// all of that out.
func (p *pass) scopedDelta(ctx context.Context, folderSum setsum.Sum) (done bool, err error) {
	dl, ok, err := p.readDelta(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	if p.d, err = vdir.Open(p.col.Dir); err != nil {
		return false, nil
	}
	// The folder is as recorded: no file moved.
	return true, p.planScoped(ctx, folderScan{recorded: folderSum}, dl, "scoped pass from the sync-token delta")
}

// serverDelta is what a sync-collection from the recorded token reported.
type serverDelta struct {
	changed map[string]string // href → etag
	deleted []string
	token   string // the new token
}

// readDelta asks the server what changed since the recorded sync-token.
// ok is false when a scoped pass cannot rely on the answer (token refused,
// delta too big or truncated or not to be believed, server error): the
// caller then runs a full pass, which sorts all of that out. err is only
// the pass's cancellation.
func (p *pass) readDelta(ctx context.Context) (dl serverDelta, ok bool, err error) {
	dl.changed = map[string]string{}
	token, truncated, err := p.c.SyncCollectionEach(ctx, p.cal.Href, p.col.SyncToken, func(it davclient.Item, gone bool) error {
		if len(dl.changed)+len(dl.deleted) >= maxScopedChanges {
			return errBigDelta
		}
		if gone {
			dl.deleted = append(dl.deleted, it.Href)
			delete(dl.changed, it.Href)
		} else {
			dl.changed[it.Href] = it.ETag
		}
		return nil
	})
	if err != nil || truncated || token == "" {
		if cerr := ctx.Err(); cerr != nil {
			return dl, false, cerr
		}
		if errors.Is(err, davclient.ErrInvalidSyncToken) {
			// Straight to a full listing: the token will not work better.
			p.e.log.Info().Str("calendar", p.s.Calendar).Msg("sync token no longer valid: full listing")
			p.col.SyncToken = ""
		} else if err != nil && !errors.Is(err, errBigDelta) {
			p.e.log.Debug().Str("calendar", p.s.Calendar).Err(err).Msg("delta for a scoped pass failed: full pass")
		}
		return dl, false, nil
	}
	if p.doubtDelta(p.col.SyncToken, token, len(dl.changed)+len(dl.deleted)) {
		// The full pass confirms it with an etag listing.
		p.deltaDoubted = true
		return dl, false, nil
	}
	dl.token = token
	return dl, true, nil
}

// scopedLocal runs a pass in which only the folder changed (the change marker is
// as recorded) by edits and new files, not deletions: the folder is read
// in chunks, each chunk's names looked up in state, and only the files
// whose fingerprint moved (plus recorded items sharing a UID with them)
// are read and planned, so an edit in a calendar of any size costs memory
// in the size of the change. done is false when it cannot tell (a recorded
// file is missing, temp files, too many changes): the caller then runs a
// full pass, which also handles deletions and their guards.
func (p *pass) scopedLocal(ctx context.Context) (done bool, err error) {
	if p.d, err = vdir.Open(p.col.Dir); err != nil {
		return false, nil
	}
	scan, ok, err := p.scanFolder()
	if err != nil || !ok {
		return err != nil, err
	}
	// The server is as recorded (same change marker): an empty delta, and
	// the recorded token stays.
	return true, p.planScoped(ctx, scan, serverDelta{token: p.col.SyncToken}, "scoped pass from the folder's changed files")
}

// scopedBoth runs a pass in which both sides changed since the last one:
// the folder only gained or changed files (scanFolder), and the server
// offers a delta from the recorded sync-token, so that a daemon uploading
// a burst of edits while the server also changes does not load a whole
// calendar per poll. done is false when either side cannot be scoped: the
// caller then runs a full pass.
func (p *pass) scopedBoth(ctx context.Context) (done bool, err error) {
	if p.d, err = vdir.Open(p.col.Dir); err != nil {
		return false, nil
	}
	scan, ok, err := p.scanFolder()
	if err != nil || !ok {
		return err != nil, err
	}
	dl, ok, err := p.readDelta(ctx)
	if err != nil || !ok {
		return err != nil, err
	}
	return true, p.planScoped(ctx, scan, dl, "scoped pass from the changed files and the sync-token delta")
}

// planScoped plans and applies a scoped pass, the one body behind the
// three scopes: the folder's moved and new files (scan; empty when the
// folder is as recorded) and the server's delta (dl; empty, with the
// recorded token, when the server is as recorded). What is planned is the
// union: the moved files, the members the delta names, and recorded items
// sharing a UID with anything that arrived on either side. Every other
// recorded item is unchanged on both sides (its file was seen with its
// recorded fingerprint, and the delta does not name it).
func (p *pass) planScoped(ctx context.Context, scan folderScan, dl serverDelta, what string) error {
	p.known = map[string]state.Item{}
	p.byName = map[string]state.Item{}
	for _, k := range scan.changedKnown {
		p.known[k.Href], p.byName[k.Name] = k, k
	}
	named, err := p.e.store.ItemsByHref(p.key, append(sortedKeys(dl.changed), dl.deleted...))
	if err != nil {
		return err
	}
	for h, it := range named {
		p.known[h] = it
	}
	// The server: each known item as recorded unless the delta says
	// otherwise, plus what the delta adds.
	p.remote = make(map[string]string, len(p.known)+len(dl.changed))
	for h, it := range p.known {
		p.remote[h] = it.ETag
	}
	for _, h := range dl.deleted {
		delete(p.remote, h)
	}
	for h, etag := range dl.changed {
		p.remote[h] = etag
	}
	p.remoteData = map[string]davclient.Object{}
	p.remoteUID = map[string]string{}
	if err := p.fetchChanged(ctx); err != nil {
		return err
	}

	// The folder: the moved and new files as they are now.
	p.localFP = map[string]vdir.Fingerprint{}
	p.localData = map[string][]byte{}
	p.usedNames = map[string]bool{}
	var in plan.Input
	uids := map[string]bool{}
	for _, e := range scan.changed {
		l := p.localEntry(e)
		in.Local = append(in.Local, l)
		if l.UID != "" {
			uids[l.UID] = true
		}
	}
	for _, u := range p.remoteUID {
		uids[u] = true
	}
	// A UID that arrived on either side may also belong to a recorded item
	// neither side named (a moved or copied item, a duplicate): it is
	// planned too, unchanged on both sides.
	same, err := p.e.store.ItemsWithUID(p.key, uids)
	if err != nil {
		return err
	}
	for _, it := range same {
		if _, ok := p.known[it.Href]; !ok {
			p.known[it.Href] = it
			p.remote[it.Href] = it.ETag
		}
	}
	// Every known item whose file did not move is as recorded.
	for _, h := range sortedKeys(p.known) {
		it := p.known[h]
		in.Known = append(in.Known, knownOf(it))
		if it.Name == "" {
			continue
		}
		if _, listed := p.localFP[it.Name]; !listed {
			in.Local = append(in.Local, p.asRecorded(it))
		}
	}
	in.Partial = int(scan.recorded.N)
	p.e.log.Debug().Str("calendar", p.s.Calendar).Int("files", len(scan.changed)).Int("changed", len(dl.changed)).
		Int("deleted", len(dl.deleted)).Int("planned", len(in.Known)).Msg(what)
	return p.planAndApply(ctx, in, dl.token, true)
}

// folderScan is what scanFolder found in a folder that only gained or
// changed files since the last pass.
type folderScan struct {
	changed      []vdir.Entry          // new files, or recorded ones whose fingerprint moved
	changedKnown map[string]state.Item // the recorded items of moved files, by name
	recorded     setsum.Sum            // state's sum of the recorded files
}

// scanFolder reads the folder (p.d) in chunks and looks each chunk's names
// up in state, keeping only the files whose fingerprint moved and new ones,
// so memory follows the change, not the folder. When this pass has the
// folder's sum by shard (folderAsRecorded), only the files of the shards
// whose sum differs from state's are looked up: the others hold exactly
// the recorded files. With 256 shards, one edit in a 100k-item folder
// costs about 400 lookups instead of 100,000 (0.8 s of state reads in a
// measurement of that size). ok is false when a scoped pass cannot tell (a
// recorded file is missing, temp files, too many changes); err is a state
// error.
func (p *pass) scanFolder() (scan folderScan, ok bool, err error) {
	if scan.recorded, err = p.e.store.FileSum(p.key); err != nil {
		return scan, false, err
	}
	scan.changedKnown = map[string]state.Item{}
	var (
		seenKnown   int64 // recorded files found
		expectKnown = scan.recorded.N
		look        *[setsum.ShardCount]bool // nil: every shard
		chunk       []vdir.Entry
	)
	if p.folderShards != nil {
		recorded, err := p.e.store.FileShards(p.key)
		if err != nil {
			return scan, false, err
		}
		look, expectKnown = new([setsum.ShardCount]bool), 0
		for _, i := range p.folderShards.Differ(&recorded) {
			look[i] = true
			expectKnown += recorded[i].N
		}
	}
	check := func() error {
		names := make([]string, len(chunk))
		for i, e := range chunk {
			names[i] = e.Name
		}
		p.e.scanLookups.Add(int64(len(names)))
		known, err := p.e.store.ItemsByName(p.key, names)
		if err != nil {
			return err
		}
		for _, e := range chunk {
			k, ok := known[e.Name]
			if ok {
				seenKnown++
				if sameFP(k.Fingerprint, e.Fingerprint) {
					continue
				}
				scan.changedKnown[e.Name] = k
			}
			if scan.changed = append(scan.changed, e); len(scan.changed) > maxScopedChanges {
				return errBigDelta
			}
		}
		chunk = chunk[:0]
		return nil
	}
	var want func(string) bool
	if look != nil {
		want = func(name string) bool { return look[setsum.ShardOf(name)] }
	}
	temps, err := p.d.EachNamed(want, func(e vdir.Entry) error {
		if chunk = append(chunk, e); len(chunk) == 512 {
			return check()
		}
		return nil
	})
	if err == nil {
		err = check()
	}
	if err != nil && !errors.Is(err, errBigDelta) {
		return scan, false, err
	}
	if err != nil || temps || seenKnown != expectKnown {
		return scan, false, nil // too big, crash leftovers, or a recorded file is gone
	}
	return scan, true, nil
}

// knownOf is the planner's view of a recorded item.
func knownOf(it state.Item) plan.Known {
	return plan.Known{Href: it.Href, ETag: it.ETag, Name: it.Name, Hash: it.Hash, UID: it.UID}
}

// asRecorded takes a recorded item's file as unchanged (the caller knows
// it is) into the pass and returns the planner's view of it.
func (p *pass) asRecorded(it state.Item) plan.Local {
	p.byName[it.Name] = it
	p.localFP[it.Name] = vdir.Fingerprint(it.Fingerprint)
	p.usedNames[it.Name] = true
	return plan.Local{Name: it.Name, Hash: it.Hash, UID: it.UID}
}
