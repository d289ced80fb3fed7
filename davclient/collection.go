package davclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vdird/vdird/davclient/internal/collxml"
	"github.com/vdird/vdird/davclient/webdav"
)

// Kind is what a collection holds.
type Kind uint8

// The kinds of collection vdird syncs.
const (
	KindCalendar    Kind = iota // a calendar (RFC 4791 §4.2) of iCalendar objects
	KindAddressBook             // an address book (RFC 6352 §5.2) of vCards
)

func (k Kind) String() string {
	if k == KindAddressBook {
		return "address book"
	}
	return "calendar"
}

// Calendar is a collection vdird syncs with the props it needs: a calendar
// (RFC 4791 §4.2) or, with Kind KindAddressBook, an address book (RFC 6352
// §5.2). Everything but Components and Color applies to both kinds.
type Calendar struct {
	Href         string   // canonical escaped absolute path, trailing slash
	Kind         Kind     // calendar or address book, from DAV:resourcetype
	DisplayName  string   // DAV:displayname
	Color        string   // ICAL:calendar-color (Apple namespace http://apple.com/ns/ical/)
	Description  string   // CALDAV:calendar-description or CARDDAV:addressbook-description
	CTag         string   // CS:getctag (http://calendarserver.org/ns/); "" if absent or not asked (see ListCollections)
	SyncToken    string   // DAV:sync-token (RFC 6578 §4); "" if absent
	SupportsSync bool     // sync-token present or supported-report-set lists sync-collection
	Components   []string // supported-calendar-component-set (RFC 4791 §5.2.3); nil = unknown (treat as all)
	ReadOnly     bool     // current-user-privilege-set lacks DAV:write / write-content (RFC 3744 §5.4); unknown → false
	// VCardVersions are the versions of text/vcard an address book serves
	// (CARDDAV:supported-address-data, RFC 6352 §6.2.2); nil = unknown.
	VCardVersions []string
	// MaxResourceSize is the largest item the server stores
	// (CALDAV:max-resource-size, RFC 4791 §5.2.5; CARDDAV:max-resource-size,
	// RFC 6352 §6.2.3), in bytes; 0 = unknown.
	MaxResourceSize int64
}

// Marker is the collection's change marker: a string that differs
// whenever a member was added, changed or removed since it was read. It is
// the sync-token where the server gives one (RFC 6578 §4: the token a
// sync-collection report would return at that moment), else the getctag;
// "" when the server gives neither. The kind is part of the string, so a
// token is never compared with a ctag.
func (c Calendar) Marker() string {
	switch {
	case c.SyncToken != "":
		return "sync-token " + c.SyncToken
	case c.CTag != "":
		return "ctag " + c.CTag
	}
	return ""
}

