package merge

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	ical "github.com/emersion/go-ical"

	"github.com/vdird/vdird/internal/ics"
)

// gen is a generated item: components of property lines, rendered in a
// random layout (property order, folding, line endings) each time.
type gen struct {
	name  string
	props [][2]string // name with parameters, value
	subs  []*gen
}

func (g *gen) clone() *gen {
	c := &gen{name: g.name, props: slices.Clone(g.props)}
	for _, s := range g.subs {
		c.subs = append(c.subs, s.clone())
	}
	return c
}

func (g *gen) render(rnd *rand.Rand) []byte {
	eol := []string{"\r\n", "\n"}[rnd.IntN(2)]
	width := []int{75, 75, 30 + rnd.IntN(45), 1 << 20}[rnd.IntN(4)]
	shuffle := rnd.IntN(3) == 0
	var out bytes.Buffer
	var walk func(c *gen)
	walk = func(c *gen) {
		out.WriteString("BEGIN:" + c.name + eol)
		props := slices.Clone(c.props)
		if shuffle {
			rnd.Shuffle(len(props), func(i, j int) { props[i], props[j] = props[j], props[i] })
		}
		for _, p := range props {
			line := p[0] + ":" + p[1]
			for len(line) > width {
				out.WriteString(line[:width] + eol + " ")
				line = line[width:]
			}
			out.WriteString(line + eol)
		}
		for _, s := range c.subs {
			walk(s)
		}
		out.WriteString("END:" + c.name + eol)
	}
	walk(g)
	return out.Bytes()
}

func (g *gen) get(name string) int {
	for i, p := range g.props {
		if strings.SplitN(p[0], ";", 2)[0] == name {
			return i
		}
	}
	return -1
}

func (g *gen) set(name, value string) {
	if i := g.get(name); i >= 0 {
		g.props[i][1] = value
		return
	}
	g.props = append(g.props, [2]string{name, value})
}

func (g *gen) del(name string) {
	if i := g.get(name); i >= 0 {
		g.props = slices.Delete(g.props, i, i+1)
	}
}

func pick[T any](rnd *rand.Rand, xs []T) T { return xs[rnd.IntN(len(xs))] }

const genUID = "prop-test@example.org"

func genEvent(rnd *rand.Rand) *gen {
	master := &gen{name: "VEVENT", props: [][2]string{
		{"UID", genUID}, {"DTSTAMP", "20260101T000000Z"}, {"SEQUENCE", "0"},
		{"DTSTART;TZID=Europe/Berlin", "20270301T090000"}, {"RRULE", "FREQ=DAILY;COUNT=9"},
		{"SUMMARY", pick(rnd, summaries)}, {"CATEGORIES", "Work,Team"},
		{"ATTENDEE;PARTSTAT=ACCEPTED", "mailto:a@example.org"}, {"ATTENDEE;PARTSTAT=NEEDS-ACTION", "mailto:b@example.org"},
	}}
	if rnd.IntN(2) == 0 {
		master.set("DESCRIPTION", strings.Repeat(pick(rnd, summaries)+" ", 8))
	}
	master.subs = append(master.subs, genAlarm("-PT5M"))
	cal := &gen{name: "VCALENDAR", props: [][2]string{{"VERSION", "2.0"}, {"PRODID", "-//vdird//property test//EN"}},
		subs: []*gen{{name: "VTIMEZONE", props: [][2]string{{"TZID", "Europe/Berlin"}},
			subs: []*gen{{name: "STANDARD", props: [][2]string{{"DTSTART", "19701025T030000"}, {"TZOFFSETFROM", "+0200"}, {"TZOFFSETTO", "+0100"}}}}}, master}}
	for range rnd.IntN(3) {
		addOverride(rnd, cal)
	}
	return cal
}

var (
	summaries = []string{"Standup", "Review", "Café ☕ talk", "Planning; Q1, Q2", "Lunch"}
	triggers  = []string{"-PT5M", "-PT10M", "-PT1H", "PT0S"}
	days      = []string{"02", "03", "04", "05", "06"}
	people    = []string{"a", "b", "c", "d", "e"}
	statuses  = []string{"ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"}
	cats      = []string{"Work", "Team", "Home", "Urgent"}
)

