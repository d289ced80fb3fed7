package undo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/restore"
	"github.com/vdird/vdird/internal/cli/report"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/versions"
)

// The exit statuses of the commands, as vdird's root command lists them.
const (
	exitFailure = 1
	exitUsage   = 2
)

// History is `vdird history`: it lists the versions kept that args
// (CALENDAR, FILE), since and uid select, newest first, as a table or in
// JSON, and returns the exit status.
func History(cfg *config.Config, since, uid string, asJSON bool, args []string, stdout, stderr io.Writer) int {
	f, err := Filter(cfg, args)
	if err == nil && since != "" {
		f.Since, _, err = ParseWhen(since, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitUsage
	}
	f.UID = uid
	var es []versions.Entry
	vs, err := OpenIfAny(cfg)
	if err == nil && vs != nil {
		defer vs.Close()
		es, err = vs.List(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	if asJSON {
		return printJSON(stdout, HistoryJSON(cfg, es))
	}
	PrintHistory(stdout, cfg, es)
	return 0
}

// printJSON prints v as indented JSON and returns the exit status.
func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return 0
}

// KeepVersions opens the versions store for eng's passes to keep what they
// replace; the returned function closes it.
func KeepVersions(cfg *config.Config, eng *engine.Engine) (func(), error) {
	vs, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	eng.Versions = vs
	return func() { vs.Close() }, nil
}

// StatusJSON is `vdird status --json`: each calendar's row with what the
// versions store holds of it.
func StatusJSON(cfg *config.Config, sts []engine.CalendarStatus) []StatusRow {
	vs, err := OpenIfAny(cfg)
	if err != nil || vs == nil {
		return WithCounts(nil, sts)
	}
	defer vs.Close()
	return WithCounts(vs, sts)
}

// PrintVersionsLine tells, below the status table, what the versions
// store holds: how many versions, their size and the oldest.
func PrintVersionsLine(w io.Writer, cfg *config.Config, now time.Time) {
	vs, err := OpenIfAny(cfg)
	var st versions.Stats
	if err == nil && vs != nil {
		defer vs.Close()
		st, err = vs.Stats()
	}
	switch {
	case err != nil:
		fmt.Fprintf(w, "versions: %v\n", err)
	case st.Count == 0:
		fmt.Fprintf(w, "versions kept: none%s, in %s\n", KeptNote(cfg), cfg.VersionsDir)
	default:
		fmt.Fprintf(w, "versions kept: %d (%s), the oldest from %s (%s), in %s\n", st.Count, humanize.Bytes(uint64(st.Bytes)),
			st.Oldest.Local().Format("2006-01-02 15:04:05"), report.Ago(now.Sub(st.Oldest)), cfg.VersionsDir)
	}
}

// Restore is `vdird restore`: it writes the versions that args and f
// select back into their folders, through a running daemon or in this
// process, runs a sync of the collections restored into when sync is set,
// and returns the exit status.
func Restore(ctx context.Context, cfg *config.Config, log zerolog.Logger, f Flags, sync bool, args []string, stdout, stderr io.Writer) int {
	sel, err := Selection(cfg, f, args, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitUsage
	}
	socket := control.SocketPath(cfg.StatePath)
	res, err := control.Restore(ctx, socket, sel)
	viaDaemon := !errors.Is(err, control.ErrNoDaemon)
	var eng *engine.Engine
	if !viaDaemon {
		var done func()
		eng, done, err = restoreEngine(cfg, log)
		if err == nil {
			defer done()
			res, err = eng.Restore(ctx, sel)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	PrintRestore(stdout, res)
	code := 0
	if res.Count(restore.NeedsForce)+res.Count(restore.Failed) > 0 {
		code = exitFailure
	}
	if res.Count(restore.Restored) == 0 {
		return code
	}
	cals := Calendars(res)
	switch {
	case sync && viaDaemon:
		sums, err := control.Sync(ctx, socket, engine.SyncOptions{Calendars: cals})
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
			return exitFailure
		}
		report.Summaries(stdout, sums, false)
	case sync:
		report.Summaries(stdout, eng.Sync(ctx, engine.SyncOptions{Calendars: cals}), false)
	case viaDaemon:
		fmt.Fprintln(stdout, "the daemon uploads them at its next pass: it watches the folders")
	default:
		fmt.Fprintln(stdout, `run "vdird sync" to upload them (or restore with --sync)`)
	}
	return code
}

// restoreEngine is an engine with the state file and the versions store,
// for a restore without a daemon; done closes them.
func restoreEngine(cfg *config.Config, log zerolog.Logger) (*engine.Engine, func(), error) {
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		return nil, nil, err
	}
	eng := engine.NewEngine(cfg, store, log)
	closeVersions, err := KeepVersions(cfg, eng)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return eng, func() { closeVersions(); store.Close() }, nil
}
