package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/cli/undo"
	"github.com/vdird/vdird/versions"
)

const historyHelp = `Lists the versions of items that sync replaced or deleted, newest first:
when, which calendar, the item's title (SUMMARY, or FN for a contact) and
file, what happened ("deleted on server", "overwritten by local edit",
"removed by mass-delete confirm"…) and the pass that did it. Each is the
item exactly as it was before, kept in the versions store beside the state
file for keep_versions (default 30d); "vdird restore" writes one back.

CALENDAR (a folder name or its URL path) and FILE (a path to an item file,
or just its name) narrow the list, as do --since and --uid. Reads only the
versions store: works the same with or without a running daemon.`

const historyExample = `  vdird history                         # everything kept, newest first
  vdird history work --since 2d         # calendar "work", the last two days
  vdird history ~/calendars/work/standup.ics
  vdird history --uid 3f1c0d2e@example.org --json`

// historyFlags are the flags of vdird history.
type historyFlags struct {
	since, uid string
	asJSON     bool
}

func (a *app) historyCommand() *cobra.Command {
	var hf historyFlags
	cmd := a.command(helpText{"history [CALENDAR] [FILE] [--since WHEN] [--uid UID] [--json]",
		"list the versions of items sync replaced or deleted, newest first", historyHelp, historyExample},
		cobra.MaximumNArgs(2), func(ctx context.Context, args []string) int {
			return cmdHistory(a.g, hf, args, a.stdout, a.stderr)
		})
	cmd.ValidArgsFunction = a.completeCalendars
	f := cmd.Flags()
	f.StringVar(&hf.since, "since", "", "only versions replaced since `WHEN`: a duration back from now (90m, 2d, 1w) or a time (2025-03-14 09:30) (default: all)")
	f.StringVar(&hf.uid, "uid", "", "only versions of the item with `UID` (default: all)")
	f.BoolVar(&hf.asJSON, "json", false, "print a JSON array, one object per version, instead of a table (default off)")
	_ = cmd.RegisterFlagCompletionFunc("since", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("uid", cobra.NoFileCompletions)
	return cmd
}

func cmdHistory(g globals, hf historyFlags, args []string, stdout, stderr io.Writer) int {
	cfg, _, ok := loadConfig(g, stderr)
	if !ok {
		return exitUsage
	}
	f, err := undo.Filter(cfg, args)
	if err == nil && hf.since != "" {
		f.Since, _, err = undo.ParseWhen(hf.since, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitUsage
	}
	f.UID = hf.uid
	var es []versions.Entry
	vs, err := undo.OpenIfAny(cfg)
	if err == nil && vs != nil {
		defer vs.Close()
		es, err = vs.List(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	if hf.asJSON {
		return printJSON(stdout, undo.HistoryJSON(cfg, es))
	}
	undo.PrintHistory(stdout, cfg, es)
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return 0
}

// keepVersions opens the versions store for eng's passes to keep what they
// replace; the returned function closes it.
func keepVersions(cfg *config.Config, eng *engine.Engine) (func(), error) {
	vs, err := undo.Open(cfg)
	if err != nil {
		return nil, err
	}
	eng.Versions = vs
	return func() { vs.Close() }, nil
}

// statusJSON is `vdird status --json`: each calendar's row with what the
// versions store holds of it.
func statusJSON(cfg *config.Config, sts []engine.CalendarStatus) []undo.StatusRow {
	vs, err := undo.OpenIfAny(cfg)
	if err != nil || vs == nil {
		return undo.WithCounts(nil, sts)
	}
	defer vs.Close()
	return undo.WithCounts(vs, sts)
}

// printVersionsLine tells, below the status table, what the versions
// store holds: how many versions, their size and the oldest.
func printVersionsLine(w io.Writer, cfg *config.Config, now time.Time) {
	vs, err := undo.OpenIfAny(cfg)
	var st versions.Stats
	if err == nil && vs != nil {
		defer vs.Close()
		st, err = vs.Stats()
	}
	switch {
	case err != nil:
		fmt.Fprintf(w, "versions: %v\n", err)
	case st.Count == 0:
		fmt.Fprintf(w, "versions kept: none%s, in %s\n", undo.KeptNote(cfg), cfg.VersionsDir)
	default:
		fmt.Fprintf(w, "versions kept: %d (%s), the oldest from %s (%s), in %s\n", st.Count, humanize.Bytes(uint64(st.Bytes)),
			st.Oldest.Local().Format("2006-01-02 15:04:05"), ago(now.Sub(st.Oldest)), cfg.VersionsDir)
	}
}
