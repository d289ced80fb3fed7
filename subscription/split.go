package subscription

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"

	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/vdir"
)

// ErrMalformed is wrapped by the error of a feed that is not one whole
// iCalendar stream: nothing of it is used.
var ErrMalformed = errors.New("not a whole iCalendar feed")

// maxDepth bounds BEGIN nesting, as internal/ics does: go-ical decodes
// recursively.
const maxDepth = 16

// Item is one file of the folder: every component of the feed that has
// the item's UID, with the time zones they use.
type Item struct {
	UID  string
	Name string // the file name, from the UID
	Data []byte
}

// Feed is a feed split into items.
type Feed struct {
	Items []Item // sorted by Name
	// Held are the names of items the feed holds but whose file could not
	// be made: their files stay as they are.
	Held map[string]bool
	// Unreadable counts components that could not be read and have no
	// UID to say which file they are: no file is removed while there are
	// any.
	Unreadable int
	// Problems describe each component that could not be used.
	Problems []string
	// DisplayName and Color are the calendar's name (X-WR-CALNAME) and
	// colour (X-APPLE-CALENDAR-COLOR, or COLOR of RFC 7986), "" if none.
	DisplayName, Color string
}

// ItemName is the file name of the item with uid: the UID itself when it
// makes a safe file name, else a hash of it (vdir.NameForHref). Distinct
// UIDs get distinct names.
func ItemName(uid string) string {
	return vdir.NameForHref(url.PathEscape(uid+".ics"), vdir.ICS)
}

// headerKept are the VCALENDAR properties every item file carries; the
// others describe the feed (its name, method, refresh interval), not an
// item.
var headerKept = map[string]bool{"VERSION": true, "PRODID": true, "CALSCALE": true, "X-WR-TIMEZONE": true}

// itemComponents are the components that make items.
var itemComponents = map[string]bool{"VEVENT": true, "VTODO": true, "VJOURNAL": true}

// Split reads a whole feed and makes one file per UID: the VCALENDAR
// properties that describe items (VERSION, PRODID, CALSCALE,
// X-WR-TIMEZONE), the time zones the item's components refer to, and the
// components themselves, each as the feed wrote it with CRLF line ends.
// The same feed gives the same bytes. A feed that is not one whole
// iCalendar stream (HTML, cut off, components that do not close) is an
// error wrapping ErrMalformed; a component that cannot be read, or an item
// whose file would not be one valid item, is a problem of that item only.
func Split(data []byte) (*Feed, error) {
	s, err := scan(data)
	if err != nil {
		return nil, err
	}
	f := &Feed{Held: map[string]bool{}}
	f.DisplayName, f.Color = calendarMeta(s.header)
	zones := &zoneSet{raw: map[string][]byte{}}
	type group struct {
		blocks [][]byte
		tzids  []string
	}
	groups := map[string]*group{}
	for _, b := range s.blocks {
		switch {
		case b.name == "VTIMEZONE":
			if c, err := decodeBlock(b.raw); err == nil {
				if p := c.Props.Get(ical.PropTimezoneID); p != nil {
					zones.add(p.Value, b.raw)
				}
			}
		case itemComponents[b.name]:
			c, err := decodeBlock(b.raw)
			if err != nil {
				f.unusable(b, err)
				continue
			}
			uid := ""
			if p := c.Props.Get(ical.PropUID); p != nil {
				uid = p.Value
			}
			if strings.TrimSpace(uid) == "" {
				uid, b.raw = withUID(b.raw)
			}
			g := groups[uid]
			if g == nil {
				g = &group{}
				groups[uid] = g
			}
			g.blocks = append(g.blocks, b.raw)
			g.tzids = append(g.tzids, tzidsOf(c)...)
		}
	}
	for uid, g := range groups {
		name := ItemName(uid)
		data := assemble(s, zones, g.tzids, g.blocks)
		info, err := ics.Inspect(data)
		if err == nil && info.UID != uid {
			err = fmt.Errorf("its UID reads as %q", info.UID)
		}
		if err != nil {
			f.Held[name] = true
			f.Problems = append(f.Problems, fmt.Sprintf("item %q not written: %v", uid, err))
			continue
		}
		f.Items = append(f.Items, Item{UID: uid, Name: name, Data: data})
	}
	slices.SortFunc(f.Items, func(a, b Item) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(f.Problems)
	return f, nil
}

// withUID gives a component that has no UID one made from its bytes
// (RFC 5545 requires one, and a file is named after it): the same
// component gets the same UID at every fetch.
func withUID(raw []byte) (uid string, out []byte) {
	sum := sha256.Sum256(raw)
	uid = "vdird-" + hex.EncodeToString(sum[:10])
	i := bytes.IndexByte(raw, '\n') + 1 // after the BEGIN line
	out = append(append(append([]byte{}, raw[:i]...), "UID:"+uid+"\r\n"...), raw[i:]...)
	return uid, deleteEmptyUID(out)
}

// deleteEmptyUID drops "UID:" lines without a value.
func deleteEmptyUID(raw []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(raw, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && bytes.EqualFold(t, []byte("UID:")) {
			continue
		}
		out = append(out, l...)
	}
	return out
}

// unusable notes a component that cannot be read. When its UID can still
// be found in its lines, its file is held; otherwise no file may be
// removed, since it could be any of them.
func (f *Feed) unusable(b block, err error) {
	if uid := rawUID(b.raw); uid != "" {
		f.Held[ItemName(uid)] = true
		f.Problems = append(f.Problems, fmt.Sprintf("item %q (%s at line %d of the feed) not written: %v", uid, b.name, b.line, err))
		return
	}
	f.Unreadable++
	f.Problems = append(f.Problems, fmt.Sprintf("%s at line %d of the feed skipped: %v", b.name, b.line, err))
}

// zoneSet holds the feed's VTIMEZONEs by TZID, the first of each, in the
// feed's order.
type zoneSet struct {
	raw   map[string][]byte
	order []string
}

func (z *zoneSet) add(tzid string, raw []byte) {
	if z.raw[tzid] == nil {
		z.raw[tzid] = raw
		z.order = append(z.order, tzid)
	}
}

// assemble builds an item's file from the feed's parts.
func assemble(s *scanned, zones *zoneSet, tzids []string, blocks [][]byte) []byte {
	var out bytes.Buffer
	out.WriteString("BEGIN:VCALENDAR\r\n")
	if !s.hasVersion {
		out.WriteString("VERSION:2.0\r\n")
	}
	if !s.hasProdID {
		out.WriteString("PRODID:-//vdird//subscription//EN\r\n")
	}
	for _, h := range s.header {
		if headerKept[h.name] {
			out.Write(h.raw)
		}
	}
	for _, z := range zones.order {
		if slices.Contains(tzids, z) {
			out.Write(zones.raw[z])
		}
	}
	for _, b := range blocks {
		out.Write(b)
	}
	out.WriteString("END:VCALENDAR\r\n")
	return out.Bytes()
}

// decodeBlock parses one top-level component with go-ical; go-ical panics
// on some malformed input, which becomes an error.
func decodeBlock(raw []byte) (c *ical.Component, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%v", r)
		}
	}()
	cal, err := ical.NewDecoder(io.MultiReader(strings.NewReader("BEGIN:VCALENDAR\r\n"), bytes.NewReader(raw),
		strings.NewReader("END:VCALENDAR\r\n"))).Decode()
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "ical: "))
	}
	if len(cal.Children) != 1 {
		return nil, errors.New("not one component")
	}
	return cal.Children[0], nil
}

