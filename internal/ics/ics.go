// Package ics reads what vdird needs from an iCalendar object (RFC 5545): it
// validates that the bytes are one VCALENDAR holding one calendar item, and
// returns the item's UID and component type, and it tells whether two objects
// hold the same content. It never re-encodes anything: content on the sync
// path stays opaque bytes.
package ics

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	ical "github.com/emersion/go-ical"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid iCalendar object")

// MaxSize bounds what Inspect accepts; larger objects are refused unread.
const MaxSize = 16 << 20

// maxDepth bounds BEGIN nesting. go-ical decodes recursively; a hostile file
// with deep nesting would otherwise exhaust the stack (which Go cannot recover).
const maxDepth = 16

// Info is what vdird reads from an object.
type Info struct {
	UID       string
	Component string // "VEVENT", "VTODO", "VJOURNAL"
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// itemComponents are the RFC 5545 §3.6 components that carry a UID and make an item.
var itemComponents = map[string]bool{"VEVENT": true, "VTODO": true, "VJOURNAL": true}

// Inspect validates data as one calendar object resource (RFC 4791 §4.1): a
// single VCALENDAR whose item components all share one UID and one type
// (several are allowed for recurrence overrides). VTIMEZONE is ignored.
func Inspect(data []byte) (info Info, err error) {
	if len(data) > MaxSize {
		return Info{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxSize)
	}
	if err := checkDepth(data); err != nil {
		return Info{}, err
	}
	defer func() {
		// go-ical panics on some malformed input: turn that into an error.
		if r := recover(); r != nil {
			info, err = Info{}, fmt.Errorf("%w: %v", ErrInvalid, r)
		}
	}()
	br := readers.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(data))
	defer func() { br.Reset(nil); readers.Put(br) }()
	// go-ical wraps its reader in a bufio.Reader unless it already is one:
	// reusing ours saves allocating a buffer for every item parsed.
	dec := ical.NewDecoder(br)
	cal, err := dec.Decode()
	if err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "ical: "))
	}
	if _, err := dec.Decode(); err != io.EOF {
		return Info{}, fmt.Errorf("%w: content after END:VCALENDAR (two calendars in one file?)", ErrInvalid)
	}
	for _, c := range cal.Children {
		if !itemComponents[c.Name] {
			continue
		}
		p := c.Props.Get(ical.PropUID)
		if p == nil || strings.TrimSpace(p.Value) == "" {
			return Info{}, fmt.Errorf("%w: %s without UID", ErrInvalid, c.Name)
		}
		switch {
		case info.UID == "":
			info = Info{UID: p.Value, Component: c.Name}
		case info.UID != p.Value:
			return Info{}, fmt.Errorf("%w: several UIDs (%q and %q): one item per file", ErrInvalid, info.UID, p.Value)
		case info.Component != c.Name:
			return Info{}, fmt.Errorf("%w: mixes %s and %s", ErrInvalid, info.Component, c.Name)
		}
	}
	if info.UID == "" {
		return Info{}, fmt.Errorf("%w: no VEVENT, VTODO or VJOURNAL", ErrInvalid)
	}
	return info, nil
}

func checkDepth(data []byte) error {
	depth := 0
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		switch {
		case hasPrefixFold(line, "BEGIN:"):
			depth++
			if depth > maxDepth {
				return fmt.Errorf("%w: components nested deeper than %d", ErrInvalid, maxDepth)
			}
		case hasPrefixFold(line, "END:"):
			depth--
		}
	}
	return nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// ReplaceUID returns data with every UID property line (folded or not) set to
// uid, leaving every other byte untouched. Used by the keep-both conflict
// policy to turn the losing version into a new, separate item.
func ReplaceUID(data []byte, uid string) []byte {
	var out bytes.Buffer
	out.Grow(len(data) + len(uid))
	inUID := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i+1], data[i+1:]
		}
		if inUID && len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			continue // continuation of the replaced UID line
		}
		inUID = false
		if hasPrefixFold(line, "UID:") || hasPrefixFold(line, "UID;") {
			eol := "\r\n"
			if !bytes.HasSuffix(line, []byte("\r\n")) {
				eol = "\n"
			}
			out.WriteString("UID:" + uid + eol)
			inUID = true
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}
