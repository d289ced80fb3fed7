package daemon

import (
	"context"
	"slices"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/restore"
)

// Restore serves `vdird restore` (control.Handler).
func (r *runner) Restore(ctx context.Context, sel restore.Selection) (*restore.Result, error) {
	return r.eng.Restore(ctx, sel)
}

// Forget serves `vdird forget` (control.Handler): the engine waits for the
// pass in flight on each account it changes. After an undo, the worker of
// each account that syncs a collection again runs a pass of it now, as
// `vdird sync` asks, instead of leaving it to the next poll.
func (r *runner) Forget(names []string, undo bool) ([]engine.Forgotten, error) {
	done, err := r.eng.Forget(names, undo)
	r.mu.Lock()
	f := r.fleet
	r.mu.Unlock()
	if !undo || f == nil {
		return done, err
	}
	for _, w := range f.workers {
		if slices.ContainsFunc(done, func(d engine.Forgotten) bool { return d.Account == w.acct.Name && !d.AsBefore }) {
			// Nobody waits for the summaries: the buffered reply keeps the
			// worker from blocking on it.
			w.request(syncRequest{reply: make(chan []*engine.Summary, 1)})
		}
	}
	return done, err
}
