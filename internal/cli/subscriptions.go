package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/subscription"
)

// pickSubscriptions takes the names of subscriptions out of opts.Calendars.
// It returns the subscriptions a sync looks at (the named ones, or every
// one when no name is given) and whether the accounts are synced too: when
// no name is given and there are accounts, or when a name is left that
// may name a calendar.
func pickSubscriptions(cfg *config.Config, opts *engine.SyncOptions) (subs []*config.Subscription, forced, accounts bool) {
	if len(opts.Calendars) == 0 {
		for i := range cfg.Subscriptions {
			subs = append(subs, &cfg.Subscriptions[i])
		}
		return subs, false, len(cfg.Accounts) > 0
	}
	var rest []string
	for _, name := range opts.Calendars {
		i := slices.IndexFunc(cfg.Subscriptions, func(s config.Subscription) bool { return s.Name == name })
		switch {
		case i < 0:
			rest = append(rest, name)
		case !slices.Contains(subs, &cfg.Subscriptions[i]):
			subs = append(subs, &cfg.Subscriptions[i])
		}
	}
	opts.Calendars = rest
	return subs, true, len(rest) > 0
}

// syncSubscriptions fetches subs (only those due unless forced: named on
// the command line) and prints a line for each. It returns the exit
// status: 1 when one failed or was refused.
func syncSubscriptions(ctx context.Context, cfg *config.Config, subs []*config.Subscription, forced bool, opts engine.SyncOptions, log zerolog.Logger, w io.Writer) int {
	code := 0
	for _, sub := range subs {
		if ctx.Err() != nil {
			return 1
		}
		name := sub.Name + " (subscription)"
		if !forced {
			next, err := subscription.NextFetch(sub)
			if err != nil {
				fmt.Fprintf(w, "%-24s FAILED: %v\n", name, err)
				code = 1
				continue
			}
			if time.Now().Before(next) {
				fmt.Fprintf(w, "%-24s not due: next fetch after %s (vdird sync %s fetches it now)\n", name, next.Local().Format("15:04"), sub.Name)
				continue
			}
		}
		res := subscription.Sync(ctx, sub, subscription.Options{DryRun: opts.DryRun, AllowMassDelete: opts.AllowMassDelete,
			MaxDeleteFraction: cfg.MaxDeleteFraction, MaxDeleteMin: cfg.MaxDeleteMin, Log: log})
		printSubscription(w, name, res, opts.DryRun)
		if res.Failed() {
			code = 1
		}
	}
	return code
}

// printSubscription prints what a fetch did as calendars' summaries do.
func printSubscription(w io.Writer, name string, r *subscription.Result, dry bool) {
	head := fmt.Sprintf("↓%d ✗%d ⚠%d  → %s", r.Added+r.Updated, r.Removed, len(r.ConflictCopies), r.Dir)
	switch {
	case r.Err != nil:
		head = "FAILED: " + r.Err.Error()
	case r.Refused != "":
		head = "REFUSED: " + r.Refused
	case dry:
		head = fmt.Sprintf("dry run: %d actions", len(r.Planned))
	case r.Unchanged:
		head = "unchanged"
	}
	fmt.Fprintf(w, "%-24s %s\n", name, head)
	for _, c := range r.Planned {
		fmt.Fprintf(w, "    %-13s %s %s\n", c.Kind, c.Name, c.Reason)
	}
	for _, group := range []struct {
		label string
		lines []string
	}{{"note", r.Notes}, {"local", r.Local}, {"problem", r.Problems}, {"conflict copy", r.ConflictCopies}} {
		for _, l := range group.lines {
			fmt.Fprintf(w, "    %s: %s\n", group.label, l)
		}
	}
}

// subscriptionStatus reads the status of every subscription.
func subscriptionStatus(cfg *config.Config) ([]subscription.Status, error) {
	var out []subscription.Status
	for i := range cfg.Subscriptions {
		st, err := subscription.StatusOf(&cfg.Subscriptions[i])
		if err != nil {
			return nil, fmt.Errorf("subscription %s: %w", cfg.Subscriptions[i].Name, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// printSubscriptionStatus prints a table of the subscriptions, with their
// problems and conflict copies below it.
func printSubscriptionStatus(w io.Writer, subs []subscription.Status, now time.Time) {
	if len(subs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBSCRIPTION\tLAST FETCH\tITEMS\tLOCAL CHANGES\tLAST ERROR")
	for _, s := range subs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Subscription, when(s.LastFetch, now), s.Items, s.LocalChanges, errorText(s.LastError, s.Refused))
	}
	tw.Flush()
	for _, s := range subs {
		for _, p := range s.Problems {
			fmt.Fprintf(w, "subscription %s: %s\n", s.Subscription, oneLine(p))
		}
		for _, c := range s.ConflictFiles {
			fmt.Fprintf(w, "conflict copy: %s/%s\n", s.Dir, c)
		}
	}
}
