// Package merge is the three-way merge of a calendar item (or an address
// book card) changed on both sides: it takes the last synced version (the base), the local one and the
// server's, and keeps the edits of both. Components are matched by identity,
// properties compared by meaning (not by layout), multi-valued properties
// merged as sets, and a property changed differently on both sides is a
// conflict decided by a policy. The result is the local file with only the
// lines taken from the server changed. The package is pure: no I/O, no
// clock, no logging.
package merge

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	ical "github.com/emersion/go-ical"

	"github.com/vdird/vdird/internal/ics"
)

// Policy decides a property (or component) that both sides changed
// differently.
type Policy int

const (
	// ServerWins takes the server's version of a conflicting property.
	ServerWins Policy = iota
	// LocalWins keeps the local version of a conflicting property.
	LocalWins
)

// Conflict is one property, or one whole component, that both sides
// changed differently. Base, Local and Remote are its content lines,
// unfolded and one per line, "" where that version has none.
type Conflict struct {
	// Component names where it is: "VCALENDAR" for the calendar's own
	// properties, else a path such as "VEVENT", "VEVENT
	// RECURRENCE-ID:20250301T090000Z" or "VEVENT/VALARM TRIGGER:-PT15M
	// ACTION:DISPLAY"; "VCARD" in a card.
	Component string
	// Property is the property's name, or "" when the whole component was
	// deleted on one side and changed on the other.
	Property string

	Base, Local, Remote string
}

// Result is a merge's outcome.
type Result struct {
	// Data is the merged item: the local bytes with only the lines of what
	// was taken from the server changed.
	Data []byte
	// Conflicts lists what both sides changed differently, each decided by
	// the policy; Clean says there was none.
	Conflicts []Conflict
	Clean     bool
	// LocalChanged says Data differs from the local bytes (the file is to be
	// written); RemoteChanged says it differs in content from the server's
	// version (it is to be uploaded).
	LocalChanged, RemoteChanged bool
}

// ErrCannotMerge is wrapped by every error: a version that is not one valid
// calendar item (or card), versions of different items, or a merge whose result
// would not be one valid item. The caller then handles the item as a
// conflict without merging.
var ErrCannotMerge = errors.New("cannot merge")

// ICal merges local and remote, two edits of the iCalendar object base.
// base may be empty, when both sides created the item: then everything
// both sides hold differently is a conflict. The policy decides conflicts;
// the caller keeps the losing version whole (a conflict copy) when the
// result is not Clean.
func ICal(base, local, remote []byte, policy Policy) (Result, error) {
	return run(base, local, remote, policy, parseItem)
}

// parser reads one version of an item and returns its UID.
type parser func(which string, data []byte) (*doc, string, error)

// run merges with the rules common to iCalendar and vCard; parse reads
// each version.
func run(base, local, remote []byte, policy Policy, parse parser) (Result, error) {
	m := &merger{policy: policy, edits: edits{replace: map[int][]byte{}, insert: map[int][][]byte{}}}
	l, uid, err := parse("local", local)
	if err != nil {
		return Result{}, err
	}
	if m.remote, err = parseSame(parse, "server", remote, uid); err != nil {
		return Result{}, err
	}
	m.local = l
	var b *comp
	if len(base) > 0 {
		if m.base, err = parseSame(parse, "base", base, uid); err != nil {
			return Result{}, err
		}
		b = m.base.root
	}
	r := m.remote
	m.comp("VCALENDAR", b, l.root, r.root)
	if m.edits.clash {
		return Result{}, fmt.Errorf("%w: one line would be edited twice", ErrCannotMerge)
	}
	data := m.render()
	out, err := parseSame(parse, "merged", data, uid)
	if err != nil {
		return Result{}, err
	}
	if zones := missingZones(out.root, l.root, r.root); len(zones) > 0 {
		at := l.root.end
		if len(l.root.subs) > 0 {
			at = l.root.subs[0].begin
		}
		for _, z := range zones {
			m.insert(at, r.block(z, m.eolAt(at-1)))
		}
		data = m.render()
		if out, err = parseSame(parse, "merged", data, uid); err != nil {
			return Result{}, err
		}
	}
	return Result{Data: data, Conflicts: m.conflicts, Clean: len(m.conflicts) == 0,
		LocalChanged:  !bytes.Equal(data, local),
		RemoteChanged: out.root.fingerprint() != r.root.fingerprint()}, nil
}

