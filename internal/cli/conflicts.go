package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine/conflicts"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/vdir"
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
			return cmdConflicts(a.g, asJSON, a.stdout, a.stderr)
		})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per conflict, instead of a table (default off)")

	show := a.command(helpText{"show FILE", "show one conflict's properties: the server's value and the local one", showHelp, showExample},
		cobra.ExactArgs(1), func(_ context.Context, args []string) int {
			return cmdConflictShow(a.g, args[0], a.stdout, a.stderr)
		})
	var keep string
	resolve := a.command(helpText{"resolve FILE --keep WHAT", "settle one conflict, keeping the local values, the server's or both versions", resolveHelp, resolveExample},
		cobra.ExactArgs(1), func(_ context.Context, args []string) int {
			return cmdConflictResolve(a.g, args[0], keep, a.stdout, a.stderr)
		})
	resolve.Flags().StringVar(&keep, "keep", "", "keep `WHAT`: local, server or both (required)")
	_ = resolve.MarkFlagRequired("keep")
	_ = resolve.RegisterFlagCompletionFunc("keep", cobra.FixedCompletions([]string{"local", "server", "both"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(show, resolve)
	return cmd
}

// calendarConflict is a conflict with the account and calendar it is in.
type calendarConflict struct {
	Account  string `json:"account"`
	Calendar string `json:"calendar"`
	conflicts.Conflict
	Properties []string `json:"properties"`
}

// copiedSide is whose version a conflict copy without a note holds under
// a's policy.
func copiedSide(a *config.Account) conflicts.Side {
	if a.ConflictPolicy == plan.LocalWins {
		return conflicts.Server
	}
	return conflicts.Local
}

// conflictRoot is a folder of one folder per calendar or address book of
// an account, and the extension of their item files.
type conflictRoot struct {
	account *config.Account
	dir     string
	ext     string
}

// conflictRoots are the roots of the collections of cfg's accounts: the
// local_root of those that sync calendars, the contacts_root of those that
// sync address books.
func conflictRoots(cfg *config.Config) []conflictRoot {
	var out []conflictRoot
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		if a.SyncsCalendars() {
			out = append(out, conflictRoot{a, a.LocalRoot, vdir.ICS})
		}
		if a.SyncsAddressBooks() {
			out = append(out, conflictRoot{a, a.ContactsRoot, vdir.VCF})
		}
	}
	return out
}

// allConflicts lists the conflicts in every calendar and address book
// folder of cfg's accounts.
func allConflicts(cfg *config.Config) ([]calendarConflict, error) {
	var out []calendarConflict
	for _, r := range conflictRoots(cfg) {
		des, err := os.ReadDir(r.dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, de := range des {
			if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
				continue
			}
			cs, err := conflicts.List(filepath.Join(r.dir, de.Name()), r.ext, copiedSide(r.account))
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				out = append(out, calendarConflict{Account: r.account.Name, Calendar: de.Name(), Conflict: c, Properties: c.Properties()})
			}
		}
	}
	return out, nil
}

