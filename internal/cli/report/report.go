// Package report prints what vdird's commands tell of a sync and of the
// state of things: the summary of each collection's pass, the status
// table of the calendars and address books, the steps a daemon is working
// on, the subscriptions' fetches and rows, and what discovery found of an
// account.
package report

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/progress"
	"github.com/vdird/vdird/subscription"
)

// Summaries prints the summary of each collection's pass: what it moved,
// or why it failed or was refused, or in a dry run what it would do.
func Summaries(w io.Writer, sums []*engine.Summary, dry bool) {
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
			if s.Merged > 0 {
				fmt.Fprintf(w, "  merged %d", s.Merged)
			}
			if len(s.Skipped) > 0 {
				fmt.Fprintf(w, "  skipped %d", len(s.Skipped))
			}
			if len(s.Problems) > 0 {
				fmt.Fprintf(w, "  problems %d", len(s.Problems))
			}
			if len(s.Rejected) > 0 {
				fmt.Fprintf(w, "  refused %d", len(s.Rejected))
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
		for _, n := range s.Rejected {
			fmt.Fprintf(w, "    %s\n", n)
		}
	}
}

// Status prints the status table of the calendars and address books,
// with below it their conflict copies and refused items, what brings a
// forgotten one back, and why the server refused to make a folder into
// one. The table keeps to short words, so that it fits a narrow terminal:
// KIND is "cal" or "book".
func Status(w io.Writer, sts []engine.CalendarStatus, now time.Time) {
	if len(sts) == 0 {
		fmt.Fprintln(w, "no calendars or address books synced yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLLECTION\tKIND\tLAST SYNC\tPENDING\tCONFLICTS\tERROR")
	for _, s := range sts {
		if s.Calendar == "*" {
			// An account whose passes fail, as a whole.
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", s.Account, OneLine(failingSince(s, now)))
			continue
		}
		name, kind := s.Account+"/"+s.Calendar, "cal"
		if s.AddressBook {
			kind = "book"
		}
		if s.ReadOnly {
			name += " (read-only)"
		}
		switch {
		case !s.Forgotten.IsZero():
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\tforgotten\n", name, kind)
		case s.NotMade:
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\tnot made\n", name, kind)
		default:
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", name, kind, when(s.LastSync, now), s.PendingLocal, len(s.ConflictFiles),
				errorText(s.LastError, s.Refused))
		}
	}
	tw.Flush()
	for _, s := range sts {
		for _, c := range s.ConflictFiles {
			fmt.Fprintf(w, "conflict copy: %s/%s\n", s.Dir, c)
		}
		for _, r := range s.Rejected {
			fmt.Fprintln(w, OneLine(r))
		}
		switch {
		case !s.Forgotten.IsZero():
			fmt.Fprintf(w, "%s/%s: forgotten %s; \"vdird forget --undo %s\" syncs it again\n",
				s.Account, s.Calendar, when(s.Forgotten, now), undoName(sts, s))
		case s.NotMade:
			fmt.Fprintf(w, "%s/%s: %s\n", s.Account, s.Calendar, OneLine(s.Refused))
		}
	}
}

// undoName is how `vdird forget --undo` names the forgotten collection s:
// its folder name, with its account when another account has a
// collection of that name, its folder's path when its account has
// another (a calendar and an address book of one name).
func undoName(sts []engine.CalendarStatus, s engine.CalendarStatus) string {
	for _, o := range sts {
		if o.Calendar == s.Calendar && o.Account == s.Account && o.Dir != s.Dir {
			return s.Dir
		}
	}
	for _, o := range sts {
		if o.Calendar == s.Calendar && o.Account != s.Account {
			return s.Account + "/" + s.Calendar
		}
	}
	return s.Calendar
}

// when shows a time of the last sync or fetch and how long ago it was.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05") + " (" + Ago(now.Sub(t)) + ")"
}

// errorText is a status row's last column: a guard's refusal, else the
// last error, else "-".
func errorText(lastError, refused string) string {
	switch {
	case refused != "":
		return "refused by a safety guard: " + OneLine(refused)
	case lastError == "":
		return "-"
	}
	return OneLine(lastError)
}

// failingSince describes a failing account: "failing since 2025-03-01
// 12:01:05 (2h ago, 7 attempts): ERROR".
func failingSince(s engine.CalendarStatus, now time.Time) string {
	n := "attempts"
	if s.Attempts == 1 {
		n = "attempt"
	}
	return fmt.Sprintf("failing since %s (%s, %d %s): %s", s.FailingSince.Local().Format("2006-01-02 15:04:05"),
		Ago(now.Sub(s.FailingSince)), s.Attempts, n, s.LastError)
}

