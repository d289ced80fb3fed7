package plan

import "strings"

// Meta is a collection's metadata as one side holds it: its display name,
// colour and description. "" is an absent value.
type Meta struct {
	DisplayName string
	Color       string
	Description string
}

// MetaPlan is what brings a collection's metadata in step: Push holds the
// local values to set on the server (PROPPATCH), Pull the server's values
// to write into the folder, Base the values to record as last synced, and
// Notes tells the user about each field where both sides changed (the
// server wins) or a read-only collection kept a local change back.
type MetaPlan struct {
	Push, Pull Meta
	// PushFields and PullFields name the fields to push and to pull; a
	// field emptied on one side is a change too.
	PushFields, PullFields []string
	Base                   Meta
	Notes                  []string
}

// metaFields names the fields of Meta and reaches each of them.
var metaFields = []struct {
	name string
	get  func(*Meta) *string
	same func(a, b string) bool
}{
	{"displayname", func(m *Meta) *string { return &m.DisplayName }, sameText},
	{"color", func(m *Meta) *string { return &m.Color }, SameColor},
	{"description", func(m *Meta) *string { return &m.Description }, sameText},
}

func sameText(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }

// PlanMeta decides, field by field, from the last synced values (base),
// the folder's (local) and the server's (remote): local changed only →
// push; server changed only → pull; both changed differently → the server
// wins and a note says so. A read-only collection is never pushed: its
// local change is noted and the base keeps the server's value, so the note
// repeats while the folder differs. known is false for a collection with
// no recorded base: a value the server has is pulled, and one only the
// folder has is pushed. The base returned is what both sides hold after
// the plan is carried out.
func PlanMeta(base, local, remote Meta, known, readOnly bool) MetaPlan {
	var p MetaPlan
	for _, f := range metaFields {
		b, l, r := *f.get(&base), *f.get(&local), *f.get(&remote)
		if !known {
			b = "" // a value on the server wins; one only in the folder is new
		}
		localChanged, remoteChanged := !f.same(l, b), !f.same(r, b)
		switch {
		case f.same(l, r):
			*f.get(&p.Base) = r
		case localChanged && !remoteChanged && readOnly:
			*f.get(&p.Base) = r
			p.Notes = append(p.Notes, "the "+f.name+" changed in the folder is not sent: the collection is read-only")
		case localChanged && !remoteChanged:
			*f.get(&p.Push), *f.get(&p.Base) = l, l
			p.PushFields = append(p.PushFields, f.name)
		default:
			if localChanged && known {
				p.Notes = append(p.Notes, "the "+f.name+" changed on both sides: the server's is kept")
			}
			*f.get(&p.Pull), *f.get(&p.Base) = r, r
			p.PullFields = append(p.PullFields, f.name)
		}
	}
	return p
}

// SameColor tells whether two colour spellings name one colour: case is
// ignored, and "#RRGGBB" equals "#RRGGBBFF" (an opaque alpha), the two
// forms calendar-color values and vdir color files take.
func SameColor(a, b string) bool { return normColor(a) == normColor(b) }

func normColor(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) == 9 && c[0] == '#' && strings.HasSuffix(c, "FF") {
		return c[:7]
	}
	return c
}
