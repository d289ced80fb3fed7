package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/cli/report"
	"github.com/vdird/vdird/internal/cli/undo"
	"github.com/vdird/vdird/state"
)

// newLogger logs human-readable lines on a terminal and JSON otherwise
// (journald and files), at level (default info).
func newLogger(w io.Writer, level string) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(level)
		if err != nil || level == "" {
			return zerolog.Logger{}, fmt.Errorf("bad log level %q: want trace, debug, info, warn or error", level)
		}
		lvl = l
	}
	// Millisecond timestamps: sync steps and requests take milliseconds.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	// Durations as Go writes them ("took=22ms", "interval=1m0s"; in JSON
	// "22ms"), not as bare numbers of milliseconds.
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
	journald, _ := journal.StderrIsJournalStream()
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && !journald {
		w = consoleWriter(w)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// configPath is the config file --config names, else the default one.
func configPath(g globals) string {
	if g.config != "" {
		return g.config
	}
	return config.DefaultPath()
}

func loadConfig(g globals, stderr io.Writer) (*config.Config, zerolog.Logger, bool) {
	path := configPath(g)
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "vdird: no config at %s: copy config.example.toml there, or pass --config FILE\n", path)
		} else {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
		}
		return nil, zerolog.Logger{}, false
	}
	level := cfg.LogLevel
	if g.logLevel != "" {
		level = g.logLevel
	}
	log, err := newLogger(stderr, level)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return nil, zerolog.Logger{}, false
	}
	return cfg, log, true
}

const syncHelp = `Runs one full two-way sync pass over every configured calendar and address
book, or only over the CALENDARs named, and prints a summary per calendar or
address book: ↓ downloaded, ↑ uploaded, ✗ deleted, ⚠ conflicts ("vdird
conflicts" lists them), the items whose edits on both sides were merged, and
each skipped file with the reason (an .ics or .vcf file without a UID, say).
A calendar or address book is named by its folder name, display name, URL
path or that path's last segment, each also as ACCOUNT/NAME. A window limits
a calendar to the items in its date range; an item leaving it is kept.

A new folder holding a displayname file or an item becomes a calendar or
address book on the server, unless create_collections = false; one the
server refused is asked again when it changes or is named here. One deleted
on the server keeps its folder, reported at each pass until "vdird forget
NAME"; with delete_collections = "empty", a folder holding no item goes.

When a daemon is running, it runs the pass (through its control socket) and
this command prints its summary. When stderr is a terminal, a long download
or upload shows one live line per calendar on stderr: the items done, the
bytes, the rate and, when the number of items is known ahead (not for a
first download), the total and the time left; --quiet, or stderr going to a
file or a pipe, shows none.

Safety guards refuse a calendar, deleting nothing, when a pass would delete
more than max_delete_fraction (default 0.5) of a calendar with more than
max_delete_min (default 5) items on one side, when a folder or a server
listing that held items is empty, or when a folder is missing.
--allow-mass-delete lifts the first two for this run; nothing lifts the
missing-folder guard.

An item file the server refuses (invalid data, say) is listed with the
server's reason and not sent again until the file changes.

Before a pass overwrites or deletes an item, on either side, it keeps the
version that disappears: "vdird history" lists them, "vdird restore"
brings them back.

Subscriptions (read-only iCalendar feeds, [[subscription]] in the config)
are fetched in the same run once their interval has passed since their
last fetch; a SUBSCRIPTION named on the command line is fetched now. Each
gets a line: ↓ files written, ✗ files removed, ⚠ local edits kept as
conflict copies, or "unchanged" when the feed did not change. Local edits
in a subscription's folder are reported and never uploaded.

Exits 0 when every calendar synced, 1 if a calendar or a subscription
failed or was refused or the server refused an item, 2 without syncing
anything if a CALENDAR matches no calendar or subscription, and 130 when
interrupted with Ctrl-C (what is done is kept, the next sync carries on).`

const syncExample = `  vdird sync --dry-run                    # what would happen, changing nothing
  vdird sync                              # every calendar
  vdird sync work Tasks                   # a folder name and a display name
  vdird sync --allow-mass-delete work     # confirm a deletion a guard refused
  vdird sync holidays                     # fetch the subscription "holidays" now`

