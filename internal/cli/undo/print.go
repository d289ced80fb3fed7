package undo

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine/restore"
	"github.com/vdird/vdird/versions"
)

// PrintHistory prints versions as `vdird history` shows them, newest
// first, one a line.
func PrintHistory(w io.Writer, cfg *config.Config, es []versions.Entry) {
	if len(es) == 0 {
		fmt.Fprintf(w, "no versions kept%s (in %s)\n", KeptNote(cfg), cfg.VersionsDir)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tCALENDAR\tITEM\tFILE\tWHAT\tPASS")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Account, e.Folder,
			title(e), cmp.Or(e.File, "-"), e.Reason.Describe(), cmp.Or(e.Pass, "-"))
	}
	tw.Flush()
}

// title is a version's SUMMARY or FN, on one line and not too long.
func title(e versions.Entry) string {
	s := strings.ReplaceAll(e.Summary, "\n", " ")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return cmp.Or(s, "-")
}

// KeptNote explains an empty store when the config keeps no versions.
func KeptNote(cfg *config.Config) string {
	if cfg.KeepVersions > 0 {
		return ""
	}
	for _, a := range cfg.Accounts {
		if a.KeepVersions > 0 {
			return ""
		}
	}
	return ` (keep_versions = "0")`
}

// HistoryEntry is one version in `vdird history --json`.
type HistoryEntry struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Account    string    `json:"account"`
	Calendar   string    `json:"calendar"`   // the folder name
	Collection string    `json:"collection"` // the calendar's URL path
	UID        string    `json:"uid,omitempty"`
	Summary    string    `json:"summary,omitempty"`
	Href       string    `json:"href,omitempty"`
	File       string    `json:"file,omitempty"`
	Path       string    `json:"path,omitempty"` // the file's path, when its account is configured
	Side       string    `json:"side"`
	Reason     string    `json:"reason"`
	What       string    `json:"what"`
	Pass       string    `json:"pass,omitempty"`
	Size       int64     `json:"size"`
}

// HistoryJSON is what `vdird history --json` prints of es.
func HistoryJSON(cfg *config.Config, es []versions.Entry) []HistoryEntry {
	roots := map[string]string{}
	for _, a := range cfg.Accounts {
		roots[a.Name] = a.LocalRoot
	}
	out := make([]HistoryEntry, 0, len(es))
	for _, e := range es {
		h := HistoryEntry{ID: e.ID, Time: e.Time, Account: e.Account, Calendar: e.Folder, Collection: e.Collection,
			UID: e.UID, Summary: e.Summary, Href: e.Href, File: e.File, Side: string(e.Side), Reason: string(e.Reason),
			What: e.Reason.Describe(), Pass: e.Pass, Size: e.Size}
		if root, ok := roots[e.Account]; ok && e.File != "" {
			h.Path = filepath.Join(root, e.Folder, e.File)
		}
		out = append(out, h)
	}
	return out
}

// PrintRestore prints what a restore did, item by item, and a count.
func PrintRestore(w io.Writer, res *restore.Result) {
	for _, it := range res.Items {
		e := it.Version
		what := fmt.Sprintf("the version %s at %s", e.Reason.Describe(), e.Time.Local().Format("2006-01-02 15:04:05"))
		switch it.Outcome {
		case restore.Restored:
			fmt.Fprintf(w, "restored    %s  %s: %s\n", it.Path, title(e), what)
		case restore.Unchanged:
			fmt.Fprintf(w, "unchanged   %s  %s: holds %s already\n", it.Path, title(e), what)
		case restore.NeedsForce:
			fmt.Fprintf(w, "not done    %s  %s: %s; --force replaces it (keeping it as a version)\n", it.Path, title(e), it.Why)
		default:
			fmt.Fprintf(w, "failed      %s/%s  %s: %s\n", e.Folder, e.File, title(e), it.Why)
		}
	}
	fmt.Fprintf(w, "%d restored, %d unchanged, %d need --force, %d failed\n", res.Count(restore.Restored),
		res.Count(restore.Unchanged), res.Count(restore.NeedsForce), res.Count(restore.Failed))
	if res.Pass != "" {
		fmt.Fprintf(w, "the files it replaced are kept: \"vdird restore --pass %s\" undoes this restore\n", res.Pass)
	}
}
