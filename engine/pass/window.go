package pass

import (
	"context"

	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/remote"
)

// findOutside looks up, in a calendar the configuration narrows, the
// UIDs of new files (in locals) that no member of rv holds: their item
// may be on the server outside the window or among the types left out
// (a folder another syncer filled, a file copied back). Found, it meets
// the file as one item, which the planner records or settles as a
// conflict, instead of a create that the server refuses or duplicates.
func (p *pass) findOutside(ctx context.Context, locals []plan.Local, lv *local.View, rv *remote.View, kn known) error {
	if !p.scope.Narrowed() {
		return nil
	}
	held := map[string]bool{}
	for _, u := range rv.UIDs {
		held[u] = true
	}
	for h := range rv.ETags {
		if it, ok := kn.byHref[h]; ok {
			held[it.UID] = true
		}
	}
	uids := map[string]string{}
	for _, l := range locals {
		if _, ok := kn.byName[l.Name]; ok || l.UID == "" || l.Invalid != "" || held[l.UID] {
			continue
		}
		if info, err := p.fmt.Inspect(lv.Data[l.Name]); err == nil {
			uids[l.UID] = info.Component
		}
	}
	if len(uids) == 0 {
		return nil
	}
	return p.src.FindUIDs(ctx, rv, kn.byHref, uids)
}
