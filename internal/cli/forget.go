package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/internal/cli/forget"
)

const forgetHelp = `Stops syncing the calendars or address books named (a folder name, display
name, URL path or its last segment; ACCOUNT/NAME for one account's; the
folder's absolute path for a calendar and an address book of one name) until
"vdird forget --undo NAME": what vdird remembers of their items is cleared,
and every later pass leaves them alone, whether the server still has them or
not. For one deleted on the server this ends its "no longer on the server"
report. No file is deleted and nothing is sent; the folder stays, and never
becomes a new calendar on the server.

With --undo, the next pass syncs them again as at a first contact, matching
the folder's items and the server's by UID: nothing is duplicated. With the
daemon running, the daemon does it through its control socket, and runs
that pass at once. Exits 2, changing nothing, when a NAME matches no
calendar vdird knows, or several.`

const forgetExample = `  vdird forget work            # a folder name
  vdird forget "Old events"    # a display name
  vdird forget home/work       # the folder work of the account home
  vdird forget ~/.contacts/personal  # the address book, not the calendar
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