// OneLine is s on one line, for a table cell.
func OneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// Ago says how long ago d was, in its largest unit.
func Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// Work lists the downloads and uploads a daemon is working on.
func Work(w io.Writer, sts []engine.CalendarStatus, now time.Time) {
	for _, s := range sts {
		if ws := s.Progress; ws != nil {
			fmt.Fprintf(w, "working: %s/%s %s (since %s)\n", s.Account, s.Calendar, progress.Describe(*ws, now),
				ws.Since.Local().Format("15:04:05"))
		}
	}
}

// Subscriptions prints a table of the subscriptions, with their
// problems and conflict copies below it.
func Subscriptions(w io.Writer, subs []subscription.Status, now time.Time) {
	if len(subs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBSCRIPTION\tLAST FETCH\tITEMS\tLOCAL CHANGES\tERROR")
	for _, s := range subs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Subscription, when(s.LastFetch, now), s.Items, s.LocalChanges, errorText(s.LastError, s.Refused))
	}
	tw.Flush()
	for _, s := range subs {
		for _, p := range s.Problems {
			fmt.Fprintf(w, "subscription %s: %s\n", s.Subscription, OneLine(p))
		}
		for _, c := range s.ConflictFiles {
			fmt.Fprintf(w, "conflict copy: %s/%s\n", s.Dir, c)
		}
	}
}

// Discovery prints what discovery found of account a: its homes, then a
// table of its calendars and address books.
func Discovery(w io.Writer, a *config.Account, homes davclient.Homes, cals []davclient.Calendar) {
	books := 0
	for _, cal := range cals {
		if cal.Kind == davclient.KindAddressBook {
			books++
		}
	}
	fmt.Fprintf(w, "account %s (%s), calendar home %s, address book home %s: %d calendars, %d address books\n",
		a.Name, a.URL, orDash(homes.Calendars), orDash(cmp.Or(homes.AddressBooks, homes.Elsewhere)), len(cals)-books, books)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tHREF\tHOLDS\tCTAG\tSYNC\tACCESS")
	for _, cal := range cals {
		kind, holds := "calendar", strings.Join(cal.Components, ",")
		if holds == "" {
			holds = "any"
		}
		if cal.Kind == davclient.KindAddressBook {
			kind, holds = "addressbook", "vCard "+strings.Join(cal.VCardVersions, ",")
			if len(cal.VCardVersions) == 0 {
				holds = "vCard"
			}
		}
		access := "read-write"
		if cal.ReadOnly {
			access = "read-only"
		}
		sync := "no"
		if cal.SupportsSync {
			sync = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(cal.DisplayName), kind, cal.Href, holds, orDash(cal.CTag), sync, access)
	}
	tw.Flush()
}

// orDash is s, or "-" for nothing.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Fetches prints a line for each subscription's fetch, as Summaries does
// for calendars, with what it planned, noted and kept below. failed tells
// whether one failed, was refused or met a problem.
func Fetches(w io.Writer, rs []*subscription.Result, dry bool) (failed bool) {
	for _, r := range rs {
		head := fmt.Sprintf("↓%d ✗%d ⚠%d  → %s", r.Added+r.Updated, r.Removed, len(r.ConflictCopies), r.Dir)
		switch {
		case r.Err != nil:
			head, failed = "FAILED: "+r.Err.Error(), true
		case r.Refused != "":
			head, failed = "REFUSED: "+r.Refused, true
		case !r.NotDue.IsZero():
			head = fmt.Sprintf("not due: next fetch after %s (vdird sync %s fetches it now)", r.NotDue.Local().Format("15:04"), r.Name)
		case dry:
			head = fmt.Sprintf("dry run: %d actions", len(r.Planned))
		case r.Unchanged:
			head = "unchanged"
		}
		fmt.Fprintf(w, "%-24s %s\n", r.Name+" (subscription)", head)
		for _, c := range r.Planned {
			fmt.Fprintf(w, "    %-13s %s %s\n", c.Kind, c.Name, c.Reason)
		}
		for _, group := range []struct {
			label string
			lines []string
		}{{"note", r.Notes}, {"local", r.Local}, {"problem", r.Problems}, {"conflict copy", r.ConflictCopies}} {
			for _, l := range group.lines {
				fmt.Fprintf(w, "    %s: %s\n", group.label, l)
			}
		}
		failed = failed || len(r.Problems) > 0
	}
	return failed
}
