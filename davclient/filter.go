package davclient

import (
	"context"
	"errors"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vdird/vdird/davclient/webdav"
)

// Filter narrows a calendar's listing (RFC 4791 §9.7): to members of the
// given component types, and with a time range to those that overlap it
// (§9.9; the server expands recurring items). The zero Filter lists every
// member.
type Filter struct {
	Components []string  // nil: every type
	Start, End time.Time // zero: no time range
}

// timeRanged are the component types a time range applies to that
// calendars hold: a window lists these.
var timeRanged = []string{"VEVENT", "VTODO", "VJOURNAL"}

// Whole tells whether the filter lists every member.
func (f Filter) Whole() bool { return f.Components == nil && f.Start.IsZero() }

// comps are the component types a listing of cal with f asks for, one
// calendar-query each: comp-filters side by side must all match (§9.7.1),
// so a query names one type. Without Components, a time range asks for
// the types it applies to that cal holds.
func (f Filter) comps(cal Calendar) []string {
	if f.Components != nil {
		return f.Components
	}
	var out []string
	for _, c := range timeRanged {
		if cal.Components == nil || slices.ContainsFunc(cal.Components, func(h string) bool { return strings.EqualFold(h, c) }) {
			out = append(out, c)
		}
	}
	return out
}

// filtered are the calendar-query bodies of a listing of cal narrowed by
// f, one per component type.
func (c *Client) filtered(cal Calendar, data bool, f Filter) [][]byte {
	var out [][]byte
	for _, comp := range f.comps(cal) {
		b := c.reportOpen(cal, "calendar-query", data)
		b.WriteString(`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="`)
		_ = xml.EscapeText(b, []byte(strings.ToUpper(comp)))
		b.WriteString(`">`)
		if !f.Start.IsZero() {
			const stamp = "20060102T150405Z"
			b.WriteString(`<C:time-range start="` + f.Start.UTC().Format(stamp) + `" end="` + f.End.UTC().Format(stamp) + `"/>`)
		}
		b.WriteString(`</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
		out = append(out, []byte(b.String()))
	}
	return out
}

// queries are the REPORT bodies that list cal narrowed by f: the one
// query of every member for the zero Filter or an address book.
func (c *Client) queries(cal Calendar, data bool, f Filter) [][]byte {
	if f.Whole() || cal.Kind == KindAddressBook {
		return [][]byte{c.query(cal, data)}
	}
	return c.filtered(cal, data, f)
}

// ListETagsIn is ListETags of the members f lets through: one
// calendar-query per component type, each asking only DAV:getetag.
func (c *Client) ListETagsIn(ctx context.Context, cal Calendar, f Filter) ([]Item, error) {
	coll, err := c.dav.CollectionHref(cal.Href)
	if err != nil {
		return nil, err
	}
	var all []Item
	var outside error
	for _, body := range c.queries(cal, false, f) {
		req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: body}
		items, err := listMembers(ctx, c, req, func(it Item) string { return it.Href }, etagOf)
		if err != nil && !errors.Is(err, ErrOutsideCollection) {
			return nil, err
		}
		if err != nil {
			outside = err
		}
		all = append(all, items...)
	}
	slices.SortFunc(all, func(a, b Item) int { return strings.Compare(a.Href, b.Href) })
	return slices.CompactFunc(all, func(a, b Item) bool { return a.Href == b.Href }), outside
}

// etagOf is a listed member and its etag; the collection itself and
// members answered with an error status are left out.
func etagOf(h string, self bool, r *webdav.Response) (Item, bool) {
	if self || (r.Status != 0 && r.Status/100 != 2) {
		return Item{}, false
	}
	it := Item{Href: h}
	if e := r.Prop(nsDAV, "getetag"); e != nil {
		it.ETag = e.Value()
	}
	return it, true
}

// DownloadIn is Download of the members f lets through, one streamed
// calendar-query per component type.
func (c *Client) DownloadIn(ctx context.Context, cal Calendar, f Filter, fn func(Object) error) error {
	coll, err := c.dav.CollectionHref(cal.Href)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var outside error
	for _, body := range c.queries(cal, true, f) {
		req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: body}
		out, err := c.walk(ctx, req, false, func(h string, self bool, r *webdav.Response) error {
			if o, ok := objectFrom(cal.Kind, h, r); ok && !self {
				return fn(o)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if out != nil {
			outside = out
		}
	}
	return outside
}

// ETags asks the server, with calendar-multiget or addressbook-multiget
// requests of getetag alone (MultigetBatch hrefs each, one after the
// other), whether it holds the members hrefs: those it holds come back
// with their etags ("" when it gives none), those it answers 404 as gone.
// A member the server leaves out of its answer is in neither. A 404
// propstat of getetag alone proves nothing (a server without etags
// answers so for every member): that member is present.
func (c *Client) ETags(ctx context.Context, cal Calendar, hrefs []string) (present []Item, gone []string, err error) {
	coll, want, err := c.membersOf(cal, hrefs)
	if err != nil {
		return nil, nil, err
	}
	report := "calendar-multiget"
	if cal.Kind == KindAddressBook {
		report = "addressbook-multiget"
	}
	for len(want) > 0 {
		batch := want[:min(len(want), c.opts.MultigetBatch)]
		want = want[len(batch):]
		b := c.reportOpen(cal, report, false)
		for _, h := range batch {
			b.WriteString("<D:href>")
			_ = xml.EscapeText(b, []byte(h))
			b.WriteString("</D:href>")
		}
		b.WriteString("</C:" + report + ">")
		req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: []byte(b.String())}
		outside, err := c.walk(ctx, req, true, func(h string, self bool, r *webdav.Response) error {
			switch {
			case self:
			case r.Status == http.StatusNotFound:
				gone = append(gone, h)
			case r.Status == 0 || r.Status/100 == 2:
				it, _ := etagOf(h, false, r)
				present = append(present, it)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if outside != nil {
			return nil, nil, outside
		}
	}
	return present, gone, nil
}
