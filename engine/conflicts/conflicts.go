// Package conflicts shows and settles what a sync could not decide alone:
// each conflict copy (NAME.ics.conflict-… or NAME.vcf.conflict-…) beside
// its item file, which properties the two versions hold differently, and,
// as the user chooses, which version's values the item keeps. It touches
// only the calendar or address book folder: what it writes into an item file is a local edit that the next
// sync pass uploads like any other, so it works the same whether a daemon
// runs or not, and nothing reaches the server outside the planner.
package conflicts

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/vdird/vdird/engine/merge"
	"github.com/vdird/vdird/vdir"
)

// Side is whose version a conflict copy holds.
type Side string

// The sides of a conflict.
const (
	Local  Side = vdir.LocalVersion
	Server Side = vdir.ServerVersion
)

// ErrNotACopy means a name given as a conflict copy is not one.
var ErrNotACopy = errors.New("not a conflict copy")

// Conflict is one conflict copy and how it differs from its item file.
type Conflict struct {
	Dir     string    `json:"dir"`  // the calendar's folder
	File    string    `json:"file"` // the item file
	Copy    string    `json:"copy"` // the conflict copy, beside it
	At      time.Time `json:"at"`   // when the copy was made
	Summary string    `json:"summary,omitempty"`
	// Copied is whose version the copy holds; the file holds the other
	// side's values where the two differ.
	Copied Side `json:"copied"`
	// Merged says the two versions were merged against the version last
	// synced before: Changes are then the properties both sides changed.
	// Otherwise they are every property the two versions hold differently.
	Merged  bool     `json:"merged"`
	Changes []Change `json:"changes"`
	// Problem says why the versions cannot be compared: the item file is
	// gone, or one of them is not one valid item.
	Problem string `json:"problem,omitempty"`
}

// Change is one property (or a whole component) the two versions hold
// differently: its content lines in each version, unfolded, one per line,
// "" where a version has none.
type Change struct {
	Component string `json:"component"`
	Property  string `json:"property"` // "" for a component deleted on one side and changed on the other
	Base      string `json:"base,omitempty"`
	Local     string `json:"local"`
	Server    string `json:"server"`
}

