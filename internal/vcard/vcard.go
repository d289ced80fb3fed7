// Package vcard reads what vdird needs from a vCard (RFC 6350, and the
// vCard 3.0 of RFC 2426 that most address books still hold): it validates
// that the bytes are exactly one card with a UID and returns the UID, the
// card's kind and version, and it tells whether two cards hold the same
// content. Group cards (KIND:group, or Apple's X-ADDRESSBOOKSERVER-KIND)
// and cards without N are valid items. It never re-encodes anything:
// content on the sync path stays opaque bytes.
package vcard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
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
	card, err := govcard.NewDecoder(bytes.NewReader(data)).Decode()
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
// card, would otherwise pass unnoticed.
func checkFrame(data []byte) error {
	var first, last string
	begins, ends := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSize+1)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if first == "" {
			first = line
		}
		last = line
		switch {
		case strings.EqualFold(line, "BEGIN:VCARD"):
			begins++
		case strings.EqualFold(line, "END:VCARD"):
			ends++
		}
	}
	switch {
	case sc.Err() != nil:
		return fmt.Errorf("%w: %v", ErrInvalid, sc.Err())
	case first == "":
		return fmt.Errorf("%w: empty", ErrInvalid)
	case !strings.EqualFold(first, "BEGIN:VCARD"):
		return fmt.Errorf("%w: first line is not BEGIN:VCARD", ErrInvalid)
	case !strings.EqualFold(last, "END:VCARD"):
		return fmt.Errorf("%w: last line is not END:VCARD (truncated?)", ErrInvalid)
	case begins > 1:
		return fmt.Errorf("%w: %d cards in one file: one contact per file", ErrInvalid, begins)
	case ends > 1:
		return fmt.Errorf("%w: text after END:VCARD", ErrInvalid)
	}
	return nil
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
