package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/internal/cli/forget"
)

const forgetHelp = `Stops syncing the calendars or address books named (a folder name, display
name, URL path or its last segment) until "vdird forget --undo NAME": what
vdird remembers of their items is cleared, and every later pass leaves them
alone, whether the server still has them or not. For one deleted on the
server this ends its "no longer on the server" report. No file is deleted
and nothing is sent to the server; the folder stays where it is, and a new
calendar is never made from it on the server.

With --undo, the next pass syncs them again as at a first contact: the items
of the folder and the server's are matched by UID, so nothing is downloaded
twice or duplicated.

With the daemon running, the daemon does it (through its control socket),
between its passes. Exits 2 when a NAME matches no calendar vdird knows,
changing nothing.`

const forgetExample = `  vdird forget work            # a folder name
  vdird forget "Old events"    # a display name
  vdird forget --undo work     # sync it again`

func (a *app) forgetCommand() *cobra.Command {
	var undo bool
	cmd := a.command(helpText{"forget NAME... [--undo]",
		"stop syncing a calendar, keeping its folder and the server's calendar", forgetHelp, forgetExample},
		cobra.MinimumNArgs(1), func(ctx context.Context, names []string) int {
			cfg, log, ok := loadConfig(a.g, a.stderr)
			if !ok {
				return exitUsage
			}
			return forget.Command(ctx, cfg, log, names, undo, a.stdout, a.stderr)
		})
	cmd.Flags().BoolVar(&undo, "undo", false, "sync the calendars named again, from a first contact (default off)")
	cmd.ValidArgsFunction = a.completeCalendars
	return cmd
}
