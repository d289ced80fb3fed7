package daemon

import (
	"context"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/restore"
)

// Restore serves `vdird restore` (control.Handler).
func (r *runner) Restore(ctx context.Context, sel restore.Selection) (*restore.Result, error) {
	return r.eng.Restore(ctx, sel)
}

// Forget serves `vdird forget` (control.Handler): the engine waits for the
// pass in flight on each account it changes.
func (r *runner) Forget(names []string, undo bool) ([]engine.Forgotten, error) {
	return r.eng.Forget(names, undo)
}
