package engine

import (
	"context"

	"github.com/vdird/vdird/engine/restore"
)

// Restore writes the kept versions sel selects back into their folders
// (package restore), with what state records of each folder; the next
// pass uploads them. It needs Versions.
func (e *Engine) Restore(ctx context.Context, sel restore.Selection) (*restore.Result, error) {
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	return restore.Run(ctx, restore.Env{Config: cfg, State: e.store, Versions: e.Versions, Now: e.Now}, sel)
}
