// Package window is what part of a calendar a pass syncs when the
// configuration narrows it: a date window that moves with the clock
// ("-30d" to "+365d" from now) and the component types to list
// ("VEVENT"). It reads the configured offsets, turns them into the range a
// listing asks for at a given time, and tells which recorded members a
// narrowed listing left out and so must be looked up before anything is
// taken for deleted. No I/O, no clock of its own.
package window

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
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

// Range is the window at now, in UTC whole days: from the midnight before
// Start to the midnight after End, so that it moves once a day and always
// covers both offsets.
func (w Window) Range(now time.Time) (start, end time.Time) {
	start = day(w.Start.From(now.UTC()))
	end = w.End.From(now.UTC())
	if e := day(end); e.Before(end) {
		end = e.AddDate(0, 0, 1)
	}
	return start, end
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
