package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
)

// pruneEvery is how often the daemon prunes the versions store, after a
// first prune once the first reconcile is done.
const pruneEvery = time.Hour

// startPrune starts the goroutine that removes versions past their
// retention (keep_versions, versions_max_size) in the daemon's idle time:
// once after the first reconcile, then every pruneEvery. Prune holds the
// store's lock only for short steps, so a pass saving versions meanwhile
// barely waits. The returned function waits for the goroutine, which ends
// with ctx.
func (r *runner) startPrune(ctx context.Context) (wait func()) {
	if r.eng.Versions == nil {
		return func() {}
	}
	r.mu.Lock()
	first := r.fleet.firstDone
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(pruneEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-first:
				first = nil
			case <-t.C:
			}
			r.prune(ctx)
		}
	}()
	return wg.Wait
}

func (r *runner) prune(ctx context.Context) {
	start := time.Now()
	rep, err := r.eng.Versions.Prune(ctx, start)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error().Err(err).Msg("pruning the versions store")
		}
		return
	}
	ev := r.log.Debug()
	if rep.Removed > 0 {
		ev = r.log.Info()
	}
	ev.Int("removed", rep.Removed).Str("freed", humanize.Bytes(uint64(rep.Freed))).Int("kept", rep.Kept).
		Str("kept_size", humanize.Bytes(uint64(rep.KeptBytes))).Dur("took", time.Since(start).Round(time.Millisecond)).
		Msg("versions pruned")
}