func cmdConflicts(g globals, asJSON bool, stdout, stderr io.Writer) int {
	cfg, _, ok := loadConfig(g, stderr)
	if !ok {
		return exitUsage
	}
	cs, err := allConflicts(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	if asJSON {
		if cs == nil {
			cs = []calendarConflict{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cs); err != nil {
			return exitFailure
		}
		return 0
	}
	if len(cs) == 0 {
		fmt.Fprintln(stdout, "no conflicts")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CALENDAR\tFILE\tSUMMARY\tWHEN\tPROPERTIES")
	for _, c := range cs {
		props := strings.Join(c.Properties, ", ")
		if c.Problem != "" {
			props = c.Problem
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", c.Account, c.Calendar, c.File, oneLine(c.Summary),
			c.At.Local().Format("2006-01-02 15:04:05"), oneLine(props))
	}
	tw.Flush()
	return 0
}

// findConflict finds the conflict that arg names (conflicts.Find in the
// accounts' local_roots and contacts_roots), and whose version a copy
// without a note holds.
func findConflict(cfg *config.Config, arg string) (dir, copyName string, side conflicts.Side, err error) {
	rs := conflictRoots(cfg)
	roots := make([]string, len(rs))
	for i, r := range rs {
		roots[i] = r.dir
	}
	f, err := conflicts.Find(roots, arg)
	if err != nil {
		return "", "", "", err
	}
	return f.Dir, f.Copy, copiedSide(rs[f.Root].account), nil
}

func cmdConflictShow(g globals, arg string, stdout, stderr io.Writer) int {
	cfg, _, ok := loadConfig(g, stderr)
	if !ok {
		return exitUsage
	}
	dir, copyName, side, err := findConflict(cfg, arg)
	if err == nil {
		var c conflicts.Conflict
		if c, err = conflicts.Read(dir, copyName, side); err == nil {
			printConflict(stdout, c)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	return 0
}

// printConflict prints a conflict property by property.
func printConflict(w io.Writer, c conflicts.Conflict) {
	other := map[conflicts.Side]string{conflicts.Local: "the server's", conflicts.Server: "the local"}[c.Copied]
	fmt.Fprintf(w, "%s: %s\n", filepath.Join(c.Dir, c.File), c.Summary)
	fmt.Fprintf(w, "conflict copy %s, made %s, holds the %s version; the file holds %s values\n",
		c.Copy, c.At.Local().Format("2006-01-02 15:04:05"), c.Copied, other)
	if c.Problem != "" {
		fmt.Fprintf(w, "cannot compare the two: %s\n", c.Problem)
		return
	}
	if c.Merged {
		fmt.Fprintln(w, "both sides changed (the rest was merged):")
	} else {
		fmt.Fprintln(w, "the two versions differ in (they were not merged):")
	}
	for _, ch := range c.Changes {
		name := ch.Property
		if name == "" {
			name = "the whole component"
		}
		fmt.Fprintf(w, "\n%s in %s\n", name, ch.Component)
		if c.Merged {
			printValue(w, "was:", ch.Property, ch.Base)
		}
		printValue(w, "server:", ch.Property, ch.Server)
		printValue(w, "local:", ch.Property, ch.Local)
	}
}

// printValue prints one version's lines of a property, each without the
// property's name when a value or parameters follow it.
func printValue(w io.Writer, label, property, lines string) {
	if lines == "" {
		fmt.Fprintf(w, "  %-8s (none)\n", label)
		return
	}
	for i, l := range strings.Split(lines, "\n") {
		if rest, ok := strings.CutPrefix(l, property); ok && property != "" && strings.HasPrefix(rest, ":") {
			l = rest[1:]
		} else if ok && property != "" && strings.HasPrefix(rest, ";") {
			l = rest
		}
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "  %-8s %s\n", label, l)
	}
}

func cmdConflictResolve(g globals, arg, keepText string, stdout, stderr io.Writer) int {
	keep, err := conflicts.ParseKeep(keepText)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitUsage
	}
	cfg, _, ok := loadConfig(g, stderr)
	if !ok {
		return exitUsage
	}
	dir, copyName, side, err := findConflict(cfg, arg)
	var res conflicts.Resolution
	if err == nil {
		res, err = conflicts.Resolve(dir, copyName, keep, side)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	switch {
	case res.Wrote != "":
		fmt.Fprintf(stdout, "%s now holds the %s values; the next sync uploads it\n", filepath.Join(dir, res.Wrote), keep)
	case res.NewItem != "":
		fmt.Fprintf(stdout, "the conflict copy is now the item %s; the next sync creates it on the server\n", filepath.Join(dir, res.NewItem))
	default:
		fmt.Fprintf(stdout, "the file holds the %s values already\n", keep)
	}
	fmt.Fprintf(stdout, "removed %s\n", filepath.Join(dir, copyName))
	return 0
}
