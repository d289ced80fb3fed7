// Package local builds the folder side of one collection for a sync pass:
// which item files there are, their stat fingerprints, and the content of
// those that changed since state recorded them, read, hashed and
// validated once. Files whose fingerprint is as recorded are taken from
// state unread. It also tells, from the folder's file sum, whether the
// folder is exactly as recorded or which few files moved, so that a pass
// over an unchanged or slightly changed collection costs little whatever
// its size. It writes nothing but what its callers write through View.Dir.
package local

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// View is the folder of one calendar or address book as a pass saw it. The executor
// updates it as it writes (fingerprints of written files, names taken).
type View struct {
	Dir  *vdir.Dir
	FP   map[string]vdir.Fingerprint // item files listed or written this pass
	Data map[string][]byte           // bytes of the valid files read this pass
	Used map[string]bool             // file names taken
	// Holds, when set, tells the component types the configuration syncs:
	// a file of another type that state does not know is left out of the
	// pass, never uploaded (Skipped).
	Holds func(component string) bool

	skipped    map[string]bool
	format     *format.Format
	components []string // nil: any component
	log        zerolog.Logger
}

// NewView returns an empty view of d for a collection of items in format
// f that holds the given components (a calendar's; nil: any); invalid
// files are logged to log.
func NewView(d *vdir.Dir, f *format.Format, components []string, log zerolog.Logger) *View {
	return &View{Dir: d, FP: map[string]vdir.Fingerprint{}, Data: map[string][]byte{}, Used: map[string]bool{},
		format: f, components: components, log: log}
}

// List stats every item file of the folder into the view and returns the
// planner's view of each; only files whose fingerprint differs from what
// byName (state's items by file name) records are read.
func (v *View) List(byName map[string]state.Item) ([]plan.Local, error) {
	entries, err := v.Dir.List()
	if err != nil {
		return nil, err
	}
	locals := make([]plan.Local, 0, len(entries))
	for _, en := range entries {
		if l := v.Entry(en, byName); !v.Skipped(l.Name) {
			locals = append(locals, l)
		}
	}
	return locals, nil
}

// Skipped tells whether the file name was left out of the pass: a new
// item of a component type the configuration does not sync.
func (v *View) Skipped(name string) bool { return v.skipped[name] }

// Entry is the planner's view of one listed file: taken from state when
// its fingerprint is as byName records, else read, hashed, validated and
// given its content key.
// It records the file's fingerprint (and bytes, when read and valid).
func (v *View) Entry(en vdir.Entry, byName map[string]state.Item) plan.Local {
	v.FP[en.Name] = en.Fingerprint
	v.Used[en.Name] = true
	if k, ok := byName[en.Name]; ok && SameFP(k.Fingerprint, en.Fingerprint) {
		return plan.Local{Name: en.Name, Hash: k.Hash, UID: k.UID}
	}
	data, fp, err := v.Dir.Read(en.Name)
	if err != nil {
		return plan.Local{Name: en.Name, Invalid: err.Error()}
	}
	v.FP[en.Name] = fp
	l := plan.Local{Name: en.Name, Hash: vdir.Hash(data)}
	info, err := v.format.Inspect(data)
	switch {
	case err != nil:
		l.Invalid = err.Error()
	case v.components != nil && !slices.ContainsFunc(v.components, func(c string) bool { return strings.EqualFold(c, info.Component) }):
		l.Invalid = fmt.Sprintf("%s in a calendar that holds only %s", info.Component, strings.Join(v.components, ", "))
	case v.Holds != nil && !v.Holds(info.Component) && !known(byName, en.Name):
		if v.skipped == nil {
			v.skipped = map[string]bool{}
		}
		v.skipped[en.Name] = true
		v.log.Debug().Str("file", filepath.Join(v.Dir.Path(), en.Name)).Str("component", info.Component).
			Msg("not synced: a component type the configuration leaves out")
	default:
		l.UID, l.Content = info.UID, v.format.ContentKey(data)
		v.Data[en.Name] = data
	}
	if l.Invalid != "" {
		v.log.Error().Str("file", filepath.Join(v.Dir.Path(), en.Name)).Str("reason", l.Invalid).Msg("skipping invalid file")
	}
	return l
}

func known(byName map[string]state.Item, name string) bool {
	_, ok := byName[name]
	return ok
}

// Unchanged takes a recorded item's file into the view as unchanged (the
// caller knows it is) and returns the planner's view of it.
func (v *View) Unchanged(it state.Item) plan.Local {
	v.FP[it.Name] = vdir.Fingerprint(it.Fingerprint)
	v.Used[it.Name] = true
	return plan.Local{Name: it.Name, Hash: it.Hash, UID: it.UID}
}

// Moved tells whether a listed file's fingerprint differs from what byName
// records.
func (v *View) Moved(byName map[string]state.Item) bool {
	for name, fp := range v.FP {
		if k, ok := byName[name]; ok && !SameFP(k.Fingerprint, fp) {
			return true
		}
	}
	return false
}

// Touched returns the recorded items (from byName) whose file was read
// this pass with the recorded content but a new fingerprint, each with
// that fingerprint: recording them spares the next pass reading them.
func (v *View) Touched(byName map[string]state.Item) []state.Item {
	var out []state.Item
	for name, fp := range v.FP {
		k, ok := byName[name]
		if !ok || SameFP(k.Fingerprint, fp) {
			continue
		}
		if data, read := v.Data[name]; !read || vdir.Hash(data) != k.Hash {
			continue
		}
		k.Fingerprint = state.Fingerprint(fp)
		out = append(out, k)
	}
	return out
}

// SameFP tells whether a recorded fingerprint is the one a file has now.
func SameFP(a state.Fingerprint, b vdir.Fingerprint) bool {
	return a.Size == b.Size && a.ModNs == b.ModNs && a.Inode == b.Inode
}

// NewFolder picks the folder under root of a collection seen for the first
// time: its CalendarName when that is a plain name, else a hash of the
// href; never one in taken (the folders other collections use).
func NewFolder(root, href string, taken map[string]bool) string {
	seg := CalendarName(href)
	if !plainDirName(seg) {
		seg = "cal-" + vdir.Hash([]byte(href))[:16]
	}
	dir := filepath.Join(root, seg)
	for i := 2; taken[dir]; i++ {
		dir = filepath.Join(root, fmt.Sprintf("%s-%d", seg, i))
	}
	return dir
}

// CalendarName is the name a calendar's href gives it: its last segment,
// unescaped, except for Google's /caldav/v2/CALID/events/, where every
// calendar ends in "events" and the calendar ID names it.
func CalendarName(href string) string {
	p := strings.TrimSuffix(href, "/")
	seg := path.Base(p)
	if rest, ok := strings.CutPrefix(p, "/caldav/v2/"); ok && strings.Count(rest, "/") == 1 && seg == "events" {
		seg = path.Base(path.Dir(p))
	}
	if u, err := url.PathUnescape(seg); err == nil {
		seg = u
	}
	return seg
}

func plainDirName(s string) bool {
	if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return false
		}
	}
	return true
}