// Properties names the changed properties, each once, in order.
func (c Conflict) Properties() []string {
	var out []string
	for _, ch := range c.Changes {
		name := ch.Property
		if name == "" {
			name = ch.Component
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// List reads every conflict copy in the folder dir, whose item files have
// the extension ext (vdir.ICS or vdir.VCF). fallback is
// whose version a copy without a note holds (one made by an older vdird):
// the server's under local-wins, else the local one.
func List(dir, ext string, fallback Side) ([]Conflict, error) {
	d, err := vdir.Open(dir, ext)
	if err != nil {
		return nil, err
	}
	names, err := d.ConflictCopies()
	if err != nil {
		return nil, err
	}
	out := make([]Conflict, 0, len(names))
	for _, name := range names {
		l, err := load(d, name, fallback)
		if errors.Is(err, fs.ErrNotExist) {
			continue // settled meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l.Conflict)
	}
	return out, nil
}

// Read reads the conflict copy copyName in the calendar or address book
// folder dir.
func Read(dir, copyName string, fallback Side) (Conflict, error) {
	d, err := open(dir, copyName)
	if err != nil {
		return Conflict{}, err
	}
	l, err := load(d, copyName, fallback)
	if err != nil {
		return Conflict{}, err
	}
	return l.Conflict, nil
}

// open opens the folder dir of the conflict copy copyName, with the
// extension of the item file it names.
func open(dir, copyName string) (*vdir.Dir, error) {
	item, _, ok := vdir.ConflictCopyOf(copyName)
	if !ok {
		return nil, fmt.Errorf("%s: %w", copyName, ErrNotACopy)
	}
	return vdir.Open(dir, kindOf(item).ext)
}

// loaded is a conflict with the bytes it was read from.
type loaded struct {
	Conflict
	copy, file, base []byte
	copyFP, fileFP   vdir.Fingerprint
	hasFile          bool
	kind             *itemKind
}

func load(d *vdir.Dir, copyName string, fallback Side) (*loaded, error) {
	item, at, ok := vdir.ConflictCopyOf(copyName)
	if !ok {
		return nil, fmt.Errorf("%s: %w", copyName, ErrNotACopy)
	}
	l := &loaded{Conflict: Conflict{Dir: d.Path(), File: item, Copy: copyName, At: at, Copied: fallback}, kind: kindOf(d.Ext())}
	var err error
	if l.copy, l.copyFP, err = d.Read(copyName); err != nil {
		return nil, err
	}
	note, ok, err := d.ConflictNote(copyName)
	if err != nil {
		return nil, err
	}
	if ok {
		l.Copied, l.base = Side(note.Side), note.Base
		if note.Name != "" {
			l.File = note.Name
		}
	}
	l.file, l.fileFP, err = d.Read(l.File)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.Problem = "the item file " + l.File + " is gone"
	case err != nil:
		return nil, err
	default:
		l.hasFile = true
	}
	l.Summary = l.kind.summary(l.file)
	if l.Summary == "" {
		l.Summary = l.kind.summary(l.copy)
	}
	if l.hasFile {
		l.compare()
	}
	return l, nil
}

// compare works out the changes: a merge of the two versions against the
// base names the properties both sides changed; without a base, every
// property they hold differently.
func (l *loaded) compare() {
	local, server := l.copy, l.file
	if l.Copied == Server {
		local, server = server, local
	}
	res, err := l.kind.merge(l.base, local, server, merge.ServerWins)
	if err != nil {
		l.Problem = err.Error()
		return
	}
	l.Merged = len(l.base) > 0
	for _, c := range res.Conflicts {
		l.Changes = append(l.Changes, Change{Component: c.Component, Property: c.Property, Base: c.Base, Local: c.Local, Server: c.Remote})
	}
}

// Keep is what a user keeps of a conflict.
type Keep string

// What a user may keep.
const (
	KeepLocal  Keep = "local"  // the local values of what both sides changed
	KeepServer Keep = "server" // the server's values
	KeepBoth   Keep = "both"   // both: the copy becomes an item of its own
)

// ParseKeep reads a --keep value.
func ParseKeep(s string) (Keep, error) {
	switch k := Keep(s); k {
	case KeepLocal, KeepServer, KeepBoth:
		return k, nil
	}
	return "", fmt.Errorf("--keep %q: want local, server or both", s)
}

// Resolution is what Resolve did.
type Resolution struct {
	// Wrote is the item file written: it now holds the values kept, and
	// the next pass uploads it. "" when the file held them already.
	Wrote string
	// NewItem is the file the copy became with KeepBoth: an item with a
	// new UID, which the next pass creates on the server.
	NewItem string
}

// Resolve settles the conflict copy copyName in the calendar or address
// book folder dir as keep says, then removes the copy. Keeping the side
// whose values the file holds removes the copy only. Keeping the copy's side writes the copy's
// values of the properties both sides changed into the file (the copy's
// version whole when the versions were not merged), as a local edit.
// KeepBoth writes the copy as a new item with a new UID. Every write is
// conditional on the file being as it was read: a file changed meanwhile
// is left alone and the error says so.
func Resolve(dir, copyName string, keep Keep, fallback Side) (Resolution, error) {
	d, err := open(dir, copyName)
	if err != nil {
		return Resolution{}, err
	}
	l, err := load(d, copyName, fallback)
	if err != nil {
		return Resolution{}, err
	}
	var res Resolution
	switch {
	case keep == KeepBoth:
		res.NewItem, err = l.asNewItem(d)
	case Side(keep) == l.Copied:
		res.Wrote, err = l.copyIntoFile(d)
	}
	if err != nil {
		return res, err
	}
	if err := d.RemoveConflictCopy(copyName, l.copyFP); err != nil {
		return res, fmt.Errorf("%s: %w", copyName, err)
	}
	return res, nil
}

// copyIntoFile writes the copy's values into the item file and returns its
// name, or "" when the file holds them already.
func (l *loaded) copyIntoFile(d *vdir.Dir) (string, error) {
	data, expect := l.copy, &l.fileFP
	switch {
	case !l.hasFile:
		expect = nil
	case len(l.base) > 0:
		// The file as it is, with the copy's values where both changed.
		m, err := l.kind.merge(l.base, l.file, l.copy, merge.ServerWins)
		if err != nil {
			return "", fmt.Errorf("%s cannot take the values of %s (%w): edit it by hand, or keep both", l.File, l.Copy, err)
		}
		data = m.Data
	}
	if l.hasFile && bytes.Equal(data, l.file) {
		return "", nil
	}
	if _, err := d.Write(l.File, data, expect); err != nil {
		return "", fmt.Errorf("%s: %w", l.File, err)
	}
	return l.File, nil
}

// asNewItem writes the copy as a new item file with a new UID and returns
// its name.
func (l *loaded) asNewItem(d *vdir.Dir) (string, error) {
	uid, err := l.kind.uid(l.copy)
	if err != nil {
		return "", fmt.Errorf("%s is not one valid item: %w", l.Copy, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	uid += "-vdird-" + hex.EncodeToString(b[:])
	name := "vdird-" + vdir.Hash([]byte(uid))[:16] + l.kind.ext
	if _, err := d.Write(name, l.kind.replaceUID(l.copy, uid), nil); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return name, nil
}
