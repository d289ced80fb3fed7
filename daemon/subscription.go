package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/subscription"
)

// startSubscriptions starts one worker per subscription of the fleet's
// config. The fleet owns them: they stop when it is cancelled, after the
// fetch in flight.
func (r *runner) startSubscriptions(ctx context.Context, f *fleet) {
	for i := range f.cfg.Subscriptions {
		w := &subWorker{r: r, cfg: f.cfg, sub: &f.cfg.Subscriptions[i],
			log: r.log.With().Str("subscription", f.cfg.Subscriptions[i].Name).Logger()}
		f.wg.Add(1)
		go func() { defer f.wg.Done(); w.run(ctx) }()
	}
}

// subWorker fetches one subscription's feed when it is due: its interval
// after the last fetch (by this daemon or a `vdird sync`), at once when it
// was never fetched, and after an error with the accounts' backoff.
type subWorker struct {
	r   *runner
	cfg *config.Config
	sub *config.Subscription
	log zerolog.Logger
}

func (w *subWorker) run(ctx context.Context) {
	failures := 0
	var retry time.Time
	for {
		t := time.NewTimer(w.wait(failures, retry))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if failures == 0 && w.fetchedMeanwhile() {
			continue
		}
		err := w.fetch()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			d := max(backoff(w.sub.Interval, failures, err), subscription.RetryAfter(err))
			retry = time.Now().Add(d)
			w.log.Error().Err(err).Int("failures", failures).Dur("retry_in", d.Round(time.Millisecond)).Msg("fetch failed: backing off")
		default:
			if failures > 0 {
				w.log.Info().Msg("fetch works again")
			}
			failures = 0
		}
	}
}

// wait is how long until the next fetch.
func (w *subWorker) wait(failures int, retry time.Time) time.Duration {
	if failures > 0 {
		return max(time.Until(retry), 0)
	}
	next, err := subscription.NextFetch(w.sub)
	if err != nil {
		w.log.Error().Err(err).Msg("reading the subscription's record")
		return jitter(w.sub.Interval)
	}
	return max(jitter(time.Until(next)), 0)
}

// fetchedMeanwhile tells whether a `vdird sync` fetched the feed while
// the worker waited: the next fetch is then further away than the jitter
// of the wait can explain.
func (w *subWorker) fetchedMeanwhile() bool {
	next, err := subscription.NextFetch(w.sub)
	return err == nil && time.Now().Before(next.Add(-w.sub.Interval/10))
}

// fetch runs one fetch and logs what it did; its error is the one that
// should slow the worker down.
func (w *subWorker) fetch() error {
	start := time.Now()
	res := subscription.Sync(w.r.passCtx, w.sub, subscription.Options{
		MaxDeleteFraction: w.cfg.MaxDeleteFraction, MaxDeleteMin: w.cfg.MaxDeleteMin, Log: w.log})
	if res.Err != nil {
		if errors.Is(res.Err, context.Canceled) {
			return nil
		}
		return res.Err
	}
	ev := w.log.Debug()
	switch {
	case res.Refused != "" || len(res.Problems) > 0:
		ev = w.log.Warn().Str("refused", res.Refused).Strs("problems", res.Problems)
	case !res.Unchanged || len(res.Local) > 0:
		ev = w.log.Info()
	}
	ev.Dur("took", time.Since(start).Round(time.Millisecond)).Bool("not_modified", res.NotModified).
		Int("written", res.Added+res.Updated).Int("removed", res.Removed).Strs("conflict_copies", res.ConflictCopies).
		Strs("local", res.Local).Msg("subscription fetched")
	return nil
}
