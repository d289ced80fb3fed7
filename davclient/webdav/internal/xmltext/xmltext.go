// Package xmltext unescapes the character data of an XML 1.0 text run
// exactly as encoding/xml does in strict mode, but without its
// byte-at-a-time reader and keeping carriage returns, so that a whole
// iCalendar object (RFC 5545 §3.1 lines end in CRLF) can be read from a
// WebDAV response quickly and unchanged.
package xmltext

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Unescape turns a raw XML text run into its character data the way
// encoding/xml does in strict mode (XML 1.0 §2.2 characters, §2.4 "]]>"
// not allowed, §4.6 predefined entities, §4.1 character references), except
// that carriage returns are kept. It may return raw itself when there is
// nothing to unescape.
func Unescape(raw []byte) ([]byte, error) {
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
