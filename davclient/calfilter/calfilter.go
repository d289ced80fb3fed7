// Package calfilter lists the part of a calendar that a filter lets
// through (RFC 4791 §9.7): members of some component types, overlapping a
// time range (§9.9), with calendar-query REPORTs sent by a davclient
// Client; asks with a multiget of getetag alone whether the server
// still holds members that such a listing left out; and finds the
// members of a calendar or an address book holding a UID.
package calfilter

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vdird/vdird/davclient"
)

// Filter narrows a calendar's listing: to members of the given component
// types, and with a time range to those that overlap it (the server
// expands recurring items). The zero Filter lists every member.
type Filter struct {
	Components []string  // nil: every type
	Start, End time.Time // zero: no time range
	// Overlaps, with a time range, tells whether a recurring member's
	// data overlaps it. A server that matches a time range against a
	// series' first instance alone (Xandikos 0.2) leaves out a series
	// that began before Start: the listing then also asks for every
	// recurring member that starts before End, with its data, and takes
	// those Overlaps accepts.
	Overlaps func(data []byte) bool
}

// Batch is how many hrefs a lookup by ETags asks for in one request: as
// many as a multiget of changed members.
const Batch = 100

// timeRanged are the component types a time range applies to that
// calendars hold: a window lists these.
var timeRanged = []string{"VEVENT", "VTODO", "VJOURNAL"}

// Whole tells whether the filter lists every member.
func (f Filter) Whole() bool { return f.Components == nil && f.Start.IsZero() }

