package merge

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	ical "github.com/emersion/go-ical"
)

// setRule says how a property that may appear several times is merged as a
// set: list properties hold comma-separated values, each one an element;
// byValue properties are one element per line, known by their value (as id
// normalises it, when set), so a change of parameters (an attendee's
// PARTSTAT) is an edit of that element.
type setRule struct {
	list, byValue bool
	id            func(string) string
}

// calendarSets and cardSets are the properties merged as sets of elements in
// iCalendar components and in vCards; any other property is merged as a
// whole, all its lines together.
var (
	calendarSets = map[string]*setRule{
		"ATTENDEE":   {byValue: true},
		"ATTACH":     {byValue: true},
		"RELATED-TO": {byValue: true},
		"CONTACT":    {},
		"COMMENT":    {},
		"CATEGORIES": {list: true},
		"RESOURCES":  {list: true},
		"EXDATE":     {list: true},
		"RDATE":      {list: true},
	}
	cardSets = map[string]*setRule{
		"TEL":             {byValue: true, id: phone},
		"EMAIL":           {byValue: true, id: strings.ToLower},
		"IMPP":            {byValue: true, id: strings.ToLower},
		"ADR":             {byValue: true},
		"URL":             {byValue: true},
		"X-SOCIALPROFILE": {byValue: true},
		"RELATED":         {byValue: true},
		"MEMBER":          {byValue: true},
		"CATEGORIES":      {list: true},
		"NICKNAME":        {list: true},
	}
)

// ruleFor is the set rule of a property of a component, nil when the
// property is merged as a whole. A vCard property's group ("item1.") does
// not change its rule.
func ruleFor(component, name string) *setRule {
	if component == "VCARD" {
		return cardSets[name[strings.LastIndexByte(name, '.')+1:]]
	}
	return calendarSets[name]
}

// phone is a telephone number without the characters people write in
// different ways.
func phone(v string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -().", r) {
			return -1
		}
		return r
	}, strings.ToLower(v))
}

// caseless parameters hold tokens whose case carries no meaning;
// addressParams hold calendar addresses, compared without case too.
var (
	caseless = map[string]bool{"CUTYPE": true, "ROLE": true, "PARTSTAT": true, "RSVP": true,
		"RELATED": true, "RELTYPE": true, "RANGE": true, "ENCODING": true, "FBTYPE": true,
		"SCHEDULE-AGENT": true, "SCHEDULE-FORCE-SEND": true, "TYPE": true}
	addressParams = map[string]bool{"MEMBER": true, "DELEGATED-TO": true, "DELEGATED-FROM": true, "SENT-BY": true}
)

// elem is one element of a property as the merge compares it: id tells which
// element it is, content what it holds (both normalised), raw its value as
// written.
type elem struct {
	id, content, raw string
	line             int
}

// elements splits a property into its elements: one for most properties,
// one per value for list properties.
func elements(p *prop) []elem {
	typ := valueType(&p.Prop)
	head := p.Name + paramsKey(&p.Prop) + ":"
	if p.set == nil || !p.set.list {
		v := valueKey(typ, p.Value)
		e := elem{id: head + v, content: head + v, raw: p.Value, line: p.line}
		switch {
		case p.set == nil || !p.set.byValue:
		case p.set.id != nil:
			e.id = p.Name + ":" + p.set.id(p.Value)
		default:
			e.id = p.Name + ":" + v
		}
		return []elem{e}
	}
	var out []elem
	for _, raw := range splitList(p.Value) {
		c := head + valueKey(typ, raw)
		out = append(out, elem{id: c, content: c, raw: raw, line: p.line})
	}
	return out
}

// propKey is a property's name, parameters and value, normalised.
func propKey(p *ical.Prop) string {
	return p.Name + paramsKey(p) + ":" + valueKey(valueType(p), p.Value)
}

func valueType(p *ical.Prop) string { return strings.ToUpper(string(p.ValueType())) }

// paramsKey renders the parameters in name order, each one's values sorted,
// token values upper-cased, and the value type made explicit, so that
// parameter order, quoting and a default VALUE make no difference.
func paramsKey(p *ical.Prop) string {
	var sb strings.Builder
	for _, n := range slices.Sorted(maps.Keys(p.Params)) {
		if n == "VALUE" {
			continue
		}
		vals := slices.Clone(p.Params[n])
		for i, v := range vals {
			switch {
			case caseless[n]:
				vals[i] = strings.ToUpper(v)
			case addressParams[n]:
				vals[i] = strings.ToLower(v)
			}
		}
		slices.Sort(vals)
		sb.WriteString(";" + n + "=" + strings.Join(vals, "\x1f"))
	}
	sb.WriteString(";VALUE=" + valueType(p))
	return sb.String()
}

