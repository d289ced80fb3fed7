package subscription

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
)

// contentLine is one logical line of the feed: its physical lines (a
// folded line and its continuations) with CRLF line ends, as the feed wrote
// them otherwise.
type contentLine struct {
	raw  []byte
	name string // upper case: the part before the first ';' or ':'
	val  string // unfolded, after the first ':' ("" without one)
	line int    // its first physical line, from 1
}

// block is one component at the top level of a VCALENDAR, with its
// subcomponents.
type block struct {
	name string // upper case
	raw  []byte
	line int
}

// scanned is a feed cut into its parts.
type scanned struct {
	header                []contentLine // the first VCALENDAR's own properties
	blocks                []block
	hasVersion, hasProdID bool
}

// scanner walks the feed's logical lines.
type scanner struct {
	data []byte
	n    int // physical lines read
}

// next returns the next logical line; ok is false at the end.
func (s *scanner) next() (l contentLine, ok bool) {
	for len(s.data) > 0 {
		first := s.physical()
		s.n++
		if len(bytes.TrimSpace(first)) == 0 {
			continue // go-ical skips empty lines too
		}
		l = contentLine{line: s.n, raw: append(append([]byte{}, first...), '\r', '\n')}
		text := string(first)
		for len(s.data) > 0 && (s.data[0] == ' ' || s.data[0] == '\t') {
			cont := s.physical()
			s.n++
			l.raw = append(append(l.raw, cont...), '\r', '\n')
			text += string(cont[1:])
		}
		i := strings.IndexAny(text, ";:")
		if i < 0 {
			i = len(text)
		}
		l.name = strings.ToUpper(text[:i])
		if j := strings.IndexByte(text, ':'); j >= 0 {
			l.val = text[j+1:]
		}
		return l, true
	}
	return contentLine{}, false
}

// physical takes one physical line, without its line end.
func (s *scanner) physical() []byte {
	i := bytes.IndexByte(s.data, '\n')
	var l []byte
	if i < 0 {
		l, s.data = s.data, nil
	} else {
		l, s.data = s.data[:i], s.data[i+1:]
	}
	return bytes.TrimSuffix(l, []byte("\r"))
}

// scan cuts a feed into the first calendar's properties and the top-level
// components of all its calendars. It checks the structure only: the
// feed begins with BEGIN:VCALENDAR, every component ends with its own END,
// nesting stays within maxDepth, and nothing follows the last
// END:VCALENDAR. Anything else wraps ErrMalformed.
func scan(data []byte) (*scanned, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	s := &scanner{data: data}
	out := &scanned{}
	calendars := 0
	for {
		l, ok := s.next()
		if !ok {
			if calendars == 0 {
				return nil, fmt.Errorf("%w: the answer is empty", ErrMalformed)
			}
			return out, nil
		}
		if l.name != "BEGIN" || !strings.EqualFold(strings.TrimSpace(l.val), "VCALENDAR") {
			if calendars == 0 {
				return nil, fmt.Errorf("%w: it begins with %q, not BEGIN:VCALENDAR", ErrMalformed, shortText(l.raw))
			}
			return nil, fmt.Errorf("%w: line %d follows END:VCALENDAR", ErrMalformed, l.line)
		}
		calendars++
		if err := out.calendar(s, calendars == 1); err != nil {
			return nil, err
		}
	}
}

// calendar reads one VCALENDAR after its BEGIN line, up to its END line.
func (out *scanned) calendar(s *scanner, first bool) error {
	var cur *block
	var stack []string
	for {
		l, ok := s.next()
		if !ok {
			return fmt.Errorf("%w: it ends at line %d without END:VCALENDAR (cut off?)", ErrMalformed, s.n)
		}
		val := strings.ToUpper(strings.TrimSpace(l.val))
		switch {
		case l.name == "BEGIN":
			if len(stack)+2 > maxDepth {
				return fmt.Errorf("%w: components nested deeper than %d at line %d", ErrMalformed, maxDepth, l.line)
			}
			if cur == nil {
				cur = &block{name: val, line: l.line}
			}
			stack = append(stack, val)
		case l.name == "END" && len(stack) == 0:
			if val != "VCALENDAR" {
				return fmt.Errorf("%w: END:%s at line %d where END:VCALENDAR belongs", ErrMalformed, val, l.line)
			}
			return nil
		case l.name == "END":
			if want := stack[len(stack)-1]; val != want {
				return fmt.Errorf("%w: END:%s at line %d where END:%s belongs", ErrMalformed, val, l.line, want)
			}
			stack = stack[:len(stack)-1]
		case cur == nil:
			if first {
				out.header = append(out.header, l)
				out.hasVersion = out.hasVersion || l.name == "VERSION"
				out.hasProdID = out.hasProdID || l.name == "PRODID"
			}
			continue
		}
		cur.raw = append(cur.raw, l.raw...)
		if len(stack) == 0 {
			out.blocks = append(out.blocks, *cur)
			cur = nil
		}
	}
}

// shortText is the start of a line, printable, for an error message.
func shortText(raw []byte) string {
	t := strings.TrimSpace(string(raw))
	if len(t) > 40 {
		t = t[:40] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, t)
}
