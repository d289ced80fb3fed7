package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vdird/vdird/engine/merge"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/vdir"
)

// The three-way merge of an item changed on both sides. A Merge action
// merges the local version with the server's against the base, in memory;
// plan.Next turns what that gave into a Merged action (or, for versions
// that cannot be merged, the conflict policy), which writes it.

// merging is one item's merge, kept for the Merged action that writes it.
type merging struct {
	base, local, server []byte
	result              merge.Result
}

// merge merges the local version of act's item with the server's version
// at act.Href against the base that state recorded, and returns what it
// gave for plan.Next. Nothing is written.
func (x *Executor) merge(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	o, local, err := x.bothVersions(ctx, act)
	if err != nil {
		return nil, err
	}
	base, err := x.base(r)
	if err != nil {
		return nil, err
	}
	out := x.outcome(r, act, plan.MergeDone)
	out.Server = &plan.Version{Href: act.Href, ETag: o.ETag, Hash: vdir.Hash(o.Data), UID: act.UID}
	m := &merging{base: base, local: local, server: o.Data}
	r.merge = nil
	if base == nil {
		out.Merge = &plan.MergeResult{Failed: "no last synced version recorded"}
		return out, nil
	}
	policy := merge.ServerWins
	if act.Winner == plan.LocalSide {
		policy = merge.LocalWins
	}
	m.result, err = x.format().Merge(base, local, o.Data, policy)
	if err != nil {
		out.Merge = &plan.MergeResult{Failed: strings.TrimPrefix(err.Error(), merge.ErrCannotMerge.Error()+": ")}
		return out, nil
	}
	r.merge = m
	out.Merge = &plan.MergeResult{Hash: vdir.Hash(m.result.Data), Conflicts: conflictNames(m.result.Conflicts),
		LocalChanged: m.result.LocalChanged, RemoteChanged: m.result.RemoteChanged}
	return out, nil
}

// base is the last synced version of r's item, nil when state holds none.
func (x *Executor) base(r *itemRun) ([]byte, error) {
	if r.known == nil {
		return nil, nil
	}
	it, ok, err := x.Rec.Store.Item(x.Rec.Key, r.known.Href)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if !ok || it.Hash != r.known.Hash || len(it.Base) == 0 {
		return nil, nil
	}
	return it.Base, nil
}

// conflictNames names the properties of a merge's conflicts, each once:
// a property, or a component deleted on one side and changed on the other.
func conflictNames(cs []merge.Conflict) []string {
	var out []string
	for _, c := range cs {
		name := c.Property
		if name == "" {
			name, _, _ = strings.Cut(c.Component, " ")
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// merged writes the merged version of act's item: the losing side of the
// properties both sides changed is kept as a conflict copy first, then the
// merged version goes into the file and to the server as act says.
func (x *Executor) merged(ctx context.Context, r *itemRun, act plan.Action) (*plan.Outcome, error) {
	m := r.merge
	if m == nil || vdir.Hash(m.result.Data) != act.Hash {
		return nil, errors.New("the merged version is not at hand: left for the next pass")
	}
	if !r.merged {
		r.merged = true
		x.Report.Merged++
	}
	log := x.Log.Info().Str("file", act.Name)
	if act.Conflicts != "" {
		if !r.conflicted {
			r.conflicted = true
			x.Report.Conflicts++
		}
		loser, side := m.local, vdir.LocalVersion
		if act.Winner == plan.LocalSide {
			loser, side = m.server, vdir.ServerVersion
		}
		copyName, err := x.keepCopy(act.Name, loser, vdir.ConflictNote{Side: side, Name: act.Name, Base: m.base})
		if err != nil {
			return nil, err
		}
		log = x.Log.Warn().Str("file", act.Name).Str("copy", copyName).Str("properties", act.Conflicts)
	}
	if act.Write {
		if err := x.keepLocalBeforeMerge(ctx, r, act); err != nil {
			return nil, err
		}
		if err := x.writeLocal(act.Name, m.result.Data); err != nil {
			return nil, err
		}
		x.Local.Data[act.Name] = m.result.Data
	}
	log.Bool("upload", act.Put).Msg("⇄ merged the edits of both sides")
	if act.Put {
		return x.put(ctx, r, act)
	}
	return nil, x.keep(r, x.item(act.Href, act.ETag, act.Name, act.Hash, act.UID, m.result.Data), act.OldHref)
}

// Foresee is what the plan acts does, as a dry run lists it: each Merge
// is merged in memory, as a run merges it, and replaced by the action
// plan.Next gives for what the merge gave. Nothing is written.
func (x *Executor) Foresee(ctx context.Context, acts []plan.Action) ([]plan.Action, error) {
	out := slices.Clone(acts)
	for i, act := range out {
		if act.Kind != plan.Merge {
			continue
		}
		r := x.run(act)
		o, err := x.merge(ctx, r, act)
		switch {
		case errors.Is(err, ErrState) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil, err
		case err != nil:
			out[i] = plan.Action{Kind: plan.Report, Href: act.Href, Name: act.Name, UID: act.UID, Reason: err.Error()}
		default:
			out[i] = plan.Next(*o)
		}
	}
	return out, nil
}
