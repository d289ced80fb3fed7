package merge

import (
	"slices"
	"strconv"
	"strings"
)

// props merges the properties of a component present locally and on the
// server; b is nil when both sides added the component.
func (m *merger) props(path string, b, l, r *comp) {
	bp, lp, rp := groups(b), groups(l), groups(r)
	var names []string
	for _, c := range []*comp{l, r, b} {
		if c == nil {
			continue
		}
		for _, p := range c.props {
			if !slices.Contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
	}
	for _, n := range names {
		if ruleFor(l.name, n) != nil {
			m.set(path, l, n, bp[n], lp[n], rp[n])
		} else {
			m.single(path, l, n, bp[n], lp[n], rp[n])
		}
	}
}

// groups are a component's properties by name, in file order.
func groups(c *comp) map[string][]prop {
	g := map[string][]prop{}
	if c != nil {
		for _, p := range c.props {
			g[p.Name] = append(g[p.Name], p)
		}
	}
	return g
}

// groupKey is what all the lines of one property hold, in no order.
func groupKey(ps []prop) string {
	keys := make([]string, len(ps))
	for i := range ps {
		keys[i] = propKey(&ps[i].Prop)
	}
	slices.Sort(keys)
	return strings.Join(keys, "\n")
}

// single merges a property taken as a whole: the side that changed it wins;
// when both changed it differently, SEQUENCE takes the larger number,
// DTSTAMP, LAST-MODIFIED and ACKNOWLEDGED the later time, PRODID (which
// names the last program that wrote the file) the policy's side, and
// anything else is a conflict decided by the policy.
func (m *merger) single(path string, l *comp, name string, bp, lp, rp []prop) {
	bk, lk, rk := groupKey(bp), groupKey(lp), groupKey(rp)
	switch {
	case lk == rk || rk == bk:
	case lk == bk:
		m.takeRemote(l, lp, rp)
	case name == "SEQUENCE":
		if number(rp) > number(lp) {
			m.takeRemote(l, lp, rp)
		}
	case name == "DTSTAMP" || name == "LAST-MODIFIED" || name == "ACKNOWLEDGED" || name == "REV":
		if stamp(rp) > stamp(lp) {
			m.takeRemote(l, lp, rp)
		}
	case name == "PRODID":
		if m.policy == ServerWins {
			m.takeRemote(l, lp, rp)
		}
	default:
		m.conflict(Conflict{Component: path, Property: name,
			Base: m.base.texts(bp), Local: m.local.texts(lp), Remote: m.remote.texts(rp)})
		if m.policy == ServerWins {
			m.takeRemote(l, lp, rp)
		}
	}
}

// number is an integer property's value, -1 when absent or not a number.
func number(ps []prop) int {
	if len(ps) == 0 {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(ps[0].Value))
	if err != nil {
		return -1
	}
	return n
}

// stamp is a date-time property's value as written, "" when absent.
// DTSTAMP and LAST-MODIFIED are UTC (RFC 5545 §3.8.7), whose fixed-width
// form sorts in time order.
func stamp(ps []prop) string {
	if len(ps) == 0 {
		return ""
	}
	return strings.ToUpper(strings.TrimSpace(ps[0].Value))
}

// takeRemote puts the server's lines of a property in place of the local
// ones: in the place of the first local line, or after the component's last
// property when the local version has none.
func (m *merger) takeRemote(l *comp, lp, rp []prop) {
	if len(lp) == 0 {
		at := m.propEnd(l)
		m.insert(at, m.remoteLines(rp, m.eolAt(at-1)))
		return
	}
	m.edits.set(lp[0].line, m.remoteLines(rp, m.eolAt(lp[0].line)))
	for _, p := range lp[1:] {
		m.edits.set(p.line, nil)
	}
}

func (m *merger) remoteLines(rp []prop, eol string) []byte {
	var out []byte
	for _, p := range rp {
		out = append(out, withEOL(m.remote.lines[p.line].raw, eol)...)
	}
	return out
}

// propEnd is where a new property of l goes: after its last property.
func (m *merger) propEnd(l *comp) int {
	if len(l.props) == 0 {
		return l.begin + 1
	}
	return l.props[len(l.props)-1].line + 1
}

// set merges a property as a set of elements: each element added or removed
// on one side is added or removed, and an element (an attendee) changed
// differently on both sides is a conflict decided by the policy.
func (m *merger) set(path string, l *comp, name string, bp, lp, rp []prop) {
	bs, bo := index(bp)
	ls, lo := index(lp)
	rs, ro := index(rp)
	want := map[string]string{}
	for _, id := range slices.Concat(lo, ro, bo) {
		b, lc, rc := bs[id], ls[id], rs[id]
		if _, done := want[id]; done {
			continue
		}
		switch {
		case lc.content == rc.content || rc.content == b.content:
			want[id] = lc.content
		case lc.content == b.content:
			want[id] = rc.content
		default:
			m.conflict(Conflict{Component: path, Property: name,
				Base: m.base.lineText(b), Local: m.local.lineText(lc), Remote: m.remote.lineText(rc)})
			want[id] = lc.content
			if m.policy == ServerWins {
				want[id] = rc.content
			}
		}
	}
	for id, c := range want {
		if ls[id].content != c {
			m.placeSet(l, lp, rp, want)
			return
		}
	}
}

// index maps each element's id to its first occurrence, and lists the ids
// in order.
func index(ps []prop) (map[string]elem, []string) {
	byID := map[string]elem{}
	var order []string
	for i := range ps {
		for _, e := range elements(&ps[i]) {
			if _, ok := byID[e.id]; !ok {
				byID[e.id] = e
				order = append(order, e.id)
			}
		}
	}
	return byID, order
}

// placeSet edits the local lines of a set property so that they hold the
// wanted elements. A local line holding only wanted elements is kept as it
// is; a server line holding only wanted elements not present yet is
// inserted as it is (in the place of a local line for the same element, if
// one goes); the elements left are written on lines rebuilt from the line
// they came from.
func (m *merger) placeSet(l *comp, lp, rp []prop, want map[string]string) {
	covered := map[string]bool{}
	take := func(es []elem, all bool) []string {
		var raws []string
		picked := map[string]bool{}
		for _, e := range es {
			switch {
			case picked[e.id]: // the same value twice on one line
			case want[e.id] != "" && want[e.id] == e.content && !covered[e.id]:
				picked[e.id] = true
				raws = append(raws, e.raw)
			case all:
				return nil
			}
		}
		for id := range picked {
			covered[id] = true
		}
		return raws
	}
	partial := map[int]bool{}
	for i := range lp {
		if take(elements(&lp[i]), true) == nil {
			partial[i] = true
		}
	}
	pending := map[string][]byte{} // first element id → whole server line
	var pendingOrder []string
	var rest []int
	for i := range rp {
		es := elements(&rp[i])
		if take(es, true) == nil {
			rest = append(rest, i)
			continue
		}
		pending[es[0].id] = m.remote.lines[rp[i].line].raw
		pendingOrder = append(pendingOrder, es[0].id)
	}
	last := m.propEnd(l) - 1
	for i := range lp {
		last = lp[i].line
		if !partial[i] {
			continue
		}
		es := elements(&lp[i])
		eol := m.eolAt(lp[i].line)
		if raws := take(es, false); len(raws) > 0 {
			m.edits.set(lp[i].line, fold(rebuild(m.local.lines[lp[i].line].text, lp[i].Value, raws), eol))
		} else if raw, ok := pending[es[0].id]; ok && len(es) == 1 {
			m.edits.set(lp[i].line, withEOL(raw, eol))
			delete(pending, es[0].id)
		} else {
			m.edits.set(lp[i].line, nil)
		}
	}
	var ins []byte
	eol := m.eolAt(last)
	for _, id := range pendingOrder {
		if raw, ok := pending[id]; ok {
			ins = append(ins, withEOL(raw, eol)...)
		}
	}
	for _, i := range rest {
		if raws := take(elements(&rp[i]), false); len(raws) > 0 {
			ins = append(ins, fold(rebuild(m.remote.lines[rp[i].line].text, rp[i].Value, raws), eol)...)
		}
	}
	if len(ins) > 0 {
		m.insert(last+1, ins)
	}
}

// rebuild is a list property's line holding only some of its values.
func rebuild(text, value string, raws []string) string {
	return text[:len(text)-len(value)] + strings.Join(raws, ",")
}