// parseSame parses a version that must hold the UID uid.
func parseSame(parse parser, which string, data []byte, uid string) (*doc, error) {
	d, got, err := parse(which, data)
	if err == nil && got != uid {
		err = fmt.Errorf("%w: %s version holds UID %q, not %q", ErrCannotMerge, which, got, uid)
	}
	return d, err
}

// render is the local file with the edits made, without the lines a
// parser wrapped it in.
func (m *merger) render() []byte {
	out := m.edits.render(m.local.lines)
	return out[m.local.head : len(out)-m.local.tail]
}

// merger holds one merge's inputs and what it decided so far: edits of the
// local lines and the conflicts met.
type merger struct {
	policy              Policy
	base, local, remote *doc // base is nil when there is none
	edits               edits
	conflicts           []Conflict
}

func (m *merger) conflict(c Conflict) { m.conflicts = append(m.conflicts, c) }

func (m *merger) insert(at int, b []byte) {
	m.edits.insert[at] = append(m.edits.insert[at], b)
}

// eolAt is the line ending of local line i, or of the nearest line before it
// that has one: lines put into the file follow the lines around them.
func (m *merger) eolAt(i int) string {
	for ; i >= 0; i-- {
		if i < len(m.local.lines) {
			if eol := eolOf(m.local.lines[i].raw); eol != "" {
				return eol
			}
		}
	}
	return "\r\n"
}

// parseItem validates data as one calendar item and reads it.
func parseItem(which string, data []byte) (*doc, string, error) {
	info, err := ics.Inspect(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s version: %w", ErrCannotMerge, which, err)
	}
	d, err := decode(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s version: %w", ErrCannotMerge, which, err)
	}
	return d, info.UID, nil
}

// decode parses data with go-ical and ties its properties to their lines.
func decode(data []byte) (d *doc, err error) {
	defer func() {
		if p := recover(); p != nil { // go-ical panics on some malformed input
			d, err = nil, fmt.Errorf("%v", p)
		}
	}()
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return nil, err
	}
	return parseDoc(data, cal)
}

// texts are the unfolded lines of some properties, one per line.
func (d *doc) texts(ps []prop) string {
	if d == nil {
		return ""
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = d.lines[p.line].text
	}
	return strings.Join(lines, "\n")
}

// lineText is the unfolded line an element is on, "" for no element.
func (d *doc) lineText(e elem) string {
	if d == nil || e.content == "" {
		return ""
	}
	return d.lines[e.line].text
}

// missingZones are the server's time zone definitions that the merged item
// refers to by TZID but lacks while the local version did not, as when the
// local side dropped a zone that an override taken from the server uses.
func missingZones(merged, local, remote *comp) []*comp {
	before := unresolved(local)
	var out []*comp
	for tzid := range unresolved(merged) {
		if before[tzid] {
			continue
		}
		for _, z := range remote.subs {
			if tz := z.first("TZID"); z.name == "VTIMEZONE" && tz != nil && tz.Value == tzid {
				out = append(out, z)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b *comp) int { return a.begin - b.begin })
	return out
}

// unresolved are the TZIDs an item refers to without defining them.
func unresolved(cal *comp) map[string]bool {
	refs := map[string]bool{}
	var walk func(c *comp)
	walk = func(c *comp) {
		for _, p := range c.props {
			if tzid := p.Params.Get("TZID"); tzid != "" {
				refs[tzid] = true
			}
		}
		for _, s := range c.subs {
			if s.name != "VTIMEZONE" {
				walk(s)
			}
		}
	}
	walk(cal)
	for _, s := range cal.subs {
		if tz := s.first("TZID"); s.name == "VTIMEZONE" && tz != nil {
			delete(refs, tz.Value)
		}
	}
	return refs
}
