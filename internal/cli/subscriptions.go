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
	code := 0
	for _, r := range subscription.SyncAll(ctx, subs, !named, subscription.Options{DryRun: opts.DryRun,
		AllowMassDelete: opts.AllowMassDelete, MaxDeleteFraction: cfg.MaxDeleteFraction, MaxDeleteMin: cfg.MaxDeleteMin, Log: log}) {
		head := fmt.Sprintf("↓%d ✗%d ⚠%d  → %s", r.Added+r.Updated, r.Removed, len(r.ConflictCopies), r.Dir)
		switch {
		case r.Err != nil:
			head, code = "FAILED: "+r.Err.Error(), 1
		case r.Refused != "":
			head, code = "REFUSED: "+r.Refused, 1
		case !r.NotDue.IsZero():
			head = fmt.Sprintf("not due: next fetch after %s (vdird sync %s fetches it now)", r.NotDue.Local().Format("15:04"), r.Name)
		case opts.DryRun:
			head = fmt.Sprintf("dry run: %d actions", len(r.Planned))
		case r.Unchanged:
			head = "unchanged"
		}
		fmt.Fprintf(w, "%-24s %s\n", r.Name+" (subscription)", head)
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
		if len(r.Problems) > 0 {
			code = 1
		}
	}
	return code
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
