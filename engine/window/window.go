// Package window is what part of a calendar a pass syncs when the
// configuration narrows it: a date window that moves with the clock
// ("-30d" to "+365d" from now) and the component types to list
// ("VEVENT"). It reads the configured offsets, turns them into the range a
// listing asks for at a given time, and tells which recorded members a
// narrowed listing left out and so must be looked up before anything is
// taken for deleted. No I/O, no clock of its own.
package window

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Units are the units an offset may take: days, weeks, months and years.
const Units = "d, w, m, y"

// Offset is a distance from now in whole days, weeks, months or years,
// negative into the past.
type Offset struct {
	N    int
	Unit byte // 'd', 'w', 'm' or 'y'
}

// ErrOffset is the error of an offset that cannot be read.
var ErrOffset = errors.New(`want a signed number and a unit, like "-30d" or "+1y" (units: ` + Units + `)`)

// ParseOffset reads an offset such as "-30d", "+365d", "2w", "-6m", "+1y"
// or "0d".
func ParseOffset(s string) (Offset, error) {
	t := strings.TrimSpace(s)
	if len(t) < 2 {
		return Offset{}, fmt.Errorf("%q: %w", s, ErrOffset)
	}
	unit := t[len(t)-1]
	if !strings.ContainsRune("dwmy", rune(unit)) {
		return Offset{}, fmt.Errorf("%q: %w", s, ErrOffset)
	}
	num := t[:len(t)-1]
	if strings.ContainsAny(num[1:], "+-") || num == "+" || num == "-" {
		return Offset{}, fmt.Errorf("%q: %w", s, ErrOffset)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n > 10000 || n < -10000 {
		return Offset{}, fmt.Errorf("%q: %w", s, ErrOffset)
	}
	return Offset{N: n, Unit: unit}, nil
}

// From is the time the offset points at from now.
func (o Offset) From(now time.Time) time.Time {
	switch o.Unit {
	case 'w':
		return now.AddDate(0, 0, 7*o.N)
	case 'm':
		return now.AddDate(0, o.N, 0)
	case 'y':
		return now.AddDate(o.N, 0, 0)
	}
	return now.AddDate(0, 0, o.N)
}

// String spells the offset as the configuration does.
func (o Offset) String() string {
	sign := "+"
	if o.N < 0 {
		sign = ""
	}
	return sign + strconv.Itoa(o.N) + string(o.Unit)
}

// Window is a date range that moves with the clock: from Start to End
// after now.
type Window struct{ Start, End Offset }

// Parse reads the configured window, two offsets: where it starts and
// where it ends. The start must come before the end.
func Parse(vals []string) (*Window, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("want two offsets, where it starts and where it ends, like [\"-30d\", \"+365d\"] (units: %s)", Units)
	}
	start, err := ParseOffset(vals[0])
	if err != nil {
		return nil, err
	}
	end, err := ParseOffset(vals[1])
	if err != nil {
		return nil, err
	}
	w := &Window{Start: start, End: end}
	ref := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if s, e := w.Range(ref); !s.Before(e) || !start.From(ref).Before(end.From(ref)) {
		return nil, fmt.Errorf("%s to %s: the start must come before the end", start, end)
	}
	return w, nil
}