func genAlarm(trigger string) *gen {
	return &gen{name: "VALARM", props: [][2]string{{"ACTION", "DISPLAY"}, {"TRIGGER", trigger}, {"DESCRIPTION", "Reminder"}}}
}

func addOverride(rnd *rand.Rand, cal *gen) {
	d := pick(rnd, days)
	for _, s := range cal.subs {
		if i := s.get("RECURRENCE-ID"); i >= 0 && s.props[i][1] == "202703"+d+"T090000" {
			return
		}
	}
	cal.subs = append(cal.subs, &gen{name: "VEVENT", props: [][2]string{
		{"UID", genUID}, {"RECURRENCE-ID;TZID=Europe/Berlin", "202703" + d + "T090000"},
		{"DTSTAMP", "20260101T000000Z"}, {"DTSTART;TZID=Europe/Berlin", "202703" + d + "T1" + strconv.Itoa(rnd.IntN(10)) + "0000"},
		{"SUMMARY", pick(rnd, summaries)}}})
}

// items are the calendar's item components; the master comes first.
func (g *gen) items() []*gen {
	var out []*gen
	for _, s := range g.subs {
		if s.name == "VEVENT" {
			out = append(out, s)
		}
	}
	return out
}

// editEvent makes one random edit of the kinds people and clients make.
func editEvent(rnd *rand.Rand, cal *gen) {
	items := cal.items()
	c := pick(rnd, items)
	switch rnd.IntN(12) {
	case 0:
		c.set("SUMMARY", pick(rnd, summaries))
	case 1:
		c.set("LOCATION", "Room "+strconv.Itoa(rnd.IntN(3)))
	case 2:
		c.del(pick(rnd, []string{"LOCATION", "DESCRIPTION", "SUMMARY"}))
	case 3:
		n, _ := strconv.Atoi(items[0].props[items[0].get("SEQUENCE")][1])
		items[0].set("SEQUENCE", strconv.Itoa(n+1+rnd.IntN(3)))
		items[0].set("DTSTAMP", "202601"+pick(rnd, days)+"T000000Z")
	case 4:
		items[0].props = append(items[0].props, [2]string{"ATTENDEE;PARTSTAT=" + pick(rnd, statuses), "mailto:" + pick(rnd, people) + "@example.org"})
		dedupAttendees(items[0])
	case 5:
		if i := items[0].get("ATTENDEE"); i >= 0 {
			items[0].props = slices.Delete(items[0].props, i, i+1)
		}
	case 6:
		if i := items[0].get("ATTENDEE"); i >= 0 {
			items[0].props[i][0] = "ATTENDEE;PARTSTAT=" + pick(rnd, statuses)
		}
	case 7:
		editCategories(rnd, items[0])
	case 8:
		addOverride(rnd, cal)
	case 9:
		if len(items) > 1 {
			i := slices.Index(cal.subs, items[1+rnd.IntN(len(items)-1)])
			cal.subs = slices.Delete(cal.subs, i, i+1)
		}
	case 10:
		trigger := pick(rnd, triggers)
		if !slices.ContainsFunc(items[0].subs, func(a *gen) bool { return a.props[1][1] == trigger }) {
			items[0].subs = append(items[0].subs, genAlarm(trigger))
		}
	case 11:
		if len(items[0].subs) > 0 {
			items[0].subs[0].set("DESCRIPTION", pick(rnd, summaries))
		}
	}
}

func dedupAttendees(c *gen) {
	seen := map[string]bool{}
	c.props = slices.DeleteFunc(c.props, func(p [2]string) bool {
		if !strings.HasPrefix(p[0], "ATTENDEE") {
			return false
		}
		dup := seen[p[1]]
		seen[p[1]] = true
		return dup
	})
}

