// Package undo is what `vdird history` and `vdird restore` read from the
// command line and print, and what `vdird status` tells of the versions
// store: which versions CALENDAR, FILE and the time flags select, and the
// lists, item by item, in words and in JSON.
package undo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine/restore"
	"github.com/vdird/vdird/versions"
)

// Open opens the versions store the config names.
func Open(cfg *config.Config) (*versions.Store, error) {
	return versions.Open(cfg.VersionsDir, cfg.VersionsOptions())
}

// OpenIfAny opens the versions store when it exists: nil, nil when nothing
// was ever kept, so a reader creates nothing.
func OpenIfAny(cfg *config.Config) (*versions.Store, error) {
	if _, err := os.Stat(cfg.VersionsDir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return Open(cfg)
}

// Filter reads the CALENDAR and FILE arguments of history and restore. A
// CALENDAR is a folder name, an href, or a calendar folder's path. A FILE
// is a path with a slash, whose folder is its calendar (and whose account
// is the one whose local_root holds it), or a bare NAME.ics.
func Filter(cfg *config.Config, args []string) (versions.Filter, error) {
	var f versions.Filter
	for _, arg := range args {
		isFile := strings.HasSuffix(arg, ".ics") || strings.ContainsRune(arg, os.PathSeparator)
		if fi, err := os.Stat(arg); err == nil && fi.IsDir() && f.Collection == "" {
			abs, err := filepath.Abs(arg)
			if err != nil {
				return f, err
			}
			f.Collection, f.Account = filepath.Base(abs), accountOfRoot(cfg, filepath.Dir(abs))
			continue
		}
		switch {
		case !isFile && f.Collection == "":
			f.Collection = arg // a folder name, or an href as the server spells it
		case isFile && f.File == "":
			f.File = filepath.Base(arg)
			if !strings.ContainsRune(arg, os.PathSeparator) {
				continue
			}
			abs, err := filepath.Abs(arg)
			if err != nil {
				return f, err
			}
			dir := filepath.Dir(abs)
			if f.Collection != "" && f.Collection != filepath.Base(dir) {
				return f, fmt.Errorf("%s is not in calendar %s", arg, f.Collection)
			}
			f.Collection = filepath.Base(dir)
			f.Account = accountOfRoot(cfg, filepath.Dir(dir))
		default:
			return f, fmt.Errorf("unexpected argument %q: give at most one CALENDAR and one FILE", arg)
		}
	}
	return f, nil
}

// accountOfRoot is the account whose local_root is root ("" for none).
func accountOfRoot(cfg *config.Config, root string) string {
	for _, a := range cfg.Accounts {
		if r, err := filepath.Abs(a.LocalRoot); err == nil && r == root {
			return a.Name
		}
	}
	return ""
}

// ParseWhen reads a moment: a duration back from now ("90m", "2d", "1w",
// config.ParseDuration's units), or a local date and time. span is how
// much the text leaves open: a second for "2025-03-14 09:26:53", a day for
// "2025-03-14", nothing for a duration or an RFC 3339 time.
func ParseWhen(s string, now time.Time) (t time.Time, span time.Duration, err error) {
	if d, err := config.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), 0, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, 0, nil
	}
	for _, l := range []struct {
		layout string
		span   time.Duration
	}{
		{"2006-01-02 15:04:05", time.Second}, {"2006-01-02T15:04:05", time.Second},
		{"2006-01-02 15:04", time.Minute}, {"2006-01-02T15:04", time.Minute}, {"2006-01-02", 24 * time.Hour},
	} {
		if t, err := time.ParseInLocation(l.layout, s, time.Local); err == nil {
			return t, l.span, nil
		}
	}
	return time.Time{}, 0, fmt.Errorf("time %q: want a duration back from now (90m, 2d, 1w) or a date and time (2025-03-14 09:30)", s)
}

// Flags are the flags of vdird restore that select versions.
type Flags struct {
	At, Since, Pass, UID string
	Force                bool
}

// Selection reads the arguments and flags of vdird restore.
func Selection(cfg *config.Config, fl Flags, args []string, now time.Time) (restore.Selection, error) {
	f, err := Filter(cfg, args)
	if err != nil {
		return restore.Selection{}, err
	}
	sel := restore.Selection{Account: f.Account, Collection: f.Collection, File: f.File, UID: fl.UID, Pass: fl.Pass, Force: fl.Force}
	if fl.Since != "" {
		if sel.Since, _, err = ParseWhen(fl.Since, now); err != nil {
			return sel, err
		}
	}
	if fl.At != "" {
		// "09:26" takes in the whole minute, as history shows it.
		at, span, err := ParseWhen(fl.At, now)
		if err != nil {
			return sel, err
		}
		sel.At = at.Add(max(span-time.Nanosecond, 0))
	}
	ranged := sel.Pass != "" || !sel.Since.IsZero()
	switch {
	case ranged && !sel.At.IsZero():
		return sel, errors.New("--at picks one item's version: use it with FILE or --uid, not with --since or --pass")
	case ranged && sel.File != "":
		return sel, errors.New("--since and --pass restore a calendar or a pass: name a CALENDAR, not a FILE (or drop them to restore the file)")
	case !ranged && sel.File == "" && sel.UID == "" && sel.Collection != "":
		return sel, fmt.Errorf("restore what of %s: add --since WHEN (everything since), or name a FILE", sel.Collection)
	case !ranged && sel.File == "" && sel.UID == "":
		return sel, errors.New("restore what: name a FILE, --uid UID, --pass ID, or a CALENDAR with --since WHEN")
	}
	return sel, nil
}

// Calendars are the folder names a restore wrote into.
func Calendars(res *restore.Result) []string {
	var out []string
	for _, it := range res.Items {
		if it.Outcome == restore.Restored && !slices.Contains(out, it.Version.Folder) {
			out = append(out, it.Version.Folder)
		}
	}
	return out
}
