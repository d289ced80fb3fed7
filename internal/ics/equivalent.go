package ics

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
)

// Equivalent reports whether a and b hold the same content: the same
// components, each with the same content lines and sub-components. It ignores
// line folding, line endings, the case of property and parameter names, the
// order of parameters, of properties within a component and of sibling
// components. Servers rewrite what they are sent (Radicale reorders
// properties, Xandikos also refolds), so this is how vdird recognises its own
// write in a server's copy. A line counts only within its component: moving a
// value between a recurring event's master and an override, or between an
// event and its alarm, is a change. Data whose components do not nest is
// equivalent only to the same bytes.
func Equivalent(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ta, okA := parseTree(a)
	tb, okB := parseTree(b)
	return okA && okB && compareNodes(ta, tb) == 0
}

// ContentKey is a digest of data's content as Equivalent sees it: two
// objects have the same key exactly when they are equivalent. It lets a
// pure function such as the planner compare content in any layout from
// keys alone.
func ContentKey(data []byte) string {
	var b []byte
	if t, ok := parseTree(data); ok {
		b = t.appendTo(append(make([]byte, 0, len(data)+64), 't'))
	} else {
		b = append([]byte{'b'}, data...) // no tree: equivalent only to the same bytes
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendTo appends every field compareNodes looks at to b, each string
// and list length-prefixed, so that equal encodings mean equal nodes.
func (n *node) appendTo(b []byte) []byte {
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	for _, s := range [...]string{n.name, n.uid, n.rid, n.tzid} {
		b = str(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(n.lines)))
	for _, l := range n.lines {
		b = str(b, l)
	}
	b = binary.AppendUvarint(b, uint64(len(n.subs)))
	for _, sub := range n.subs {
		b = sub.appendTo(b)
	}
	return b
}

// node is one component as Equivalent compares it. Siblings are matched by
// identity (type, UID, RECURRENCE-ID, and TZID for a VTIMEZONE), then by content,
// so equal sorted lists mean equal multisets.
type node struct {
	name           string   // upper-cased; "" for the top level
	uid, rid, tzid string   // identifying lines, normalised; "" when absent
	lines          []string // normalised content lines, sorted
	subs           []*node  // sub-components, sorted by compareNodes
}

func compareNodes(a, b *node) int {
	if c := cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.uid, b.uid),
		strings.Compare(a.rid, b.rid), strings.Compare(a.tzid, b.tzid)); c != 0 {
		return c
	}
	if c := slices.Compare(a.lines, b.lines); c != 0 {
		return c
	}
	return slices.CompareFunc(a.subs, b.subs, compareNodes)
}

// parseTree reads data into its component tree, every list sorted. It
// reports false when BEGIN and END lines do not pair up or nest too deep.
func parseTree(data []byte) (*node, bool) {
	stack := []*node{{}}
	for line := range strings.SplitSeq(unfold(data), "\n") {
		if line == "" {
			continue
		}
		name, value, norm := normalise(line)
		top := stack[len(stack)-1]
		switch name {
		case "BEGIN":
			if len(stack) > maxDepth {
				return nil, false
			}
			stack = append(stack, &node{name: upper(value), lines: make([]string, 0, 8)})
		case "END":
			if len(stack) == 1 || top.name != upper(value) {
				return nil, false
			}
			stack = stack[:len(stack)-1]
			parent := stack[len(stack)-1]
			parent.subs = append(parent.subs, top.sorted())
		default:
			top.lines = append(top.lines, norm)
			switch name {
			case "UID":
				top.uid = cmp.Or(top.uid, norm)
			case "RECURRENCE-ID":
				top.rid = cmp.Or(top.rid, norm)
			case "TZID":
				top.tzid = cmp.Or(top.tzid, norm)
			}
		}
	}
	if len(stack) != 1 {
		return nil, false
	}
	return stack[0].sorted(), true
}

func (n *node) sorted() *node {
	slices.Sort(n.lines)
	slices.SortFunc(n.subs, compareNodes)
	return n
}

// unfold joins folded lines (RFC 5545 §3.1) and separates lines with "\n"
// whatever their original line ending.
func unfold(data []byte) string {
	var sb strings.Builder
	sb.Grow(len(data))
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			sb.Write(line[1:])
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		sb.Write(line)
	}
	return sb.String()
}

// normalise splits a content line into its upper-cased name and its value,
// and returns the line with its name and parameter names upper-cased and its
// parameters sorted. Values (of parameters too) are kept as they are. A line
// without a name and value has neither and is kept whole.
func normalise(line string) (name, value, norm string) {
	end := 0
	for end < len(line) && line[end] != ';' && line[end] != ':' {
		end++
	}
	if end == len(line) {
		return "", "", line
	}
	name = upper(line[:end])
	if line[end] == ':' {
		if name == line[:end] {
			return name, line[end+1:], line // the usual case: nothing to rewrite
		}
		return name, line[end+1:], name + line[end:]
	}
	var params []string
	rest := line[end:]
	for rest != "" && rest[0] == ';' {
		p := paramEnd(rest[1:])
		param := rest[1 : 1+p]
		if eq := strings.IndexByte(param, '='); eq >= 0 {
			param = upper(param[:eq]) + param[eq:]
		}
		params = append(params, param)
		rest = rest[1+p:]
	}
	slices.Sort(params)
	if rest == "" {
		return "", "", line // parameters but no value
	}
	return name, rest[1:], name + ";" + strings.Join(params, ";") + rest
}

// paramEnd returns the length of the parameter at the start of s: up to the
// first ';' or ':' outside double quotes.
func paramEnd(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';', ':':
			if !quoted {
				return i
			}
		}
	}
	return len(s)
}

// upper is strings.ToUpper without an allocation when s has no lower case.
func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}
