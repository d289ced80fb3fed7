package cli

import (
	"context"
	"io"
	"slices"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/cli/report"
	"github.com/vdird/vdird/subscription"
)

// pickSubscriptions takes the names of subscriptions out of opts.Calendars.
// It returns the subscriptions a sync looks at (the named ones, or every
// one when no name is given) and whether the accounts are synced too: when
// no name is given and there are accounts, or when a name is left that
// may name a calendar.
func pickSubscriptions(cfg *config.Config, opts *engine.SyncOptions) (subs []*config.Subscription, named, accounts bool) {
	var rest []string
	for i := range cfg.Subscriptions {
		if len(opts.Calendars) == 0 || slices.Contains(opts.Calendars, cfg.Subscriptions[i].Name) {
			subs = append(subs, &cfg.Subscriptions[i])
		}
	}
	for _, name := range opts.Calendars {
		if !slices.ContainsFunc(subs, func(s *config.Subscription) bool { return s.Name == name }) {
			rest = append(rest, name)
		}
	}
	named, opts.Calendars = len(opts.Calendars) > 0, rest
	return subs, named, len(rest) > 0 || !named && len(cfg.Accounts) > 0
}

// syncSubscriptions fetches subs (the named ones at once, else those due)
// and prints a line for each, as calendars' summaries do. It returns the
// exit status: 1 when one failed or was refused.
func syncSubscriptions(ctx context.Context, cfg *config.Config, subs []*config.Subscription, named bool, opts engine.SyncOptions, log zerolog.Logger, w io.Writer) int {
	rs := subscription.SyncAll(ctx, subs, !named, subscription.Options{DryRun: opts.DryRun,
		AllowMassDelete: opts.AllowMassDelete, MaxDeleteFraction: cfg.MaxDeleteFraction, MaxDeleteMin: cfg.MaxDeleteMin, Log: log})
	if report.Fetches(w, rs, opts.DryRun) {
		return exitFailure
	}
	return 0
}
