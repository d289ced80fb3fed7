package merge

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
)

// doc is one version of an item as the merge sees it: its content lines as
// they are in the file, and its component tree with each property tied to
// its line.
type doc struct {
	lines      []line
	root       *comp
	head, tail int // bytes a parser wrapped around the file, dropped when rendering
}

// line is one content line: its physical lines with folds and line endings
// exactly as in the file, and the unfolded text go-ical parsed.
type line struct {
	raw  []byte
	text string
}

// comp is one component. Its BEGIN and END lines and its properties point
// into the doc's lines.
type comp struct {
	name       string
	key, label string // identity among its siblings, and how a person reads it
	begin, end int
	props      []prop
	subs       []*comp
	fp         string // semantic fingerprint, computed once on demand
}

// prop is one property of a component, parsed by go-ical, its line, and
// how it is merged when it is a set.
type prop struct {
	ical.Prop
	line int
	set  *setRule
}

// errLayout means the line model and go-ical read the bytes differently,
// which would make byte-level editing unsafe.
var errLayout = errors.New("content lines do not match the parsed components")

// splitLines splits data into content lines the way go-ical reads them: a
// physical line ends at "\n" (a "\r" before it belongs to the line ending),
// and a physical line starting with a space or a tab continues the one
// before it.
func splitLines(data []byte) []line {
	var out []line
	var text strings.Builder
	start := 0
	for i := 0; i < len(data); {
		end := len(data)
		if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		body := trimEOL(data[i:end])
		if i > start && (data[i] == ' ' || data[i] == '\t') {
			text.Write(body[1:])
		} else {
			if i > start {
				out = append(out, line{raw: data[start:i], text: text.String()})
			}
			start = i
			text.Reset()
			text.Write(body)
		}
		i = end
	}
	if start < len(data) {
		out = append(out, line{raw: data[start:], text: text.String()})
	}
	return out
}

// trimEOL drops a physical line's "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// eolOf is the line ending of a content line's last physical line, "" when
// it has none (the file's last line).
func eolOf(raw []byte) string {
	switch {
	case bytes.HasSuffix(raw, []byte("\r\n")):
		return "\r\n"
	case bytes.HasSuffix(raw, []byte("\n")):
		return "\n"
	}
	return ""
}

// withEOL returns raw with every physical line ending set to eol, so that
// lines taken from another file follow the local file's line endings.
func withEOL(raw []byte, eol string) []byte {
	out := make([]byte, 0, len(raw)+8)
	for phys := range bytes.Lines(raw) {
		out = append(out, trimEOL(phys)...)
		out = append(out, eol...)
	}
	return out
}

// fold renders one content line folded at 75 octets (RFC 5545 §3.1), never
// inside a UTF-8 sequence, ending with eol.
func fold(text, eol string) []byte {
	var out []byte
	width := 75
	for len(text) > width {
		cut := width
		for cut > 1 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		out = append(out, text[:cut]...)
		out = append(out, eol...)
		out = append(out, ' ')
		text = text[cut:]
		width = 74
	}
	out = append(out, text...)
	return append(out, eol...)
}

// propName is a content line's name as go-ical reads it.
func propName(text string) string {
	if i := strings.IndexAny(text, ";:"); i > 0 {
		return strings.ToUpper(text[:i])
	}
	return ""
}

// parseDoc reads data into its lines and component tree. go-ical parses the
// components; the walk below ties each of its properties to the line it came
// from, in order, and fails when the two readings disagree.
func parseDoc(data []byte, cal *ical.Calendar) (*doc, error) {
	d := &doc{lines: splitLines(data)}
	b := builder{lines: d.lines}
	for b.i < len(d.lines) && d.lines[b.i].text == "" {
		b.i++
	}
	if b.i == len(d.lines) || propName(d.lines[b.i].text) != "BEGIN" {
		return nil, errLayout
	}
	begin := b.i
	b.i++
	root, err := b.body(cal.Component, begin)
	if err != nil {
		return nil, err
	}
	for _, l := range d.lines[root.end+1:] {
		if l.text != "" {
			return nil, errLayout
		}
	}
	root.key, root.label = "VCALENDAR", "VCALENDAR"
	identify(root)
	d.root = root
	return d, nil
}

type builder struct {
	lines []line
	i     int
}

// body reads the lines of component c, whose BEGIN line is at begin, up to
// and including its END line.
func (b *builder) body(c *ical.Component, begin int) (*comp, error) {
	node := &comp{name: c.Name, begin: begin}
	seen := map[string]int{}
	for ; b.i < len(b.lines); b.i++ {
		text := b.lines[b.i].text
		if text == "" {
			continue
		}
		switch name := propName(text); name {
		case "BEGIN":
			if len(node.subs) == len(c.Children) {
				return nil, errLayout
			}
			at := b.i
			b.i++
			sub, err := b.body(c.Children[len(node.subs)], at)
			if err != nil {
				return nil, err
			}
			node.subs = append(node.subs, sub)
		case "END":
			if len(node.subs) != len(c.Children) || len(seen) != len(c.Props) {
				return nil, errLayout
			}
			for n, k := range seen {
				if k != len(c.Props[n]) {
					return nil, errLayout
				}
			}
			node.end = b.i
			return node, nil
		default:
			ps := c.Props[name]
			k := seen[name]
			if k >= len(ps) {
				return nil, errLayout
			}
			seen[name] = k + 1
			node.props = append(node.props, prop{Prop: ps[k], line: b.i, set: ruleFor(c.Name, name)})
		}
	}
	return nil, errLayout
}

// text is a component's content lines, unfolded, one per line: how a
// conflict shows a whole component.
func (d *doc) text(c *comp) string {
	if d == nil || c == nil {
		return ""
	}
	var texts []string
	for _, l := range d.lines[c.begin : c.end+1] {
		if l.text != "" {
			texts = append(texts, l.text)
		}
	}
	return strings.Join(texts, "\n")
}

// block is a component's bytes, line endings set to eol.
func (d *doc) block(c *comp, eol string) []byte {
	var out []byte
	for _, l := range d.lines[c.begin : c.end+1] {
		out = append(out, withEOL(l.raw, eol)...)
	}
	return out
}

// edits are changes to the local file's lines: a line replaced (by nothing,
// to remove it) and lines inserted before a line.
type edits struct {
	replace map[int][]byte
	insert  map[int][][]byte
	clash   bool // a line was edited twice: the merge is refused
}

func (e *edits) render(lines []line) []byte {
	var out bytes.Buffer
	for i, l := range lines {
		for _, ins := range e.insert[i] {
			out.Write(ins)
		}
		if rep, ok := e.replace[i]; ok {
			out.Write(rep)
		} else {
			out.Write(l.raw)
		}
	}
	return out.Bytes()
}

func (e *edits) set(i int, b []byte) {
	if _, ok := e.replace[i]; ok {
		e.clash = true
		return
	}
	e.replace[i] = b
}