// Range is the window at now, in whole UTC days: from the start of the
// day Start points at to the end of the day End points at, so that it
// moves once a day, at midnight UTC, and always covers both offsets.
func (w Window) Range(now time.Time) (start, end time.Time) {
	return day(w.Start.From(now.UTC())), day(w.End.From(now.UTC())).AddDate(0, 0, 1)
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// Scope is what of one calendar a pass syncs: the items overlapping the
// window (nil: no window) of the given component types (nil: every type).
type Scope struct {
	Window     *Window
	Components []string // upper case
}

// Narrowed tells whether the scope leaves anything of a calendar out.
func (s Scope) Narrowed() bool { return s.Window != nil || s.Components != nil }

// Range is the window at now; ok is false without a window.
func (s Scope) Range(now time.Time) (start, end time.Time, ok bool) {
	if s.Window == nil {
		return time.Time{}, time.Time{}, false
	}
	start, end = s.Window.Range(now)
	return start, end, true
}

// Key spells what a listing made at now covers, "" for a whole calendar.
// A pass records it with the change marker: a listing covers what it
// covered while the key stays the same, and a moved window or a changed
// configuration makes the next pass list again.
func (s Scope) Key(now time.Time) string {
	if !s.Narrowed() {
		return ""
	}
	var b strings.Builder
	if start, end, ok := s.Range(now); ok {
		b.WriteString(start.Format("20060102") + "-" + end.Format("20060102"))
	}
	if s.Components != nil {
		b.WriteString(" " + strings.Join(s.Components, ","))
	}
	return strings.TrimSpace(b.String())
}

// Holds tells whether the scope takes items of component type comp.
func (s Scope) Holds(comp string) bool {
	return s.Components == nil || slices.ContainsFunc(s.Components, func(c string) bool { return strings.EqualFold(c, comp) })
}

// Absent returns, sorted, the recorded members (known: href → etag) that a
// narrowed listing (listed: href → etag) does not name. Each is outside
// the scope or deleted on the server; only a look at it tells which.
func Absent(known, listed map[string]string) []string {
	var out []string
	for h := range known {
		if _, ok := listed[h]; !ok {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// Members is the server's side of a narrowed calendar for a pass: every
// member the listing named, and every recorded member it did not name
// unless the server said it is gone. A recorded member the server said it
// holds (present: href → etag) keeps syncing with that etag; one the
// server neither showed nor denied keeps its recorded etag, as unchanged.
func Members(known, listed, present map[string]string, gone []string) map[string]string {
	out := maps.Clone(listed)
	if out == nil {
		out = map[string]string{}
	}
	for _, h := range Absent(known, listed) {
		switch etag, ok := present[h]; {
		case ok:
			out[h] = etag
		case slices.Contains(gone, h):
		default:
			out[h] = known[h]
		}
	}
	return out
}

// Overlaps tells whether a recurring item (data, one iCalendar object)
// has an instance overlapping start to end, as RFC 4791 §9.9 has a server
// work it out. A server that matches a time range against a series'
// first instance alone (Xandikos 0.2) leaves such an item out of a
// listing; the client asks for every recurring item that starts before
// the end and keeps those this accepts. Data that cannot be read, or a
// recurrence it cannot expand, counts as overlapping: taking an item too
// many loses nothing.
func Overlaps(data []byte, start, end time.Time) bool {
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return true
	}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			continue
		}
		set, err := c.RecurrenceSet(time.UTC)
		if err != nil {
			return true
		}
		if set == nil {
			continue
		}
		dur, ok := length(c)
		if !ok {
			return true
		}
		// An instance from s overlaps when s < end and s+dur > start (a
		// zero-length one: s >= start).
		if s := set.After(start.Add(-dur), dur == 0); !s.IsZero() && s.Before(end) {
			return true
		}
	}
	return false
}

// length is how long each instance of component c lasts: DTEND or DUE
// minus DTSTART, or DURATION; a day for a date without either, else 0.
func length(c *ical.Component) (time.Duration, bool) {
	s, err := c.Props.DateTime(ical.PropDateTimeStart, time.UTC)
	if err != nil {
		return 0, false
	}
	for _, name := range []string{ical.PropDateTimeEnd, ical.PropDue} {
		if c.Props.Get(name) != nil {
			e, err := c.Props.DateTime(name, time.UTC)
			return max(e.Sub(s), 0), err == nil
		}
	}
	if p := c.Props.Get(ical.PropDuration); p != nil {
		d, err := p.Duration()
		return max(d, 0), err == nil
	}
	if p := c.Props.Get(ical.PropDateTimeStart); p != nil && p.ValueType() == ical.ValueDate {
		return 24 * time.Hour, true
	}
	return 0, true
}
