package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/cli/report"
	"github.com/vdird/vdird/internal/cli/undo"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/subscription"
)

const daemonHelp = `Runs continuously: one full reconcile of every configured calendar, then

- polls each account every "interval" (default 60s, ±10%); a poll with no
  change costs one request; errors, an unreachable server included, back off
  exponentially and honour Retry-After;
- watches the local folders and pushes a saved file within about a second;
- rescans everything every "rescan_interval" (default 15m) and after the
  kernel dropped change events.

Meant to run as a systemd user service (systemd/vdird.service, Type=notify):
READY after the first reconcile, STATUS lines for systemctl status, watchdog
pings. Logs are readable lines on a terminal and JSON otherwise.

Signals: SIGTERM finishes the pass in flight and exits 0; SIGINT (Ctrl-C)
does the same and exits 130; SIGHUP reloads the config file.
The control socket is $XDG_RUNTIME_DIR/vdird.sock, else beside the state
file: "vdird status", "sync", "restore" and "forget" talk to the running
daemon through it. Versions past keep_versions are removed after the first
reconcile and then hourly.
A second daemon on the same state file exits at once with status 1.
Takes no flags beyond the global ones.`

const daemonExample = `  systemctl --user enable --now vdird     # as a service (see the README)
  vdird --log-level debug daemon          # in a terminal, every request logged`

func (a *app) daemonCommand() *cobra.Command {
	return a.command(helpText{"daemon", "run continuously: poll, watch the folders, notify systemd", daemonHelp, daemonExample},
		noArgs, func(ctx context.Context, _ []string) int {
			return cmdDaemon(ctx, a.g, a.stderr)
		})
}

func cmdDaemon(ctx context.Context, g globals, stderr io.Writer) int {
	cfg, log, ok := loadConfig(g, stderr)
	if !ok {
		return 2
	}
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return 1
	}
	defer store.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opts := daemon.RunOptions{Reload: hup}
	if g.config != "" {
		opts.ConfigPath = g.config
	}
	eng := engine.NewEngine(cfg, store, log)
	closeVersions, err := undo.KeepVersions(cfg, eng)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return 1
	}
	defer closeVersions()
	if err := daemon.Run(ctx, cfg, eng, log, opts); err != nil {
		log.Error().Err(err).Msg("daemon failed")
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return 1
	}
	return 0
}

const statusHelp = `Shows per calendar and address book: the last successful sync, local
changes not yet synced, conflict copies waiting (listed below the table;
"vdird conflicts" tells what they concern) and the last error, or why a
safety guard refused it. An account whose passes fail (a wrong password, a
server unreachable or silent, a certificate refused) gets a row of its own:
since when, after how many attempts, and the last error. Below the table:
item files the server refused, with its reason (not sent again until they
change); for a calendar "vdird forget" stopped, the command that syncs it
again; for a folder the server refused to make into a calendar, its answer.

Asks the running daemon over its control socket, which also tells the
download or upload in hand ("progress" in --json); without a daemon, reads
the state file (no network). Each subscription gets a row in a table of its
own: last fetch, items, files changed here, last error, with the parts of
its feed that could not be used and its conflict copies below ("subscription"
objects in --json). The last line tells how many versions of replaced items
are kept ("vdird history"), their size and the oldest ("versions" in --json).

Exits 1 while an account fails, or a calendar, address book or subscription
has an error, a refusal, a refused item or conflict copies.`

const statusExample = `  vdird status
  vdird status --json | jq '.[] | select(.last_error or .refused or .rejected or .conflict_files)'`

func (a *app) statusCommand() *cobra.Command {
	var asJSON bool
	cmd := a.command(helpText{"status [--json]", "show per calendar: last sync, pending changes, conflicts, last error", statusHelp, statusExample},
		noArgs, func(ctx context.Context, _ []string) int {
			return cmdStatus(ctx, a.g, asJSON, a.stdout, a.stderr)
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per calendar or address book and per failing account (\"calendar\": \"*\"), instead of a table (default off)")
	return cmd
}

func cmdStatus(ctx context.Context, g globals, asJSON bool, stdout, stderr io.Writer) int {
	cfg, _, ok := loadConfig(g, stderr)
	if !ok {
		return 2
	}
	sts, err := statusFromDaemon(ctx, cfg)
	if errors.Is(err, control.ErrNoDaemon) {
		sts, err = statusInProcess(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return 1
	}
	subs, err := subscription.Overview(cfg.Subscriptions)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return 1
	}
	if asJSON {
		// One object per calendar, then one per subscription.
		rows := []any{}
		for _, s := range undo.StatusJSON(cfg, sts) {
			rows = append(rows, s)
		}
		for _, s := range subs {
			rows = append(rows, s)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return 1
		}
	} else {
		if len(sts) > 0 || len(subs) == 0 {
			report.Status(stdout, sts, time.Now())
		}
		report.Work(stdout, sts, time.Now())
		report.Subscriptions(stdout, subs, time.Now())
		undo.PrintVersionsLine(stdout, cfg, time.Now())
	}
	for _, s := range sts {
		if s.Failing() || len(s.ConflictFiles) > 0 {
			return 1
		}
	}
	for _, s := range subs {
		if s.Failing() {
			return 1
		}
	}
	return 0
}

func statusFromDaemon(ctx context.Context, cfg *config.Config) ([]engine.CalendarStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return control.Status(ctx, control.SocketPath(cfg.StatePath))
}

func statusInProcess(cfg *config.Config) ([]engine.CalendarStatus, error) {
	if _, err := os.Stat(cfg.StatePath); errors.Is(err, os.ErrNotExist) {
		if len(cfg.Accounts) == 0 {
			return nil, nil // subscriptions only: they keep their own records
		}
		return nil, fmt.Errorf("no state at %s yet: run \"vdird sync\" or start the daemon first", cfg.StatePath)
	}
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return nil, fmt.Errorf("%w; its control socket %s does not answer (is XDG_RUNTIME_DIR the same?)", err, control.SocketPath(cfg.StatePath))
		}
		return nil, err
	}
	defer store.Close()
	return engine.NewEngine(cfg, store, zerolog.Nop()).Overview()
}

// syncViaDaemon asks a running daemon to sync. ok is false when no daemon
// listens, and the caller syncs in-process.
func syncViaDaemon(ctx context.Context, cfg *config.Config, opts engine.SyncOptions) (sums []*engine.Summary, ok bool, err error) {
	sums, err = control.Sync(ctx, control.SocketPath(cfg.StatePath), opts)
	if errors.Is(err, control.ErrNoDaemon) {
		return nil, false, nil
	}
	return sums, true, err
}