// collectionProps are the props of a collection a pass reads: what tells a
// calendar or an address book, its change marker and what it accepts
// (docs/design.md, "The protocol"). extra goes in too.
func collectionProps(extra string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/" xmlns:I="http://apple.com/ns/ical/">
<D:prop><D:resourcetype/><D:displayname/>` + extra + `<D:sync-token/><C:supported-calendar-component-set/><A:supported-address-data/><C:max-resource-size/><A:max-resource-size/><D:current-user-privilege-set/><D:supported-report-set/><I:calendar-color/><C:calendar-description/><A:addressbook-description/></D:prop>
</D:propfind>`
}

// calendarProps is the PROPFIND body for one collection.
var calendarProps = collectionProps(`<CS:getctag/>`)

// listProps is what a listing of a whole home asks for (every poll does
// one): no CS:getctag, because the collection's change marker is its
// DAV:sync-token wherever the server offers one. The sync-token is the one
// marker a correct sync needs anyway (it must be read before a first
// download, RFC 6578 §4), and servers that compute markers by walking the
// collection pay for each one asked: a listing that asks for both walks
// every calendar twice (docs/performance.md).
var listProps = collectionProps("")

// listPropsCTag adds CS:getctag to listProps, for servers that gave a
// collection without a sync-token.
var listPropsCTag = calendarProps

// ListCollections lists the calendars and address books (of the kinds in
// Options.Kinds) in the given homes, one Depth-1 PROPFIND per distinct
// home, sorted by Href. A collection may live anywhere on the server's
// origin: Google lists a user's calendars as /caldav/v2/CALID/events/
// beside the home /caldav/v2/EMAIL/. Hrefs on another origin are skipped
// and reported as an ErrOutsideCollection error alongside the valid
// result.
//
// The listing asks for DAV:sync-token only (see listProps). When a
// collection comes without one, the client lists again with CS:getctag and
// keeps asking for both from then on: one extra request, once per Client,
// on servers without RFC 6578.
func (c *Client) ListCollections(ctx context.Context, homes ...string) ([]Calendar, error) {
	var (
		out     []Calendar
		outside []error
		seen    = map[string]bool{}
	)
	for _, h := range homes {
		if h == "" {
			continue
		}
		home, err := c.dav.CollectionHref(h)
		if err != nil {
			return nil, err
		}
		if seen[home] {
			continue
		}
		seen[home] = true
		cols, err := c.listHome(ctx, home)
		if err != nil && !errors.Is(err, ErrOutsideCollection) {
			return nil, err
		}
		if err != nil {
			outside = append(outside, err)
		}
		for _, col := range cols {
			if !slices.ContainsFunc(out, func(o Calendar) bool { return o.Href == col.Href }) {
				out = append(out, col)
			}
		}
	}
	slices.SortFunc(out, func(a, b Calendar) int { return strings.Compare(a.Href, b.Href) })
	return out, errors.Join(outside...)
}

// listHome lists the collections of one home, asking getctag too once a
// listing gave a collection without a sync-token.
func (c *Client) listHome(ctx context.Context, home string) ([]Calendar, error) {
	withCTag := c.listCTag.Load()
	cols, err := c.listMembersOf(ctx, home, withCTag)
	if withCTag || !(err == nil || errors.Is(err, ErrOutsideCollection)) {
		return cols, err
	}
	for _, col := range cols {
		if col.SyncToken == "" {
			c.listCTag.Store(true)
			return c.listMembersOf(ctx, home, true)
		}
	}
	return cols, err
}

func (c *Client) listMembersOf(ctx context.Context, home string, withCTag bool) ([]Calendar, error) {
	body := listProps
	if withCTag {
		body = listPropsCTag
	}
	m, err := c.dav.Multistatus(ctx, webdav.Request{Method: "PROPFIND", Href: home, Depth: "1", Body: []byte(body)}, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var cols []Calendar
	outside, err := m.EachResource(home, func(h string, self bool, r *webdav.Response) error {
		if !strings.HasSuffix(h, "/") {
			h += "/"
		}
		if col, ok := collectionFrom(r, h); ok && !self && c.wants(col.Kind) {
			cols = append(cols, col)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cols, func(a, b Calendar) int { return strings.Compare(a.Href, b.Href) })
	return cols, m.Outside(outside)
}

// Calendar does a Depth-0 PROPFIND of one calendar or address book: the
// cheap change check.
func (c *Client) Calendar(ctx context.Context, href string) (Calendar, error) {
	href, err := c.dav.CollectionHref(href)
	if err != nil {
		return Calendar{}, err
	}
	r, err := c.dav.PropfindOne(ctx, href, calendarProps)
	if err != nil {
		return Calendar{}, err
	}
	cal, ok := collectionFrom(r, href)
	if !ok {
		return Calendar{}, fmt.Errorf("PROPFIND %s: not a calendar or address book: %w", c.dav.URL(href), ErrNotFound)
	}
	return cal, nil
}

// SyncToken reads a collection's current DAV:sync-token (RFC 6578 §4) with
// a Depth-0 PROPFIND asking for nothing else; "" when the server gives none.
func (c *Client) SyncToken(ctx context.Context, href string) (string, error) {
	href, err := c.dav.CollectionHref(href)
	if err != nil {
		return "", err
	}
	r, err := c.dav.PropfindOne(ctx, href, `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>`)
	if err != nil {
		return "", err
	}
	if t := r.Prop(nsDAV, "sync-token"); t != nil {
		return t.Value(), nil
	}
	return "", nil
}

// collectionFrom reads a Calendar from a PROPFIND response; ok is false
// when the resource is neither a calendar nor an address book (a
// scheduling inbox, a plain folder).
func collectionFrom(r *webdav.Response, href string) (Calendar, bool) {
	rt := r.Prop(nsDAV, "resourcetype")
	cal := Calendar{Href: href}
	switch {
	case rt == nil:
		return Calendar{}, false
	case rt.Child(nsCalDAV, "calendar") != nil:
		cal.Kind = KindCalendar
	case rt.Child(nsCardDAV, "addressbook") != nil:
		cal.Kind = KindAddressBook
	default:
		return Calendar{}, false
	}
	if n := r.Prop(nsDAV, "displayname"); n != nil {
		cal.DisplayName = n.Value()
	}
	if n := r.Prop(nsICal, "calendar-color"); n != nil && cal.Kind == KindCalendar {
		cal.Color = n.Value()
	}
	if n := r.Prop(descriptionProp(cal.Kind)); n != nil {
		cal.Description = n.Value()
	}
	if n := r.Prop(nsCS, "getctag"); n != nil {
		cal.CTag = n.Value()
	}
	if n := r.Prop(nsDAV, "sync-token"); n != nil {
		cal.SyncToken = n.Value()
	}
	cal.SupportsSync = cal.SyncToken != ""
	if n := r.Prop(nsDAV, "supported-report-set"); n != nil && n.Has(nsDAV, "sync-collection") {
		cal.SupportsSync = true
	}
	if n := r.Prop(nsCalDAV, "supported-calendar-component-set"); n != nil && cal.Kind == KindCalendar {
		cal.Components = collxml.Components(n)
	}
	if n := r.Prop(nsCardDAV, "supported-address-data"); n != nil && cal.Kind == KindAddressBook {
		cal.VCardVersions = collxml.VCardVersions(n)
	}
	for _, ns := range []string{nsCalDAV, nsCardDAV} {
		if n := r.Prop(ns, "max-resource-size"); n != nil {
			if size, err := strconv.ParseInt(n.Value(), 10, 64); err == nil && size > 0 {
				cal.MaxResourceSize = size
			}
		}
	}
	if n := r.Prop(nsDAV, "current-user-privilege-set"); n != nil {
		// RFC 3744 §3.12: DAV:all contains DAV:write, which contains write-content.
		cal.ReadOnly = !(n.Has(nsDAV, "write") || n.Has(nsDAV, "write-content") || n.Has(nsDAV, "all"))
	}
	return cal, true
}