func (a *app) syncCommand() *cobra.Command {
	var opts engine.SyncOptions
	var quiet bool
	cmd := a.command(helpText{"sync [--dry-run] [--allow-mass-delete] [--quiet] [CALENDAR|SUBSCRIPTION...]",
		"run one two-way sync pass and print a summary per calendar", syncHelp, syncExample},
		cobra.ArbitraryArgs, func(ctx context.Context, cals []string) int {
			opts.Calendars = cals
			return cmdSync(ctx, a.g, opts, quiet, a.stdout, a.stderr)
		})
	cmd.ValidArgsFunction = a.completeCalendars
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be done and change nothing (default off)")
	cmd.Flags().BoolVar(&opts.AllowMassDelete, "allow-mass-delete", false, "carry out the deletions the mass-delete or empty-side guard refused, for this run (default off)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "show no progress lines; they are shown only when stderr is a terminal (default off)")
	return cmd
}

func cmdSync(ctx context.Context, g globals, opts engine.SyncOptions, quiet bool, stdout, stderr io.Writer) int {
	cfg, log, ok := loadConfig(g, stderr)
	if !ok {
		return 2
	}
	subs, named, accounts := pickSubscriptions(cfg, &opts)
	if !accounts {
		return syncSubscriptions(ctx, cfg, subs, named, opts, log, stdout)
	}
	// A running daemon holds the state lock: ask it to do the pass.
	sums, viaDaemon, err := syncViaDaemon(ctx, cfg, opts)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitStatus(err)
	}
	if !viaDaemon {
		store, err := state.Open(cfg.StatePath)
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
			return 1
		}
		defer store.Close()
		eng := engine.NewEngine(cfg, store, log)
		if !opts.DryRun { // a dry run writes nothing, not even the versions store
			closeVersions, err := undo.KeepVersions(cfg, eng)
			if err != nil {
				fmt.Fprintf(stderr, "vdird: %v\n", err)
				return 1
			}
			defer closeVersions()
		}
		stop := startProgress(stderr, quiet, &opts, &log)
		sums = eng.Sync(ctx, opts)
		stop()
	}
	for _, s := range sums {
		if code := exitStatus(s.Err); code == 2 {
			// A calendar name that matches nothing: nothing was synced.
			fmt.Fprintf(stderr, "vdird: %v\n", s.Err)
			return code
		}
	}
	report.Summaries(stdout, sums, opts.DryRun)
	code := syncSubscriptions(ctx, cfg, subs, named, opts, log, stdout)
	for _, s := range sums {
		if s.Failed() {
			return 1
		}
	}
	return code
}

// exitStatus is the exit status for a failed sync: 2 for a usage error
// (a calendar name that matches nothing), else 1.
func exitStatus(err error) int {
	var unknown *engine.UnknownCalendarError
	if errors.As(err, &unknown) {
		return 2
	}
	return 1
}

const discoverHelp = `Finds the calendars and address books of a CalDAV / CardDAV account (RFC 6764
well-known URLs, principal, calendar and address book homes) and prints, per
collection: its display name, kind, URL path, what it holds (components such
as VEVENT and VTODO for a calendar, the vCard versions an address book
serves), ctag, whether it supports sync-collection, and whether it is
read-only. The NAME or the path's last segment is what "calendars = […]" and
"addressbooks = […]" in the config and "vdird sync CALENDAR" take.

With --url, the account is the one given: the password comes from
--password-command, else from the environment variable VDIRD_PASSWORD, else
none is sent. Without --url, every account of the config file is listed,
each with its own password source. A password is never printed or logged.
Needs the network; changes nothing.`

const discoverExample = `  vdird discover --url https://dav.example.org/ --user alice --password-command 'pass show dav'
  VDIRD_PASSWORD=secret vdird discover --url http://127.0.0.1:5232/ --user alice
  vdird discover     # every account in the config file`

// discoverFlags are the account a `vdird discover --url …` asks.
type discoverFlags struct {
	url, user, passwordCommand string
	insecure                   bool
}

func (a *app) discoverCommand() *cobra.Command {
	var df discoverFlags
	cmd := a.command(helpText{"discover [--url URL [--user NAME] [--password-command CMD] [--insecure-skip-verify]]",
		"list the calendars and address books an account offers", discoverHelp, discoverExample},
		noArgs, func(ctx context.Context, _ []string) int {
			return cmdDiscover(ctx, a.g, df, a.stdout, a.stderr)
		})
	f := cmd.Flags()
	f.StringVar(&df.url, "url", "", "ask the account at `URL`: the server root, a principal or a calendar home (default: every account in the config)")
	f.StringVar(&df.user, "user", "", "log in as `NAME` (default: none)")
	f.StringVar(&df.passwordCommand, "password-command", "", "run `CMD` with sh -c and use the first line it prints as the password (default: $VDIRD_PASSWORD)")
	f.BoolVar(&df.insecure, "insecure-skip-verify", false, "do not verify the server's TLS certificate, for a test server only (default off)")
	_ = cmd.RegisterFlagCompletionFunc("url", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("user", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("password-command", cobra.NoFileCompletions)
	return cmd
}

func cmdDiscover(ctx context.Context, g globals, df discoverFlags, stdout, stderr io.Writer) int {
	var accounts []config.Account
	if df.url != "" {
		accounts = []config.Account{{Name: "cli", URL: df.url, Username: df.user, PasswordCommand: df.passwordCommand, PasswordEnv: "VDIRD_PASSWORD", InsecureSkipVerify: df.insecure}}
		if df.passwordCommand != "" {
			accounts[0].PasswordEnv = ""
		} else if _, ok := os.LookupEnv("VDIRD_PASSWORD"); !ok {
			accounts[0].PasswordEnv = ""
		}
	} else {
		cfg, _, ok := loadConfig(g, stderr)
		if !ok {
			return 2
		}
		accounts = cfg.Accounts
	}
	code := 0
	for _, a := range accounts {
		// Both kinds, whatever the account syncs: discover shows what there is.
		a.Sync = []string{config.SyncCalendars, config.SyncAddressBooks}
		homes, cals, err := engine.Discover(ctx, &a, zerolog.Nop())
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %s: %v\n", a.URL, err)
			code = 1
			continue
		}
		report.Discovery(stdout, &a, homes, cals)
	}
	return code
}
