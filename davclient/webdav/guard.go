package webdav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// guardReader sits between the HTTP body and encoding/xml and does three jobs
// the decoder cannot do for us:
//
//  1. It keeps carriage returns in text content. XML 1.0 §2.11 makes a parser
//     turn CRLF into LF, which would silently change every iCalendar object
//     (RFC 5545 §3.1 lines end in CRLF). A CR in text becomes the character
//     reference "&#13;", which the decoder passes through unchanged; a CR in a
//     CDATA section closes and reopens the section around "&#13;". CRs inside
//     tags, comments and processing instructions are left alone.
//  2. It bounds how much the decoder can buffer: encoding/xml collects a whole
//     text run or tag into memory before returning it, so a single huge text
//     node or tag fails here with ErrTooLarge before it is ever buffered.
//  3. It keeps the text of the content property (Options.Content, e.g.
//     calendar-data) away from the decoder, which reads text one byte at a
//     time and would spend most of a download's CPU there. The text run
//     right after such a start tag is set aside whole (see stash.go) and
//     replaced by a marker that only this reader can make; Decoder.token
//     swaps the text back in, checked and unescaped as encoding/xml would,
//     wherever the marker surfaces.
type guardReader struct {
	r      io.Reader
	buf    []byte // raw input chunk
	out    []byte // transformed bytes waiting for Read
	off    int
	state  guardState
	quote  byte
	t1, t2 byte  // the two previous input bytes, to find "]]>", "-->", "?>"
	run    int64 // bytes in the current text run / CDATA section / tag
	maxRun int64 // cap on a text run or CDATA section (raw bytes)
	maxTag int64 // cap on a tag, comment, PI or declaration
	err    error

	stash // content text runs set aside (stash.go)
}

type guardState uint8

const (
	gText guardState = iota
	gLT              // just saw '<'
	gBang            // just saw "<!"
	gTag             // inside a start/end tag or declaration
	gCDATA
	gComment
	gPI
)

const crRef = "&#13;"

// newGuardReader reads r with text runs capped at maxRun bytes and markup
// at maxTag; the first text run of an element with the local name of one
// of content is stashed (none: nothing is).
func newGuardReader(r io.Reader, maxRun, maxTag int64, content []xml.Name) *guardReader {
	g := &guardReader{r: r, buf: make([]byte, 32<<10), maxRun: maxRun, maxTag: maxTag}
	g.stash.init(content)
	return g
}

func (g *guardReader) Read(p []byte) (int, error) {
	for g.off >= len(g.out) {
		if g.err != nil {
			return 0, g.err
		}
		g.out = g.out[:0]
		g.off = 0
		n, err := g.r.Read(g.buf)
		if n > 0 {
			if terr := g.transform(g.buf[:n]); terr != nil {
				// Bytes already transformed are dropped: the document is refused.
				g.out = g.out[:0]
				g.err = terr
				return 0, terr
			}
		}
		if err != nil {
			g.err = err
		}
	}
	n := copy(p, g.out[g.off:])
	g.off += n
	return n, nil
}

// transform appends the bytes of in, transformed, to g.out.
func (g *guardReader) transform(in []byte) error {
	for i := 0; i < len(in); i++ {
		b := in[i]
		if g.state == gText && g.stashing {
			// A content text run: take everything up to the next markup
			// at once.
			j := bytes.IndexByte(in[i:], '<')
			end := len(in)
			if j >= 0 {
				end = i + j
			}
			g.run += int64(end - i)
			if g.run > g.maxRun {
				return fmt.Errorf("%w: XML text longer than %d bytes", ErrTooLarge, g.maxRun)
			}
			g.cur = append(g.cur, in[i:end]...)
			if j < 0 {
				return nil
			}
			g.out = g.endRun(g.out)
			i = end
			b = '<'
		}
		if g.state == gText {
			if err := g.textByte(b); err != nil {
				return err
			}
		} else {
			g.markupByte(b)
		}
		g.t2, g.t1 = g.t1, b
		if g.state != gText {
			g.run++
			limit := g.maxTag
			if g.state == gCDATA {
				limit = g.maxRun
			}
			if g.run > limit {
				return fmt.Errorf("%w: XML markup longer than %d bytes", ErrTooLarge, limit)
			}
		}
	}
	return nil
}

// textByte handles one byte of character data: a '<' starts markup, a CR
// becomes a character reference.
func (g *guardReader) textByte(b byte) error {
	switch b {
	case '<':
		g.state = gLT
		g.run = 0
		g.out = append(g.out, b)
	case '\r':
		g.out = append(g.out, crRef...)
	default:
		g.out = append(g.out, b)
	}
	if g.state == gText {
		g.run++
		if g.run > g.maxRun {
			return fmt.Errorf("%w: XML text longer than %d bytes", ErrTooLarge, g.maxRun)
		}
	}
	return nil
}

// markupByte handles one byte after a '<': it tells the kind of markup
// and finds its end. A CR inside a CDATA section is moved out of it as a
// character reference.
func (g *guardReader) markupByte(b byte) {
	if g.state == gCDATA && b == '\r' {
		g.out = append(g.out, "]]>"+crRef+"<![CDATA["...)
	} else {
		g.out = append(g.out, b)
	}
	switch g.state {
	case gLT:
		switch b {
		case '!':
			g.state = gBang
		case '?':
			g.state, g.t1, g.t2 = gPI, 0, 0
		default:
			g.enterTag(true, b)
		}
	case gBang:
		switch b {
		case '-':
			g.state, g.t1, g.t2 = gComment, 0, 0
		case '[':
			g.state, g.t1, g.t2 = gCDATA, 0, 0
		default:
			g.enterTag(false, b)
		}
	case gTag:
		g.tagByte(b)
	case gCDATA:
		g.endMarkup(b == '>' && g.t1 == ']' && g.t2 == ']')
	case gComment:
		g.endMarkup(b == '>' && g.t1 == '-' && g.t2 == '-')
	case gPI:
		g.endMarkup(b == '>' && g.t1 == '?')
	}
}

// enterTag starts a tag (elem: a start or end tag, else a declaration)
// whose first byte after the markup opener is b.
func (g *guardReader) enterTag(elem bool, b byte) {
	g.state, g.quote = gTag, 0
	g.tagStart(elem)
	g.tagByte(b)
}

// endMarkup returns to text when a CDATA section, comment or processing
// instruction ends.
func (g *guardReader) endMarkup(end bool) {
	if end {
		g.state = gText
		g.run = 0
	}
}

// tagByte tracks quoting inside a tag so a '>' in an attribute value does not
// end it.
func (g *guardReader) tagByte(b byte) {
	switch {
	case g.quote != 0:
		if b == g.quote {
			g.quote = 0
		}
	case b == '"' || b == '\'':
		g.quote = b
	case b == '>':
		g.state = gText
		g.run = 0
		g.tagEnd()
		return
	}
	g.tagNote(b)
}
