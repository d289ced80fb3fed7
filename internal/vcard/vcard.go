// Package vcard reads what vdird needs from a vCard (RFC 6350, and the
// vCard 3.0 of RFC 2426 that most address books still hold): it validates
// that the bytes are exactly one card with a UID and returns the UID, the
// card's kind and version, and it tells whether two cards hold the same
// content. Group cards (KIND:group, or Apple's X-ADDRESSBOOKSERVER-KIND)
// and cards without N are valid items. It never re-encodes anything:
// content on the sync path stays opaque bytes.
package vcard

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	govcard "github.com/emersion/go-vcard"

	"github.com/vdird/vdird/internal/ics"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid vCard")

// MaxSize bounds what Inspect accepts; larger cards are refused unread.
const MaxSize = 16 << 20

// Info is what vdird reads from a card.
type Info struct {
	UID     string
	Kind    string // "individual" (also when absent), "group", "org", "location" or another value, lower case
	Version string // the VERSION value, e.g. "3.0" or "4.0"; "" when absent
}

// appleKind is the vCard 3.0 extension Apple's and most CardDAV servers'
// group cards carry instead of RFC 6350 KIND.
const appleKind = "X-ADDRESSBOOKSERVER-KIND"

// Inspect validates data as one address object resource (RFC 6352 §5.1):
// BEGIN:VCARD as its first line, END:VCARD as its last (blank lines
// aside), no second card, and one UID.
func Inspect(data []byte) (info Info, err error) {
	if len(data) > MaxSize {
		return Info{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxSize)
	}
	if err := checkFrame(data); err != nil {
		return Info{}, err
	}
	defer func() {
		// The decoder is not meant for hostile input: a panic is a refusal.
		if r := recover(); r != nil {
			info, err = Info{}, fmt.Errorf("%w: %v", ErrInvalid, r)
		}
	}()
	card, err := govcard.NewDecoder(bytes.NewReader(slim(data))).Decode()
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "vcard: "))
	}
	uids := card[govcard.FieldUID]
	if len(uids) == 0 || strings.TrimSpace(uids[0].Value) == "" {
		return Info{}, fmt.Errorf("%w: no UID", ErrInvalid)
	}
	for _, f := range uids[1:] {
		if f.Value != uids[0].Value {
			return Info{}, fmt.Errorf("%w: several UIDs (%q and %q): one contact per file", ErrInvalid, uids[0].Value, f.Value)
		}
	}
	info = Info{UID: uids[0].Value, Kind: "individual", Version: strings.TrimSpace(card.Value(govcard.FieldVersion))}
	if k := strings.TrimSpace(card.Value(govcard.FieldKind)); k != "" {
		info.Kind = strings.ToLower(k)
	} else if k := strings.TrimSpace(card.Value(appleKind)); k != "" {
		info.Kind = strings.ToLower(k)
	}
	return info, nil
}

// checkFrame checks the lines around the card: the decoder skips lines it
// cannot read, so text before BEGIN:VCARD or after END:VCARD, and a second
// card, would otherwise pass unnoticed. It copies nothing.
func checkFrame(data []byte) error {
	var first, last []byte
	begins, ends := 0, 0
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if first == nil {
			first = line
		}
		last = line
		switch {
		case hasPrefixFold(line, "BEGIN:"):
			begins++
		case hasPrefixFold(line, "END:"):
			ends++
		}
	}
	switch {
	case first == nil:
		return fmt.Errorf("%w: empty", ErrInvalid)
	case !bytes.EqualFold(first, beginCard):
		return fmt.Errorf("%w: first line is not BEGIN:VCARD", ErrInvalid)
	case !bytes.EqualFold(last, endCard):
		return fmt.Errorf("%w: last line is not END:VCARD (truncated?)", ErrInvalid)
	case begins > 1:
		return fmt.Errorf("%w: %d BEGIN lines (two cards in one file?): one contact per file", ErrInvalid, begins)
	case ends > 1:
		return fmt.Errorf("%w: %d END lines: one card per file, nothing nested", ErrInvalid, ends)
	}
	return nil
}

var (
	beginCard = []byte("BEGIN:VCARD")
	endCard   = []byte("END:VCARD")
)

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// binaryProps are the properties whose value may be a whole file (RFC 6350
// §6.2.4 PHOTO, §6.6.3 LOGO, §6.6.6 SOUND, §6.8.1 KEY), inline in base64.
var binaryProps = []string{"PHOTO", "LOGO", "SOUND", "KEY"}

// keepBinary is how much of a binary property's first line slim keeps.
const keepBinary = 256

// slim returns data as the decoder needs it to read a card: the value of a
// binary property cut to its start, the rest of its folded lines left out.
// Those values are what makes a card big (a photo of a megabyte), and the
// decoder would copy each several times over to read a UID. Every other
// line stays as it is; data itself when nothing is cut.
func slim(data []byte) []byte {
	var out []byte // nil until something is cut
	pos, binary := 0, false
	for line := range bytes.Lines(data) {
		start := pos
		pos += len(line)
		if folded := line[0] == ' ' || line[0] == '\t'; !folded {
			binary = isBinaryProp(line)
		} else if binary {
			out = cut(out, data[:start])
			continue
		}
		if binary && len(line) > keepBinary {
			out = append(cut(out, data[:start]), line[:keepBinary]...)
			out = append(out, "\r\n"...)
			continue
		}
		if out != nil {
			out = append(out, line...)
		}
	}
	if out == nil {
		return data
	}
	return out
}

// cut starts slim's copy with the bytes before the first cut.
func cut(out, before []byte) []byte {
	if out == nil {
		return append(make([]byte, 0, len(before)+4096), before...)
	}
	return out
}

// isBinaryProp tells whether a content line (group prefix allowed) is one
// of binaryProps.
func isBinaryProp(line []byte) bool {
	end := bytes.IndexAny(line, ";:")
	if end < 0 {
		return false
	}
	name := line[:end]
	if i := bytes.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return slices.ContainsFunc(binaryProps, func(p string) bool { return bytes.EqualFold(name, []byte(p)) })
}

// Equivalent reports whether a and b hold the same card, ignoring line
// folding, line endings, the case of property and parameter names and
// the order of parameters and properties: the layout a server or an
// address book program may give a card it stores or saves. vCard's
// content lines are iCalendar's (RFC 6350 §3.3 follows RFC 5545 §3.1), so
// the comparison is package ics's.
func Equivalent(a, b []byte) bool { return ics.Equivalent(a, b) }

// ContentKey is a digest of a card's content as Equivalent sees it: two
// cards have the same key exactly when they are equivalent.
func ContentKey(data []byte) string { return ics.ContentKey(data) }

// ReplaceUID returns data with every UID property line (folded or not) set
// to uid, leaving every other byte untouched: the keep-both conflict
// policy's way to make the losing version a new, separate contact.
func ReplaceUID(data []byte, uid string) []byte { return ics.ReplaceUID(data, uid) }
