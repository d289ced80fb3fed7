package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/version"
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
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func loadConfig(g globals, stderr io.Writer) (*config.Config, zerolog.Logger, bool) {
	path := g.config
	if path == "" {
		path = config.DefaultPath()
	}
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

const syncHelp = `
Usage: vdird sync [--dry-run] [--allow-mass-delete] [calendar…]

Runs one full two-way sync pass over every configured calendar (or only the
named ones: folder name, display name, href or its last segment) and prints
a summary per calendar: ↓ downloaded, ↑ uploaded, ✗ deleted, ⚠ conflicts,
skipped files. Exits 1 if any calendar failed or was refused by a safety
guard, and 2 without syncing if a name matches no calendar.
When a daemon is running, the pass is done by the daemon (through its
control socket) and this command waits for it and prints its summary.
`

func cmdSync(ctx context.Context, g globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sync", syncHelp, stderr)
	dry := fs.Bool("dry-run", false, "print what would be done and change nothing")
	allow := fs.Bool("allow-mass-delete", false, "confirm deleting more than the mass-delete threshold, or an emptied side")
	cals, err := parseFlags(fs, args)
	if err != nil {
		return flagStatus(err)
	}
	cfg, log, ok := loadConfig(g, stderr)
	if !ok {
		return 2
	}
	opts := engine.SyncOptions{DryRun: *dry, AllowMassDelete: *allow, Calendars: cals}
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
		sums = eng.Sync(ctx, opts)
	}
	for _, s := range sums {
		if code := exitStatus(s.Err); code == 2 {
			// A calendar name that matches nothing: nothing was synced.
			fmt.Fprintf(stderr, "vdird: %v\n", s.Err)
			return code
		}
	}
	printSummaries(stdout, sums, *dry)
	for _, s := range sums {
		if s.Failed() {
			return 1
		}
	}
	return 0
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

func printSummaries(w io.Writer, sums []*engine.Summary, dry bool) {
	for _, s := range sums {
		name := s.Account + "/" + s.Calendar
		switch {
		case s.Err != nil:
			fmt.Fprintf(w, "%-24s FAILED: %v\n", name, s.Err)
		case s.Refused != "":
			fmt.Fprintf(w, "%-24s REFUSED: %s\n", name, s.Refused)
		case dry:
			fmt.Fprintf(w, "%-24s dry run: %d actions\n", name, len(s.Planned))
			for _, a := range s.Planned {
				fmt.Fprintf(w, "    %-13s %s %s %s\n", a.Kind, a.Name, a.Href, a.Reason)
			}
		case s.Unchanged:
			fmt.Fprintf(w, "%-24s unchanged\n", name)
		default:
			fmt.Fprintf(w, "%-24s ↓%d ↑%d ✗%d ⚠%d", name, s.Downloaded, s.Uploaded, s.DeletedLocal+s.DeletedRemote, s.Conflicts)
			if len(s.Skipped) > 0 {
				fmt.Fprintf(w, "  skipped %d", len(s.Skipped))
			}
			if len(s.Problems) > 0 {
				fmt.Fprintf(w, "  problems %d", len(s.Problems))
			}
			fmt.Fprintf(w, "  → %s\n", s.Dir)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "    note: %s\n", n)
		}
		for _, n := range s.Skipped {
			fmt.Fprintf(w, "    skipped: %s\n", n)
		}
		for _, n := range s.Problems {
			fmt.Fprintf(w, "    problem: %s\n", n)
		}
	}
}

const discoverHelp = `
Usage: vdird discover --url URL [--user NAME] [--password-command CMD]

Finds the calendars of a CalDAV account (RFC 6764 well-known URL, principal,
calendar home) and prints them. The password comes from --password-command
or the environment variable VDIRD_PASSWORD; it is never printed or logged.
Without --url, every account of the config file is listed.
`

func cmdDiscover(ctx context.Context, g globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("discover", discoverHelp, stderr)
	u := fs.String("url", "", "server, principal or calendar-home URL")
	user := fs.String("user", "", "user name")
	pwcmd := fs.String("password-command", "", "shell command printing the password")
	insecure := fs.Bool("insecure-skip-verify", false, "do not verify the server's TLS certificate (testing only)")
	if _, err := parseFlags(fs, args); err != nil {
		return flagStatus(err)
	}
	var accounts []config.Account
	if *u != "" {
		accounts = []config.Account{{Name: "cli", URL: *u, Username: *user, PasswordCommand: *pwcmd, PasswordEnv: "VDIRD_PASSWORD", InsecureSkipVerify: *insecure}}
		if *pwcmd != "" {
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
		pw, err := a.Password()
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
			code = 1
			continue
		}
		c, err := davclient.New(davclient.Options{URL: a.URL, Username: a.Username, Password: pw, InsecureSkipVerify: a.InsecureSkipVerify, UserAgent: "vdird/" + version.String()})
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
			code = 1
			continue
		}
		cals, err := c.Discover(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %s: %v\n", a.URL, err)
			code = 1
			continue
		}
		home, _ := c.HomeSet(ctx)
		fmt.Fprintf(stdout, "account %s (%s), calendar home %s: %d calendars\n", a.Name, a.URL, home, len(cals))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tHREF\tCOMPONENTS\tCTAG\tSYNC\tACCESS")
		for _, cal := range cals {
			comps := strings.Join(cal.Components, ",")
			if comps == "" {
				comps = "any"
			}
			access := "read-write"
			if cal.ReadOnly {
				access = "read-only"
			}
			sync := "no"
			if cal.SupportsSync {
				sync = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(cal.DisplayName), cal.Href, comps, orDash(cal.CTag), sync, access)
		}
		tw.Flush()
	}
	return code
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