// comps are the component types a listing of cal with f asks for, one
// calendar-query each: comp-filters side by side must all match (§9.7.1),
// so a query names one type. Without Components, a time range asks for
// the types it applies to that cal holds.
func (f Filter) comps(cal davclient.Calendar) []string {
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

// timeRange is the CALDAV:time-range element from start to end (UTC).
func timeRange(start, end time.Time) string {
	const stamp = "20060102T150405Z"
	return `<C:time-range start="` + start.UTC().Format(stamp) + `" end="` + end.UTC().Format(stamp) + `"/>`
}

// query is the calendar-query of the members of type comp that match
// inner, the inside of the comp's comp-filter.
func query(c *davclient.Client, cal davclient.Calendar, data bool, comp, inner string) []byte {
	b := c.ReportOpen(cal, "calendar-query", data)
	b.WriteString(`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="`)
	_ = xml.EscapeText(b, []byte(strings.ToUpper(comp)))
	b.WriteString(`">` + inner + `</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
	return []byte(b.String())
}

// listing is one REPORT of a listing: its body, and whether what it
// answers must pass Filter.Overlaps.
type listing struct {
	body  []byte
	check bool
}

// listings are the REPORTs that list cal narrowed by f: one per component
// type, and with Overlaps one more per type for the recurring members
// that start before the end, with their data.
func (f Filter) listings(c *davclient.Client, cal davclient.Calendar, data bool) []listing {
	var out []listing
	ranged := ""
	if !f.Start.IsZero() {
		ranged = timeRange(f.Start, f.End)
	}
	for _, comp := range f.comps(cal) {
		out = append(out, listing{body: query(c, cal, data, comp, ranged)})
	}
	if f.Start.IsZero() || f.Overlaps == nil {
		return out
	}
	since := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, comp := range f.comps(cal) {
		out = append(out, listing{body: query(c, cal, true, comp, timeRange(since, f.End)+`<C:prop-filter name="RRULE"/>`), check: true})
	}
	return out
}

// each walks the members of cal that f lets through, each once, and
// hands each to fn. Members outside the collection are skipped and come
// back as an ErrOutsideCollection error alongside a complete walk.
func each(ctx context.Context, c *davclient.Client, cal davclient.Calendar, f Filter, data bool, fn func(davclient.Object) error) error {
	if f.Whole() {
		if data {
			return c.Download(ctx, cal, fn)
		}
		items, err := c.ListETags(ctx, cal)
		for _, it := range items {
			if ferr := fn(davclient.Object{Href: it.Href, ETag: it.ETag}); ferr != nil {
				return ferr
			}
		}
		return err
	}
	var outside error
	ls := f.listings(c, cal, data)
	seen := map[string]bool{} // a member several REPORTs name is taken once
	for _, l := range ls {
		err := c.Report(ctx, cal, l.body, !l.check && !data, func(o davclient.Object, status int) error {
			switch {
			case seen[o.Href], status != 0 && status/100 != 2, data && o.Data == nil:
				return nil
			case l.check && (o.Data == nil || !f.Overlaps(o.Data)):
				return nil
			}
			seen[o.Href] = true
			if !data {
				o.Data = nil
			}
			return fn(o)
		})
		switch {
		case errors.Is(err, davclient.ErrOutsideCollection):
			outside = err
		case err != nil:
			return err
		}
	}
	return outside
}

// ListETags lists the members of cal that f lets through with their
// etags, sorted by href; each REPORT asks only DAV:getetag but those that
// Overlaps must see. Members outside the collection are skipped and
// reported as an ErrOutsideCollection error alongside the result.
func ListETags(ctx context.Context, c *davclient.Client, cal davclient.Calendar, f Filter) ([]davclient.Item, error) {
	var all []davclient.Item
	err := each(ctx, c, cal, f, false, func(o davclient.Object) error {
		all = append(all, davclient.Item{Href: o.Href, ETag: o.ETag})
		return nil
	})
	if err != nil && !errors.Is(err, davclient.ErrOutsideCollection) {
		return nil, err
	}
	slices.SortFunc(all, func(a, b davclient.Item) int { return strings.Compare(a.Href, b.Href) })
	return all, err
}

// Download fetches the members of cal that f lets through, streamed: fn
// sees one object at a time. An error from fn stops the download and is
// returned as is.
func Download(ctx context.Context, c *davclient.Client, cal davclient.Calendar, f Filter, fn func(davclient.Object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return each(ctx, c, cal, f, true, fn)
}

// ETags asks the server, with calendar-multiget requests of getetag alone
// (batch hrefs each, one after the other), whether it holds the members
// hrefs (canonical, as listings give them): those it holds come back with
// their etags ("" when it gives none), those it answers 404 as gone. A
// member the server leaves out of its answer is in neither. A 404
// propstat of getetag alone proves nothing (a server without etags
// answers so for every member): that member is present.
func ETags(ctx context.Context, c *davclient.Client, cal davclient.Calendar, hrefs []string, batch int) (present []davclient.Item, gone []string, err error) {
	for len(hrefs) > 0 {
		part := hrefs[:min(len(hrefs), max(batch, 1))]
		hrefs = hrefs[len(part):]
		b := c.ReportOpen(cal, "calendar-multiget", false)
		for _, h := range part {
			b.WriteString("<D:href>")
			_ = xml.EscapeText(b, []byte(h))
			b.WriteString("</D:href>")
		}
		b.WriteString("</C:calendar-multiget>")
		err := c.Report(ctx, cal, []byte(b.String()), true, func(o davclient.Object, status int) error {
			switch {
			case status == http.StatusNotFound:
				gone = append(gone, o.Href)
			case status == 0 || status/100 == 2:
				present = append(present, davclient.Item{Href: o.Href, ETag: o.ETag})
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return present, gone, nil
}

// ByUID lists the members of cal whose UID holds uid, with their etags, in
// one REPORT: a calendar-query for members of component type comp with a
// UID prop-filter (RFC 4791 §9.7.5), or in an address book an
// addressbook-query with one (RFC 6352 §10.5; comp is not used). A
// text-match is a substring match, without case in an address book, so
// the caller checks each member's UID.
func ByUID(ctx context.Context, c *davclient.Client, cal davclient.Calendar, comp, uid string) ([]davclient.Item, error) {
	var body []byte
	if cal.Kind == davclient.KindAddressBook {
		// CardDAV's default collation, i;unicode-casemap, is one every
		// server has (§8.3).
		b := c.ReportOpen(cal, "addressbook-query", false)
		b.WriteString(`<C:filter>` + uidMatch("", uid) + `</C:filter></C:addressbook-query>`)
		body = []byte(b.String())
	} else {
		body = query(c, cal, false, comp, uidMatch(` collation="i;octet"`, uid))
	}
	var out []davclient.Item
	err := c.Report(ctx, cal, body, true, func(o davclient.Object, status int) error {
		if status == 0 || status/100 == 2 {
			out = append(out, davclient.Item{Href: o.Href, ETag: o.ETag})
		}
		return nil
	})
	if err != nil && !errors.Is(err, davclient.ErrOutsideCollection) {
		return nil, err
	}
	return out, nil
}

// uidMatch is the prop-filter of the members whose UID holds uid, its
// text-match with the attributes attrs; the C prefix is the REPORT's.
func uidMatch(attrs, uid string) string {
	var b strings.Builder
	b.WriteString(`<C:prop-filter name="UID"><C:text-match` + attrs + `>`)
	_ = xml.EscapeText(&b, []byte(uid))
	b.WriteString(`</C:text-match></C:prop-filter>`)
	return b.String()
}