// tzidsOf returns the TZID parameters of c and its subcomponents.
func tzidsOf(c *ical.Component) []string {
	var out []string
	for _, props := range c.Props {
		for _, p := range props {
			out = append(out, p.Params.Values(ical.ParamTimezoneID)...)
		}
	}
	for _, ch := range c.Children {
		out = append(out, tzidsOf(ch)...)
	}
	return out
}

// rawUID finds the value of the first UID line of a component that go-ical
// could not read.
func rawUID(raw []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, len(raw)+1)
	for sc.Scan() {
		l := sc.Text()
		if len(l) > 4 && strings.EqualFold(l[:4], "UID:") {
			return strings.TrimSpace(strings.TrimRight(l[4:], "\r"))
		}
	}
	return ""
}

var (
	hexColor   = regexp.MustCompile(`^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$`)
	namedColor = regexp.MustCompile(`^[A-Za-z]{3,20}$`)
)

// calendarMeta reads the calendar's name and colour from its properties:
// one printable line each, the colour as "#RRGGBB" or a CSS colour name.
func calendarMeta(header []contentLine) (name, color string) {
	var raw bytes.Buffer
	for _, h := range header {
		raw.Write(h.raw)
	}
	c, err := decodeBlock(append(append([]byte("BEGIN:X-HEADER\r\n"), raw.Bytes()...), "END:X-HEADER\r\n"...))
	if err != nil {
		return "", ""
	}
	if n, err := c.Props.Text("X-WR-CALNAME"); err == nil {
		name = strings.Join(strings.Fields(n), " ")
		if len(name) > 256 || !utf8.ValidString(name) {
			name = ""
		}
	}
	for _, key := range []string{"X-APPLE-CALENDAR-COLOR", "COLOR"} {
		if p := c.Props.Get(key); p != nil && color == "" {
			v := strings.TrimSpace(p.Value)
			switch {
			case hexColor.MatchString(v):
				color = strings.ToUpper(v[:7])
			case key == "COLOR" && namedColor.MatchString(v):
				color = strings.ToLower(v)
			}
		}
	}
	return name, color
}
