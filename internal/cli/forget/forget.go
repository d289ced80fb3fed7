// Package forget runs `vdird forget`: it has a running daemon forget the
// calendars named, through its control socket, or forgets them in the
// state file itself when no daemon runs. Forgetting changes state alone:
// no file, no request to a server.
package forget

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/state"
)

// The exit statuses of vdird forget, as the other commands have them.
const (
	exitFailure = 1
	exitUsage   = 2 // a name that denotes no calendar, or several
)

// Command is vdird forget: it forgets the collections names denote, or
// with undo has them synced again, prints a line for each to stdout and
// returns the exit status.
func Command(ctx context.Context, cfg *config.Config, log zerolog.Logger, names []string, undo bool, stdout, stderr io.Writer) int {
	err := Run(ctx, cfg, log, names, undo, stdout)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "vdird: %v\n", err)
	var unknown *engine.UnknownCalendarError
	var ambiguous *engine.AmbiguousCalendarError
	if errors.As(err, &unknown) || errors.As(err, &ambiguous) {
		return exitUsage
	}
	return exitFailure
}

// Run forgets the collections names denote (engine.Engine.Forget), or
// with undo has them synced again, and prints a line for each to w. A
// name that denotes nothing gives an *engine.UnknownCalendarError, one
// that denotes several collections an *engine.AmbiguousCalendarError, and
// either changes nothing.
func Run(ctx context.Context, cfg *config.Config, log zerolog.Logger, names []string, undo bool, w io.Writer) error {
	done, err := control.Forget(ctx, control.SocketPath(cfg.StatePath), names, undo)
	byDaemon := !errors.Is(err, control.ErrNoDaemon)
	if !byDaemon {
		done, err = direct(cfg, log, names, undo)
	}
	for _, f := range done {
		fmt.Fprintln(w, line(f, undo, byDaemon))
	}
	return err
}

// direct forgets in the state file, which no daemon holds.
func direct(cfg *config.Config, log zerolog.Logger, names []string, undo bool) ([]engine.Forgotten, error) {
	store, err := state.Open(cfg.StatePath)
	if errors.Is(err, state.ErrLocked) {
		return nil, fmt.Errorf("%w, and no daemon answers on its control socket: run vdird forget again when that sync ends; nothing was changed", err)
	}
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return engine.NewEngine(cfg, store, log).Forget(names, undo)
}

// line says what became of f.
func line(f engine.Forgotten, undo, byDaemon bool) string {
	name := cmp.Or(f.Name, f.Calendar) // with its account when another has one of that name
	switch {
	case undo && f.AsBefore:
		return name + ": not forgotten, nothing to undo"
	case undo && byDaemon:
		return fmt.Sprintf("%s: synced again by a daemon pass starting now, %s matched with the server by UID", name, f.Dir)
	case undo:
		return fmt.Sprintf("%s: synced again from the next vdird sync, %s matched with the server by UID", name, f.Dir)
	case f.AsBefore:
		return name + ": forgotten already"
	}
	return fmt.Sprintf("%s: forgotten; its folder %s is left as it is, and no pass syncs it until vdird forget --undo %s", name, f.Dir, name)
}