func editCategories(rnd *rand.Rand, c *gen) {
	var have []string
	if i := c.get("CATEGORIES"); i >= 0 {
		have = strings.Split(c.props[i][1], ",")
	}
	cat := pick(rnd, cats)
	if i := slices.Index(have, cat); i >= 0 {
		have = slices.Delete(have, i, i+1)
	} else {
		have = append(have, cat)
	}
	if len(have) == 0 {
		c.del("CATEGORIES")
		return
	}
	c.set("CATEGORIES", strings.Join(have, ","))
}

// view is what an item means, read independently of the merge: per
// component (named as conflicts name them) and property, its sorted
// elements, list values split and parameters sorted.
type view map[string]map[string][]string

func viewOf(t *testing.T, data []byte) view {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, data)
	}
	v := view{}
	var walk func(path string, c *ical.Component)
	walk = func(path string, c *ical.Component) {
		props := map[string][]string{}
		for name, ps := range c.Props {
			for _, p := range ps {
				var params []string
				for _, k := range slices.Sorted(maps.Keys(p.Params)) {
					params = append(params, k+"="+strings.Join(p.Params[k], ","))
				}
				values := []string{p.Value}
				if name == "CATEGORIES" || name == "EXDATE" {
					values = strings.Split(p.Value, ",")
				}
				for _, val := range values {
					props[name] = append(props[name], strings.Join(params, ";")+":"+val)
				}
			}
			slices.Sort(props[name])
			props[name] = slices.Compact(props[name])
		}
		v[path] = props
		for _, s := range c.Children {
			walk(join(path, genLabel(s)), s)
		}
	}
	walk("VCALENDAR", cal.Component)
	return v
}

func genLabel(c *ical.Component) string {
	switch c.Name {
	case "VALARM":
		return "VALARM TRIGGER:" + c.Props.Get("TRIGGER").Value + " ACTION:" + c.Props.Get("ACTION").Value
	case "VTIMEZONE":
		return "VTIMEZONE " + c.Props.Get("TZID").Value
	case "VEVENT":
		if rid := c.Props.Get("RECURRENCE-ID"); rid != nil {
			return "VEVENT RECURRENCE-ID:" + rid.Value
		}
	}
	return c.Name
}

// TestMerge_Property_RandomEditsOnBothSides merges random edits of
// generated events, each side rendered in its own layout, and checks the
// rules: one side's edit comes through unchanged, a property both changed
// matches one side and is reported, merging against an unchanged server
// returns the local bytes, merging the result again changes nothing, and
// the result is one valid item.
func TestMerge_Property_RandomEditsOnBothSides(t *testing.T) {
	for seed := range uint64(1500) {
		rnd := rand.New(rand.NewPCG(seed, 25))
		base := genEvent(rnd)
		x, y := base.clone(), base.clone()
		for range rnd.IntN(4) {
			editEvent(rnd, x)
		}
		for range rnd.IntN(4) {
			editEvent(rnd, y)
		}
		b, l, r := base.render(rnd), x.render(rnd), y.render(rnd)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkMerge(t, b, l, r) })
		if t.Failed() {
			t.Fatalf("seed %d:\nbase:\n%s\nlocal:\n%s\nserver:\n%s", seed, b, l, r)
		}
	}
}

func checkMerge(t *testing.T, b, l, r []byte) {
	res, err := ICal(b, l, b, ServerWins)
	if err != nil || !bytes.Equal(res.Data, l) || !res.Clean || res.LocalChanged {
		t.Fatalf("merge against an unchanged server: err %v, clean %v, changed %v, data:\n%s", err, res.Clean, res.LocalChanged, res.Data)
	}
	res, err = ICal(b, b, r, ServerWins)
	if err != nil || !reflect.DeepEqual(viewOf(t, res.Data), viewOf(t, r)) || !res.Clean || res.RemoteChanged {
		t.Fatalf("merge of an unchanged local file: err %v, clean %v, data:\n%s", err, res.Clean, res.Data)
	}
	server, err := ICal(b, l, r, ServerWins)
	if err != nil {
		t.Fatal(err)
	}
	local, err := ICal(b, r, l, LocalWins)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ICal(b, server.Data, r, ServerWins)
	if err != nil || !bytes.Equal(again.Data, server.Data) {
		t.Fatalf("merging the merged item again changed it (%v):\n%s\nthen\n%s", err, server.Data, again.Data)
	}
	got := viewOf(t, server.Data)
	if !reflect.DeepEqual(got, viewOf(t, local.Data)) || len(server.Conflicts) != len(local.Conflicts) {
		t.Fatalf("merge depends on which side is local:\n%s\nand\n%s", server.Data, local.Data)
	}
	if info, err := ics.Inspect(server.Data); err != nil || info.UID != genUID {
		t.Fatalf("merged item invalid (%v) or UID %q", err, info.UID)
	}
	checkRules(t, viewOf(t, b), viewOf(t, l), viewOf(t, r), got, server.Conflicts)
}

