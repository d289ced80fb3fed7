package merge

import (
	"bytes"
	"fmt"

	"github.com/vdird/vdird/internal/ics"
)

// VCard merges local and remote, two edits of the vCard base (RFC 6350),
// with the rules of ICal: the card is one component, its properties merged
// by name, TEL, EMAIL, IMPP, ADR, URL, X-SOCIALPROFILE, RELATED and MEMBER
// as sets of lines known by their value, CATEGORIES and NICKNAME as sets of
// values, REV taking the later time. A property's group ("item1.") is part
// of its name.
func VCard(base, local, remote []byte, policy Policy) (Result, error) {
	return run(base, local, remote, policy, parseCard)
}

// The lines a vCard is wrapped in to be read as a component: vCard has the
// content lines of iCalendar (RFC 6350 §3.3), so go-ical reads both alike.
var (
	wrapHead = []byte("BEGIN:VCALENDAR\r\n")
	wrapTail = []byte("END:VCALENDAR\r\n")
)

// parseCard validates data as one vCard and reads it; its UID may be empty.
func parseCard(which string, data []byte) (*doc, string, error) {
	fail := func(format string, a ...any) (*doc, string, error) {
		return nil, "", fmt.Errorf("%w: %s version: "+format, append([]any{ErrCannotMerge, which}, a...)...)
	}
	if len(data) > ics.MaxSize {
		return fail("larger than %d bytes", ics.MaxSize)
	}
	begins := 0
	for _, l := range splitLines(data) {
		if propName(l.text) == "BEGIN" {
			begins++
		}
	}
	if begins != 1 {
		return fail("%d BEGIN lines: one vCard per file, nothing nested", begins)
	}
	tail := wrapTail
	if !bytes.HasSuffix(data, []byte("\n")) {
		tail = append([]byte("\r\n"), wrapTail...)
	}
	d, err := decode(bytes.Join([][]byte{wrapHead, data, tail}, nil))
	if err != nil {
		return fail("%v", err)
	}
	if len(d.root.subs) != 1 || d.root.subs[0].name != "VCARD" || len(d.root.props) != 0 {
		return fail("not one vCard")
	}
	d.head, d.tail = len(wrapHead), len(tail)
	uid := ""
	if p := d.root.subs[0].first("UID"); p != nil {
		uid = p.Value
	}
	return d, uid, nil
}
