package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine/conflicts"
	"github.com/vdird/vdird/internal/cli/conflictview"
)

const conflictsHelp = `Lists the conflicts a sync left: an item both sides changed in the same
property (or that could not be merged) keeps the losing version beside its
file as NAME.ics.conflict-YYYYMMDDTHHMMSSZ (NAME.vcf.conflict-… in an
address book). Per conflict: the calendar or address book, the file, its
summary (a contact's name), when the copy was made, and the properties the
two versions hold differently (for merged items, those both sides changed).

"vdird conflicts show FILE" prints the two values of each such property;
"vdird conflicts resolve FILE --keep local|server|both" settles it. FILE is
the item file or its conflict copy: a path, or a path inside local_root or
contacts_root such as work/plan.ics.

Reads only the calendar and address book folders, so it works the same whether a daemon
runs or not.`

const conflictsExample = `  vdird conflicts
  vdird conflicts --json | jq '.[].file'
  vdird conflicts show work/plan.ics
  vdird conflicts resolve work/plan.ics --keep local`

const showHelp = `Shows one conflict property by property: for each property the two
versions hold differently, the server's value and the local one, and,
when the two were merged, the value both started from. FILE is the item
file or its conflict copy.`

const showExample = `  vdird conflicts show ~/.calendars/work/plan.ics
  vdird conflicts show work/plan.ics.conflict-20261203T074233Z`

const resolveHelp = `Settles one conflict and removes its conflict copy:

- --keep local: the file takes the local values of what both sides changed
  (the local version whole when the two were not merged);
- --keep server: the file takes the server's values;
- --keep both: the copy becomes an item of its own with a new UID.

Only the calendar or address book folder is written: the changed file, or the new item,
reaches the server with the next sync, which a running daemon starts
within about a second. A file changed since it was read is left alone.`

const resolveExample = `  vdird conflicts resolve work/plan.ics --keep local
  vdird conflicts resolve work/plan.ics --keep both`

func (a *app) conflictsCommand() *cobra.Command {
	var asJSON bool
	cmd := a.command(helpText{"conflicts [--json]", "list the conflicts waiting to be settled, with the properties they concern", conflictsHelp, conflictsExample},
		noArgs, func(_ context.Context, _ []string) int {
			return a.withConfig(func(cfg *config.Config) int { return conflictview.List(cfg, asJSON, a.stdout, a.stderr) })
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per conflict, instead of a table (default off)")

	show := a.command(helpText{"show FILE", "show one conflict's properties: the server's value and the local one", showHelp, showExample},
		cobra.ExactArgs(1), func(_ context.Context, args []string) int {
			return a.withConfig(func(cfg *config.Config) int { return conflictview.Show(cfg, args[0], a.stdout, a.stderr) })
		})
	var keep string
	resolve := a.command(helpText{"resolve FILE --keep WHAT", "settle one conflict, keeping the local values, the server's or both versions", resolveHelp, resolveExample},
		cobra.ExactArgs(1), func(_ context.Context, args []string) int {
			k, err := conflicts.ParseKeep(keep)
			if err != nil {
				fmt.Fprintf(a.stderr, "vdird: %v\n", err)
				return exitUsage
			}
			return a.withConfig(func(cfg *config.Config) int { return conflictview.Resolve(cfg, args[0], k, a.stdout, a.stderr) })
		})
	resolve.Flags().StringVar(&keep, "keep", "", "keep `WHAT`: local, server or both (required)")
	_ = resolve.MarkFlagRequired("keep")
	_ = resolve.RegisterFlagCompletionFunc("keep", cobra.FixedCompletions([]string{"local", "server", "both"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(show, resolve)
	return cmd
}