// checkRules checks each property of each component all three versions
// hold: a property changed on one side only has that side's value, one
// changed on both has one side's value, and is reported unless it is a
// SEQUENCE or DTSTAMP (the larger or later wins) or a set whose elements
// merge.
func checkRules(t *testing.T, b, l, r, got view, conflicts []Conflict) {
	for comp, bp := range b {
		lp, lok := l[comp]
		rp, rok := r[comp]
		if !lok || !rok {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(union(bp, lp, rp))) {
			bv, lv, rv, gv := bp[name], lp[name], rp[name], got[comp][name]
			reported := slices.ContainsFunc(conflicts, func(c Conflict) bool { return c.Component == comp && c.Property == name })
			switch {
			case slices.Equal(rv, bv) && !slices.Equal(gv, lv), slices.Equal(lv, bv) && !slices.Equal(gv, rv):
				t.Errorf("%s %s changed on one side: got %q, base %q, local %q, server %q", comp, name, gv, bv, lv, rv)
			case slices.Equal(lv, bv) || slices.Equal(rv, bv) || slices.Equal(lv, rv):
			case name == "SEQUENCE":
				ln, _ := strconv.Atoi(strings.TrimPrefix(lv[0], ":"))
				rn, _ := strconv.Atoi(strings.TrimPrefix(rv[0], ":"))
				if want := ":" + strconv.Itoa(max(ln, rn)); gv[0] != want {
					t.Errorf("SEQUENCE %q, want the larger %q", gv, want)
				}
			case name == "DTSTAMP":
				if want := max(lv[0], rv[0]); gv[0] != want {
					t.Errorf("DTSTAMP %q, want the later %q", gv, want)
				}
			case name == "ATTENDEE" || name == "CATEGORIES":
				checkSet(t, comp, name, bv, lv, rv, gv, reported)
			case !slices.Equal(gv, rv) || !reported:
				t.Errorf("%s %s changed on both sides: got %q (reported %v), server's %q", comp, name, gv, reported, rv)
			}
		}
	}
}

func union(ms ...map[string][]string) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// checkSet checks the set rule: what both hold, plus what either added,
// less what either removed. An attendee is one element whatever its
// parameters: one changed differently on both sides holds the version of
// one side and is reported.
func checkSet(t *testing.T, comp, name string, b, l, r, got []string, reported bool) {
	id := func(x string) string {
		if name == "ATTENDEE" {
			_, v, _ := strings.Cut(x, ":")
			return v
		}
		return x
	}
	version := func(xs []string, key string) string {
		i := slices.IndexFunc(xs, func(x string) bool { return id(x) == key })
		if i < 0 {
			return ""
		}
		return xs[i]
	}
	var want []string
	for _, x := range slices.Concat(b, l, r, got) {
		key := id(x)
		bv, lv, rv, gv := version(b, key), version(l, key), version(r, key), version(got, key)
		w := lv
		switch {
		case lv == rv || rv == bv:
		case lv == bv:
			w = rv
		default:
			if (gv != lv && gv != rv) || !reported {
				t.Errorf("%s %s %s changed on both sides: got %q (reported %v)", comp, name, key, gv, reported)
			}
			w = gv
		}
		if w != "" && !slices.Contains(want, w) {
			want = append(want, w)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s %s: got %q, want %q from base %q, local %q, server %q", comp, name, got, want, b, l, r)
	}
}
