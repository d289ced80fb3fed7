package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/internal/cli/undo"
)

const restoreHelp = `Writes kept versions (see "vdird history") back into the calendar folders,
as local changes: the next sync uploads them with the usual preconditions,
so a restore reaches the server like an edit made in khal would.

- restore FILE [--at WHEN]: one item, its newest version replaced at or
  before WHEN (default: its newest). --uid UID names the item instead.
- restore --pass ID [CALENDAR]: everything that pass replaced or deleted
  (the PASS column of "vdird history"), each item as it was before it.
- restore CALENDAR --since WHEN: everything replaced or deleted in the
  calendar since WHEN, each item as it was before its first change since.

An item goes back into the file that holds its UID now, so it is never
duplicated; an item with no file gets its old name back. A file that a
restore replaces is kept as a version first ("overwritten by restore"), so a
restore can be undone too. A file edited since the versions it would
undo (a change not synced yet, an item deleted and made again, a later
version) is left alone unless --force is given.

With a daemon running, the daemon does the restore (through its control
socket) and its folder watcher uploads the files within seconds. Without
one, run "vdird sync" afterwards, or give --sync. Exits 0 when every item
is restored or was as it was already, 1 otherwise.`

const restoreExample = `  vdird restore ~/calendars/work/standup.ics                   # its newest version
  vdird restore ~/calendars/work/standup.ics --at '2025-03-14 09:00'
  vdird restore work --since 1h --sync          # undo the last hour in "work", upload now
  vdird restore --pass 20250314T092653Z-3f9a1c  # undo what one pass removed`

// restoreFlags are the flags of vdird restore.
type restoreFlags struct {
	undo.Flags
	sync bool
}

func (a *app) restoreCommand() *cobra.Command {
	var rf restoreFlags
	cmd := a.command(helpText{"restore [FILE | CALENDAR] [--at WHEN | --since WHEN | --pass ID | --uid UID] [--force] [--sync]",
		"write kept versions back into the folders, to be uploaded as local changes", restoreHelp, restoreExample},
		cobra.MaximumNArgs(2), func(ctx context.Context, args []string) int {
			cfg, log, ok := loadConfig(a.g, a.stderr)
			if !ok {
				return exitUsage
			}
			return undo.Restore(ctx, cfg, log, rf.Flags, rf.sync, args, a.stdout, a.stderr)
		})
	cmd.ValidArgsFunction = a.completeCalendars
	f := cmd.Flags()
	f.StringVar(&rf.At, "at", "", "restore one item's newest version replaced at or before `WHEN`: a duration back from now (2h, 1d) or a time (2025-03-14 09:30) (default: its newest)")
	f.StringVar(&rf.Since, "since", "", "restore everything replaced since `WHEN`, each item as it was before its first change since (default: none)")
	f.StringVar(&rf.Pass, "pass", "", "restore everything the pass `ID` replaced (see vdird history) (default: none)")
	f.StringVar(&rf.UID, "uid", "", "restore the item with `UID` (default: the FILE given)")
	f.BoolVar(&rf.Force, "force", false, "replace files edited since the versions restored, keeping them as versions (default off)")
	f.BoolVar(&rf.sync, "sync", false, "run a sync pass of the calendars restored into afterwards (default off)")
	for _, name := range []string{"at", "since", "pass", "uid"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}
