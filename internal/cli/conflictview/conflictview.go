// Package conflictview runs `vdird conflicts` and its show and resolve
// subcommands once the config is loaded: what they read from the calendar
// and address book folders of the config's accounts, and how they print
// it (the table of conflicts, one conflict property by property, what
// settling one did).
package conflictview

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine/conflicts"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/cli/report"
	"github.com/vdird/vdird/vdir"
)

// Row is a conflict with the account and the calendar or address book it
// is in (Calendar names either).
type Row struct {
	Account  string `json:"account"`
	Calendar string `json:"calendar"`
	conflicts.Conflict
	Properties []string `json:"properties"`

	book bool // in an address book
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

// all lists the conflicts in every calendar and address book
// folder of cfg's accounts.
func all(cfg *config.Config) ([]Row, error) {
	var out []Row
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
				out = append(out, Row{Account: r.account.Name, Calendar: de.Name(), Conflict: c, Properties: c.Properties(), book: r.ext == vdir.VCF})
			}
		}
	}
	return out, nil
}

// find finds the conflict that arg names (conflicts.Find in the
// accounts' local_roots and contacts_roots), and whose version a copy
// without a note holds.
func find(cfg *config.Config, arg string) (dir, copyName string, side conflicts.Side, err error) {
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

// printTable prints the conflicts as a table, one row each.
func printTable(w io.Writer, rows []Row) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no conflicts")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tFILE\tSUMMARY\tWHEN\tPROPERTIES\n", heading(rows))
	for _, c := range rows {
		props := strings.Join(c.Properties, ", ")
		if c.Problem != "" {
			props = c.Problem
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", c.Account, c.Calendar, c.File, report.OneLine(c.Summary),
			c.At.Local().Format("2006-01-02 15:04:05"), report.OneLine(props))
	}
	tw.Flush()
}

// heading names the first column by what the rows are in: CALENDAR,
// ADDRESS BOOK, or COLLECTION for both.
func heading(rows []Row) string {
	books := 0
	for _, r := range rows {
		if r.book {
			books++
		}
	}
	switch books {
	case 0:
		return "CALENDAR"
	case len(rows):
		return "ADDRESS BOOK"
	}
	return "COLLECTION"
}

// printResolution tells what settling the conflict copy copyName in the
// folder dir, keeping keep, did.
func printResolution(w io.Writer, dir, copyName string, keep conflicts.Keep, res conflicts.Resolution) {
	switch {
	case res.Wrote != "":
		fmt.Fprintf(w, "%s now holds the %s values; the next sync uploads it\n", filepath.Join(dir, res.Wrote), keep)
	case res.NewItem != "":
		fmt.Fprintf(w, "the conflict copy is now the item %s; the next sync creates it on the server\n", filepath.Join(dir, res.NewItem))
	default:
		fmt.Fprintf(w, "the file holds the %s values already\n", keep)
	}
	fmt.Fprintf(w, "removed %s\n", filepath.Join(dir, copyName))
}

// exitFailure is the exit status of a command that failed, as vdird's
// root command lists it.
const exitFailure = 1

// List is `vdird conflicts`: every conflict in the folders of cfg's
// accounts, as a table or in JSON; it returns the exit status.
func List(cfg *config.Config, asJSON bool, stdout, stderr io.Writer) int {
	cs, err := all(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	if !asJSON {
		printTable(stdout, cs)
		return 0
	}
	if cs == nil {
		cs = []Row{}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cs); err != nil {
		return exitFailure
	}
	return 0
}

// Show is `vdird conflicts show`: the conflict arg names, property by
// property; it returns the exit status.
func Show(cfg *config.Config, arg string, stdout, stderr io.Writer) int {
	dir, copyName, side, err := find(cfg, arg)
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

// Resolve is `vdird conflicts resolve`: it settles the conflict arg names
// as keep says and tells what it did; it returns the exit status.
func Resolve(cfg *config.Config, arg string, keep conflicts.Keep, stdout, stderr io.Writer) int {
	dir, copyName, side, err := find(cfg, arg)
	var res conflicts.Resolution
	if err == nil {
		res, err = conflicts.Resolve(dir, copyName, keep, side)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	printResolution(stdout, dir, copyName, keep, res)
	return 0
}
