package davclient

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// stash holds the calendar-data text runs guardReader set aside, each under
// a marker it put in the decoder's input instead. A marker is
// "vdird-stash-" + a random nonce + a sequence number: a server cannot
// forge one, so any text equal to a marker came from here.
//
// Only the run right after a start tag whose local name is calendar-data
// is set aside (any prefix: the namespace is the decoder's business, and a
// run taken from another element comes back unchanged). CDATA sections,
// later runs and everything else go through the decoder as before.
type stashed struct {
	data []byte // the character data, unescaped
	err  error  // why the run is not valid XML text
}

type stash struct {
	off      bool // set nothing aside (tests compare with the plain path)
	prefix   []byte
	seq      uint64
	runs     map[string]stashed
	stashing bool   // inside a calendar-data text run
	cur      []byte // that run so far, raw

	// The tag being read.
	tagIsElem bool     // a start tag so far (not a declaration or an end tag)
	name      [64]byte // the start of the name: enough for any prefix a server uses
	nameLen   int      // bytes of the name kept; len(name) means too long to matter
	nameDone  bool
	last      byte // last byte of the tag that is not white space
}

func (s *stash) init() {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand, Go 1.24+)
	s.prefix = []byte("vdird-stash-" + hex.EncodeToString(nonce[:]) + "-")
	s.runs = map[string]stashed{}
}

func (s *stash) tagStart(elem bool) {
	s.tagIsElem, s.nameLen, s.nameDone, s.last = elem, 0, false, 0
}

// tagNote sees every byte of a tag but its closing '>'.
func (s *stash) tagNote(b byte) {
	white := b == ' ' || b == '\t' || b == '\n' || b == '\r'
	if !white {
		s.last = b
	}
	if s.nameDone {
		return
	}
	switch {
	case s.nameLen == 0 && b == '/': // an end tag
		s.tagIsElem = false
		s.nameDone = true
	case white || b == '/':
		s.nameDone = true
	case s.nameLen < len(s.name):
		s.name[s.nameLen] = b
		s.nameLen++
	}
}

// tagEnd runs at the '>' that closes a tag: after a calendar-data start tag
// (not an empty-element tag) the text run is set aside.
func (s *stash) tagEnd() {
	if s.off || !s.tagIsElem || s.last == '/' || s.nameLen >= len(s.name) {
		return
	}
	name := s.name[:s.nameLen]
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	if string(name) == "calendar-data" {
		s.stashing = true
		s.cur = s.cur[:0]
	}
}

// endRun ends a calendar-data text run at the markup after it, files it and
// puts its marker in out.
func (s *stash) endRun(out []byte) []byte {
	s.stashing = false
	if len(s.cur) == 0 {
		return out
	}
	s.seq++
	start := len(out)
	out = append(out, s.prefix...)
	out = strconv.AppendUint(out, s.seq, 10)
	data, err := xmlText(s.cur)
	if err == nil && len(data) > 0 && &data[0] == &s.cur[0] {
		data = bytes.Clone(data) // cur is reused for the next run
	}
	s.runs[string(out[start:])] = stashed{data, err}
	s.cur = s.cur[:0]
	return out
}

// take returns the text a marker stands for, checked and unescaped; ok is
// false when text is not one of our markers.
func (s *stash) take(text []byte) (data []byte, ok bool, err error) {
	if len(s.runs) == 0 || !bytes.HasPrefix(text, s.prefix) {
		return nil, false, nil
	}
	st, ok := s.runs[string(text)]
	if !ok {
		return nil, false, nil
	}
	delete(s.runs, string(text))
	return st.data, true, st.err
}

// xmlText turns a raw XML text run into its character data the way
// encoding/xml does in strict mode (XML 1.0 §2.2 characters, §2.4 "]]>"
// not allowed, §4.6 predefined entities, §4.1 character references), except
// that carriage returns are kept (see guardReader). It may return raw
// itself when there is nothing to unescape.
func xmlText(raw []byte) ([]byte, error) {
	amp := -1
	for i := 0; i < len(raw); {
		b := raw[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '&' && amp < 0:
				amp = i
			case b == '>' && i >= 2 && raw[i-1] == ']' && raw[i-2] == ']':
				return nil, errors.New("unescaped ]]> not in CDATA section")
			case b < 0x20 && b != '\t' && b != '\n' && b != '\r':
				return nil, fmt.Errorf("illegal character code %U", rune(b))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && n == 1 {
			return nil, errors.New("invalid UTF-8")
		}
		if !isXMLChar(r) {
			return nil, fmt.Errorf("illegal character code %U", r)
		}
		i += n
	}
	if amp < 0 {
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for rest := raw; ; {
		i := bytes.IndexByte(rest, '&')
		if i < 0 {
			return append(out, rest...), nil
		}
		out = append(out, rest[:i]...)
		rest = rest[i+1:]
		j := bytes.IndexByte(rest, ';')
		if j < 0 {
			return nil, errors.New("invalid character entity (no semicolon)")
		}
		ent := rest[:j]
		rest = rest[j+1:]
		switch string(ent) {
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "amp":
			out = append(out, '&')
		case "apos":
			out = append(out, '\'')
		case "quot":
			out = append(out, '"')
		default:
			r, ok := charRef(ent)
			if !ok {
				return nil, fmt.Errorf("invalid character entity &%s;", ent)
			}
			out = utf8.AppendRune(out, r)
		}
	}
}

// charRef reads "#NNN" or "#xHHH" (XML 1.0 §4.1) as encoding/xml does.
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	base, digits := 10, ent[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if len(digits) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), base, 64)
	if err != nil || digits[0] == '+' || digits[0] == '-' || n > utf8.MaxRune {
		return 0, false
	}
	r := rune(n)
	if !utf8.ValidRune(r) {
		r = utf8.RuneError // a surrogate: encoding/xml gives U+FFFD too
	}
	return r, isXMLChar(r)
}

// isXMLChar is XML 1.0 §2.2 Char.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
