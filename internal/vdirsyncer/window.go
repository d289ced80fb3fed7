package vdirsyncer

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// window reads a caldav storage's start_date and end_date into acc's
// window, and its item_types into acc's components. vdirsyncer evaluates
// the dates as Python; the forms that count from now (datetime.now() plus
// or minus a timedelta of days, weeks or hours) become offsets in days,
// rounded outwards so the window covers what vdirsyncer synced. Anything
// else is noted, naming the expression.
func (r *reader) window(acc *account) {
	start, end := r.plain("start_date"), r.plain("end_date")
	switch {
	case start == nil && end == nil:
	case start == nil || end == nil:
		key := map[bool]string{true: "start_date", false: "end_date"}[end == nil]
		r.note(key, "not converted: vdirsyncer takes start_date and end_date together")
	default:
		s, whyS := offsetHours(start, nil)
		e, whyE := offsetHours(end, &s)
		switch {
		case whyS != "" || whyE != "":
			for _, d := range []struct{ key, why, other string }{{"start_date", whyS, "end_date"}, {"end_date", whyE, "start_date"}} {
				if d.why == "" {
					d.why = "it goes with " + d.other + ", which is not converted"
				}
				r.note(d.key, "not converted: %s: %s", show(map[string]any{"start_date": start, "end_date": end}[d.key]), d.why)
			}
		case e <= s:
			r.note("end_date", "not converted: %s to %s: the window ends before it starts", show(start), show(end))
		default:
			from, to := -ceilDiv(-s, 24), ceilDiv(e, 24)
			if from < -maxDays || to > maxDays {
				r.note("start_date", "not converted: %s to %s: vdird's window reaches %d days either way at most", show(start), show(end), maxDays)
				return
			}
			acc.Window = []string{signed(from, "-"), signed(to, "+")}
		}
	}
	r.components(acc)
}

// maxDays is how far from now a window offset may reach.
const maxDays = 10000

// components reads item_types into acc's components.
func (r *reader) components(acc *account) {
	v := r.plain("item_types")
	types, ok := stringList(v)
	switch {
	case v == nil || ok && len(types) == 0:
	case !ok || slices.ContainsFunc(types, func(t string) bool { return !slices.Contains([]string{"VEVENT", "VTODO", "VJOURNAL"}, t) }):
		r.note("item_types", "not converted: %s: want some of \"VEVENT\", \"VTODO\", \"VJOURNAL\"", show(v))
	default:
		acc.Components = slices.Compact(slices.Sorted(slices.Values(types)))
	}
}

// signed spells a number of days as an offset, with sign before 0.
func signed(days int, sign string) string {
	if days == 0 {
		return sign + "0d"
	}
	return fmt.Sprintf("%+dd", days)
}

// ceilDiv is a/b rounded up, for b > 0.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b > 0 {
		q++
	}
	return q
}

var (
	// dateBase is where a date expression starts: now, today, or (for
	// end_date) the start date.
	dateBase = regexp.MustCompile(`^\s*(?:(datetime\s*\.\s*(?:now|today|utcnow)\s*\(\s*\)|date\s*\.\s*today\s*\(\s*\))|(start_date))`)
	// dateTerm is one "+ timedelta(...)" or "- timedelta(...)" after it.
	dateTerm = regexp.MustCompile(`^\s*([+-])\s*timedelta\s*\(([^()]*)\)`)
)

// offsetHours reads a start_date or end_date expression as hours from now;
// start is the start date's, which end_date may build on (nil for
// start_date itself). why says what cannot be read.
func offsetHours(v any, start *int) (hours int, why string) {
	const want = `want datetime.now() plus or minus a timedelta of days, weeks or hours; set vdird's window by hand, like ["-365d", "+365d"]`
	expr, ok := v.(string)
	m := dateBase.FindStringSubmatchIndex(expr)
	switch {
	case !ok || m == nil:
		return 0, want
	case m[4] >= 0 && start == nil:
		return 0, "start_date cannot build on itself"
	case m[4] >= 0:
		hours = *start
	}
	rest := expr[m[1]:]
	for strings.TrimSpace(rest) != "" {
		t := dateTerm.FindStringSubmatch(rest)
		if t == nil {
			return 0, want
		}
		h, ok := timedeltaHours(t[2])
		if !ok {
			return 0, want
		}
		if t[1] == "-" {
			h = -h
		}
		hours += h
		rest = rest[len(t[0]):]
	}
	return hours, ""
}

// timedeltaHours reads the arguments of a Python timedelta of whole days
// (also the first positional argument), weeks and hours.
func timedeltaHours(args string) (int, bool) {
	unit := map[string]int{"days": 24, "weeks": 7 * 24, "hours": 1}
	hours := 0
	for i, arg := range strings.Split(args, ",") {
		arg = strings.TrimSpace(arg)
		name, val, named := strings.Cut(arg, "=")
		if !named {
			name, val = "days", arg // timedelta(365): the first argument is days
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		per := unit[strings.TrimSpace(name)]
		switch {
		case arg == "" && i > 0 && i == strings.Count(args, ","): // a trailing comma
		case err != nil || per == 0 || !named && i > 0 || n > 1e6 || n < -1e6:
			return 0, false
		default:
			hours += n * per
		}
	}
	return hours, true
}
