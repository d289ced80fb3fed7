package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/internal/cli/undo"
)

const historyHelp = `Lists the versions of items that sync replaced or deleted, newest first:
when, which calendar, the item's title (SUMMARY, or FN for a contact) and
file, what happened ("deleted on server", "overwritten by local edit",
"removed by mass-delete confirm"…) and the pass that did it. Each is the
item exactly as it was before, kept in the versions store beside the state
file for keep_versions (default 30d); "vdird restore" writes one back.

CALENDAR (a folder name or its URL path) and FILE (a path to an item file,
or just its name) narrow the list, as do --since and --uid. Reads only the
versions store: works the same with or without a running daemon.`

const historyExample = `  vdird history                         # everything kept, newest first
  vdird history work --since 2d         # calendar "work", the last two days
  vdird history ~/calendars/work/standup.ics
  vdird history --uid 3f1c0d2e@example.org --json`

// historyFlags are the flags of vdird history.
type historyFlags struct {
	since, uid string
	asJSON     bool
}

func (a *app) historyCommand() *cobra.Command {
	var hf historyFlags
	cmd := a.command(helpText{"history [CALENDAR] [FILE] [--since WHEN] [--uid UID] [--json]",
		"list the versions of items sync replaced or deleted, newest first", historyHelp, historyExample},
		cobra.MaximumNArgs(2), func(ctx context.Context, args []string) int {
			cfg, _, ok := loadConfig(a.g, a.stderr)
			if !ok {
				return exitUsage
			}
			return undo.History(cfg, hf.since, hf.uid, hf.asJSON, args, a.stdout, a.stderr)
		})
	cmd.ValidArgsFunction = a.completeCalendars
	f := cmd.Flags()
	f.StringVar(&hf.since, "since", "", "only versions replaced since `WHEN`: a duration back from now (90m, 2d, 1w) or a time (2025-03-14 09:30) (default: all)")
	f.StringVar(&hf.uid, "uid", "", "only versions of the item with `UID` (default: all)")
	f.BoolVar(&hf.asJSON, "json", false, "print a JSON array, one object per version, instead of a table (default off)")
	_ = cmd.RegisterFlagCompletionFunc("since", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("uid", cobra.NoFileCompletions)
	return cmd
}