// valueKey normalises a value by its type where that is cheap: text
// unescaped, addresses without case, numbers and recurrence rules in one
// canonical form, date-times upper-cased.
func valueKey(typ, raw string) string {
	switch typ {
	case "TEXT":
		return unescape(raw)
	case "CAL-ADDRESS":
		return strings.ToLower(raw)
	case "INTEGER":
		if n, err := strconv.Atoi(strings.TrimSpace(raw)); err == nil {
			return strconv.Itoa(n)
		}
	case "FLOAT":
		if f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	case "RECUR":
		parts := strings.Split(strings.ToUpper(raw), ";")
		slices.Sort(parts)
		return strings.Join(parts, ";")
	case "DURATION":
		// go-ical counts a day as 24 hours: PT0S and P0D, or P1D and PT24H,
		// read the same.
		if d, err := (&ical.Prop{Value: strings.TrimSpace(raw)}).Duration(); err == nil {
			return d.String()
		}
		return strings.ToUpper(raw)
	case "DATE-TIME", "DATE", "PERIOD", "UTC-OFFSET", "BOOLEAN":
		return strings.ToUpper(raw)
	}
	return raw
}

// unescape undoes TEXT escaping (RFC 5545 §3.3.11). It is lenient: an
// unknown escape is kept as written.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			sb.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			sb.WriteByte('\n')
		case '\\', ';', ',':
			sb.WriteByte(s[i])
		default:
			sb.WriteByte('\\')
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

// splitList splits a list value at its commas, leaving escaped ones.
func splitList(v string) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case ',':
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// first is a component's first property of one of the names, nil if none.
func (c *comp) first(names ...string) *prop {
	for _, n := range names {
		for i := range c.props {
			if c.props[i].Name == n {
				return &c.props[i]
			}
		}
	}
	return nil
}

// identity tells which component of the other versions c is: an item by
// UID and RECURRENCE-ID, a time zone by TZID, an alarm by its UID or else by
// TRIGGER and ACTION, anything else by its name and place.
func identity(c *comp) (key, label string) {
	keyOf := func(p *prop) string {
		if p == nil {
			return ""
		}
		return propKey(&p.Prop)
	}
	valueOf := func(p *prop) string {
		if p == nil {
			return ""
		}
		return p.Value
	}
	switch c.name {
	case "VTIMEZONE":
		tz := c.first("TZID")
		return "VTIMEZONE " + keyOf(tz), "VTIMEZONE " + valueOf(tz)
	case "VALARM":
		if id := c.first("UID", "X-WR-ALARMUID"); id != nil {
			return "VALARM UID " + id.Value, "VALARM " + id.Value
		}
		trigger, action := c.first("TRIGGER"), c.first("ACTION")
		return "VALARM " + keyOf(trigger) + " " + keyOf(action),
			"VALARM TRIGGER:" + valueOf(trigger) + " ACTION:" + valueOf(action)
	}
	uid := c.first("UID")
	if uid == nil {
		return c.name, c.name
	}
	key, label = c.name+" "+keyOf(uid), c.name
	if rid := c.first("RECURRENCE-ID"); rid != nil {
		key += " " + keyOf(rid)
		label += " RECURRENCE-ID:" + rid.Value
	}
	return key, label
}

// identify sets the key and label of every component below c. Siblings
// that would share one are told apart by their order.
func identify(c *comp) {
	seen := map[string]int{}
	for _, s := range c.subs {
		s.key, s.label = identity(s)
		seen[s.key]++
		if n := seen[s.key]; n > 1 {
			s.key += " #" + strconv.Itoa(n)
			s.label += " #" + strconv.Itoa(n)
		}
		identify(s)
	}
}

// fingerprint is the component's content as the merge compares it: its
// property elements and sub-components, in no particular order.
func (c *comp) fingerprint() string {
	if c.fp != "" {
		return c.fp
	}
	var parts []string
	for i := range c.props {
		for _, e := range elements(&c.props[i]) {
			parts = append(parts, e.content)
		}
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	subs := make([]string, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s.fingerprint())
	}
	slices.Sort(subs)
	var sb strings.Builder
	sb.WriteString(c.name + "{")
	for _, p := range append(parts, subs...) {
		sb.WriteString(strconv.Itoa(len(p)) + ":" + p)
	}
	sb.WriteString("}")
	c.fp = sb.String()
	return c.fp
}
