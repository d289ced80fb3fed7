package daemon

import (
	"context"
	"errors"

	"github.com/vdird/vdird/daemon/plan"
	"github.com/vdird/vdird/davclient"
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
	changed := map[string]string{} // href → etag
	var deleted []string
	token, truncated, err := p.c.SyncCollectionEach(ctx, p.cal.Href, p.col.SyncToken, func(it davclient.Item, gone bool) error {
		if len(changed)+len(deleted) >= maxScopedChanges {
			return errBigDelta
		}
		if gone {
			deleted = append(deleted, it.Href)
			delete(changed, it.Href)
		} else {
			changed[it.Href] = it.ETag
		}
		return nil
	})
	if err != nil || truncated || token == "" {
		if cerr := ctx.Err(); cerr != nil {
			return true, cerr
		}
		if errors.Is(err, davclient.ErrInvalidSyncToken) {
			// Straight to a full listing: the token will not work better.
			p.e.log.Info().Str("calendar", p.s.Calendar).Msg("sync token no longer valid: full listing")
			p.col.SyncToken = ""
		} else if err != nil && !errors.Is(err, errBigDelta) {
			p.e.log.Debug().Str("calendar", p.s.Calendar).Err(err).Msg("delta for a scoped pass failed: full pass")
		}
		return false, nil
	}
	if p.d, err = vdir.Open(p.col.Dir); err != nil {
		return false, nil
	}

	hrefs := append(sortedKeys(changed), deleted...)
	known, err := p.e.store.ItemsByHref(p.key, hrefs)
	if err != nil {
		return true, err
	}
	p.known = known
	p.remote = make(map[string]string, len(changed))
	for h, etag := range changed {
		p.remote[h] = etag
	}
	p.remoteData = map[string]davclient.Object{}
	p.remoteUID = map[string]string{}
	if err := p.fetchChanged(ctx); err != nil {
		return true, err
	}
	// A UID that arrived may also belong to an item the delta did not name
	// (an item moved to a new href, or a duplicate): plan those together.
	uids := map[string]bool{}
	for _, u := range p.remoteUID {
		uids[u] = true
	}
	same, err := p.e.store.ItemsWithUID(p.key, uids)
	if err != nil {
		return true, err
	}
	for _, it := range same {
		if _, ok := p.known[it.Href]; !ok {
			p.known[it.Href] = it
			if _, named := changed[it.Href]; !named {
				p.remote[it.Href] = it.ETag // not in the delta: unchanged there
			}
		}
	}

	// The folder is as recorded, so each known item's file is too.
	p.byName = make(map[string]state.Item, len(p.known))
	p.localFP = make(map[string]vdir.Fingerprint, len(p.known))
	p.localData = map[string][]byte{}
	p.usedNames = make(map[string]bool, len(p.known))
	in := plan.Input{Partial: int(folderSum.N)}
	for _, h := range sortedKeys(p.known) {
		it := p.known[h]
		in.Known = append(in.Known, plan.Known{Href: it.Href, ETag: it.ETag, Name: it.Name, Hash: it.Hash, UID: it.UID})
		if it.Name == "" {
			continue
		}
		p.byName[it.Name] = it
		p.localFP[it.Name] = vdir.Fingerprint(it.Fingerprint)
		p.usedNames[it.Name] = true
		in.Local = append(in.Local, plan.Local{Name: it.Name, Hash: it.Hash, UID: it.UID})
	}
	p.e.log.Debug().Str("calendar", p.s.Calendar).Int("changed", len(changed)).Int("deleted", len(deleted)).
		Int("planned", len(in.Known)).Msg("scoped pass from the sync-token delta")
	p.e.scopedPasses.Add(1)
	if err := p.planAndApply(ctx, in, token, true); err != nil {
		return true, err
	}
	return true, nil
}
