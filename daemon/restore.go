package daemon

import (
	"context"

	"github.com/vdird/vdird/engine/restore"
)

// Restore serves `vdird restore` (control.Handler).
func (r *runner) Restore(ctx context.Context, sel restore.Selection) (*restore.Result, error) {
	return r.eng.Restore(ctx, sel)
}
