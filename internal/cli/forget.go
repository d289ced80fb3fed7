package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	forgetpkg "github.com/vdird/vdird/internal/cli/forget"
)

const forgetHelp = `Clears what vdird remembers of the calendars or address books named (a
folder name, display name, URL path or its last segment), which ends the
"no longer on the server" report of one deleted there. No file is deleted
and nothing is sent to the server; one still on the server and selected by
the config is synced again at the next pass, matched by UID. With the daemon
running (it holds the state) this changes nothing and exits 1: stop it first.
Exits 2 when a NAME matches no known calendar, forgetting nothing.`

const forgetExample = `  vdird forget work          # a folder name
  vdird forget "Old events"  # a display name`

func (a *app) forgetCommand() *cobra.Command {
	cmd := a.command(helpText{"forget NAME...",
		"forget a calendar's sync state, keeping its folder and the server's calendar", forgetHelp, forgetExample},
		cobra.MinimumNArgs(1), func(_ context.Context, names []string) int {
			return a.withConfig(func(cfg *config.Config) int { return forget(cfg, names, a.stdout, a.stderr) })
		})
	cmd.ValidArgsFunction = a.completeCalendars
	return cmd
}

// forget clears the state of the collections names denote.
func forget(cfg *config.Config, names []string, stdout, stderr io.Writer) int {
	err := forgetpkg.Run(cfg.StatePath, names, stdout)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "vdird: %v\n", err)
	var unknown *forgetpkg.UnknownError
	if errors.As(err, &unknown) {
		return exitUsage
	}
	return exitFailure
}
