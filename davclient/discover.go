package davclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/vdird/vdird/davclient/webdav"
)

// Calendar is a calendar collection (RFC 4791 §4.2) with the props vdird needs.
type Calendar struct {
	Href         string   // canonical escaped absolute path, trailing slash
	DisplayName  string   // DAV:displayname
	Color        string   // ICAL:calendar-color (Apple namespace http://apple.com/ns/ical/)
	CTag         string   // CS:getctag (http://calendarserver.org/ns/); "" if absent or not asked (see ListCalendars)
	SyncToken    string   // DAV:sync-token (RFC 6578 §4); "" if absent
	SupportsSync bool     // sync-token present or supported-report-set lists sync-collection
	Components   []string // supported-calendar-component-set (RFC 4791 §5.2.3); nil = unknown (treat as all)
	ReadOnly     bool     // current-user-privilege-set lacks DAV:write / write-content (RFC 3744 §5.4); unknown → false
}

// Marker is the calendar's change marker: a string that differs whenever
// a member was added, changed or removed since it was read. It is the
// sync-token where the server gives one (RFC 6578 §4: the token a
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

// calendarProps is the PROPFIND body for collections: what a pass needs to
// tell a calendar and its change marker (docs/design.md, "The protocol").
const calendarProps = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:I="http://apple.com/ns/ical/">
<D:prop><D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/><C:supported-calendar-component-set/><D:current-user-privilege-set/><D:supported-report-set/><I:calendar-color/></D:prop>
</D:propfind>`

// listProps is what a listing of a whole home asks for (every poll does
// one): no CS:getctag, because the calendar's change marker is its
// DAV:sync-token wherever the server offers one. The sync-token is the one
// marker a correct sync needs anyway (it must be read before a first
// download, RFC 6578 §4), and servers that compute markers by walking the
// calendar pay for each one asked: a listing that asks for both walks
// every calendar twice (docs/performance.md).
const listProps = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:I="http://apple.com/ns/ical/">
<D:prop><D:resourcetype/><D:displayname/><D:sync-token/><C:supported-calendar-component-set/><D:current-user-privilege-set/><D:supported-report-set/><I:calendar-color/></D:prop>
</D:propfind>`

// listPropsCTag adds CS:getctag to listProps, for servers that gave a
// calendar without a sync-token.
const listPropsCTag = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:I="http://apple.com/ns/ical/">
<D:prop><D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/><C:supported-calendar-component-set/><D:current-user-privilege-set/><D:supported-report-set/><I:calendar-color/></D:prop>
</D:propfind>`

const principalProps = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:current-user-principal/><C:calendar-home-set/><D:resourcetype/></D:prop>
</D:propfind>`

// Discover finds the calendar home (RFC 6764 §5 well-known URI, then
// RFC 5397 current-user-principal, then RFC 4791 §6.2.1 calendar-home-set)
// and lists the calendars in it, sorted by Href.
//
// The well-known URI is only consulted when the configured URL has no path
// (a bare server name); a configured path is used as given. A same-origin
// redirect from the well-known URI is followed by hand (net/http would turn
// the PROPFIND into a GET), also to another host that credentials may go
// to (over https, one of the same registrable domain), where the client
// then stays; a 404 or other refusal falls back to the configured URL; a
// redirect to any other host is ErrRedirect.
func (c *Client) Discover(ctx context.Context) ([]Calendar, error) {
	home, err := c.discoverHome(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.home = home
	c.mu.Unlock()
	return c.ListCalendars(ctx, home)
}

// HomeSet returns the calendar-home-set href, discovering it on first use.
func (c *Client) HomeSet(ctx context.Context) (string, error) {
	c.mu.Lock()
	h := c.home
	c.mu.Unlock()
	if h != "" {
		return h, nil
	}
	h, err := c.discoverHome(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.home = h
	c.mu.Unlock()
	return h, nil
}

func (c *Client) discoverHome(ctx context.Context) (string, error) {
	start, err := c.dav.BaseHref()
	if err != nil {
		return "", err
	}
	if start == "/" {
		if start, err = c.wellKnown(ctx); err != nil {
			return "", err
		}
	}
	r, home, err := c.homeSetOf(ctx, start, "discover")
	if home != "" || err != nil {
		return home, err
	}
	if p := r.Prop(nsDAV, "current-user-principal"); p != nil && p.Child(nsDAV, "href") != nil {
		principal, err := c.hrefIn(p, "current-user-principal", false)
		if err != nil {
			return "", err
		}
		_, home, err := c.homeSetOf(ctx, principal, "discover principal")
		if home != "" || err != nil {
			return home, err
		}
		return "", fmt.Errorf("discover: principal %s has no calendar-home-set: %w", principal, ErrNotFound)
	}
	// No principal: the configured URL is taken to be the calendar home itself.
	return c.dav.CollectionHref(start)
}

// homeSetOf does a Depth-0 PROPFIND of href for the principal properties and
// returns the answer and the calendar-home-set it names ("" if none).
// what prefixes a request error.
func (c *Client) homeSetOf(ctx context.Context, href, what string) (*webdav.Response, string, error) {
	r, err := c.dav.PropfindOne(ctx, href, principalProps)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	h := r.Prop(nsCalDAV, "calendar-home-set")
	if h == nil {
		return r, "", nil
	}
	home, err := c.hrefIn(h, "calendar-home-set", true)
	return r, home, err
}

// hrefIn reads the DAV:href inside a property as a canonical href, with a
// trailing slash for a collection; a principal keeps the server's
// spelling (Google's, /caldav/v2/EMAIL/user, answers only without the
// slash). On another host that credentials may go to, the client moves
// there (see webdav.Client.Move).
func (c *Client) hrefIn(n *webdav.Node, what string, collection bool) (string, error) {
	h := n.Child(nsDAV, "href")
	if h == nil || h.Value() == "" {
		return "", fmt.Errorf("discover: %s without href: %w", what, ErrMalformed)
	}
	href, err := c.dav.Move(h.Value())
	if err != nil {
		return "", fmt.Errorf("discover: %s: %w", what, err)
	}
	if !collection {
		return c.dav.Canonical(href)
	}
	return c.dav.CollectionHref(href)
}

// wellKnown resolves /.well-known/caldav (RFC 6764 §5) to a context path.
func (c *Client) wellKnown(ctx context.Context) (string, error) {
	href := "/.well-known/caldav"
	for hops := 0; hops < 5; hops++ {
		resp, err := c.dav.Send(ctx, webdav.Request{Method: "PROPFIND", Href: href, Depth: "0", Body: []byte(principalProps), ContentType: "application/xml; charset=utf-8"})
		if err != nil {
			return "", fmt.Errorf("discover: %w", err)
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			webdav.Discard(resp)
			if href, err = c.dav.Redirect("PROPFIND", href, resp); err != nil {
				return "", fmt.Errorf("discover: %w", err)
			}
			continue
		case resp.StatusCode == http.StatusMultiStatus:
			webdav.Discard(resp)
			return href, nil
		case resp.StatusCode == http.StatusUnauthorized:
			return "", c.dav.StatusError("PROPFIND", resp)
		default: // 404, 405, ...: no well-known support, use the configured URL
			webdav.Discard(resp)
			return c.dav.BaseHref()
		}
	}
	return "", fmt.Errorf("discover: too many redirects from /.well-known/caldav: %w", ErrRedirect)
}

// ListCalendars does one Depth-1 PROPFIND of a known calendar home and
// returns its calendar collections sorted by Href, each with its change
// marker (see Calendar.Marker). A calendar may live anywhere on the
// server's origin: Google lists a user's calendars as /caldav/v2/CALID/events/
// beside the home /caldav/v2/EMAIL/. Hrefs on another origin are skipped
// and reported as an ErrOutsideCollection error alongside the valid result.
//
// The listing asks for DAV:sync-token only (see listProps). When a calendar
// comes without one, the client lists again with CS:getctag and keeps
// asking for both from then on: one extra request, once per Client, on
// servers without RFC 6578.
func (c *Client) ListCalendars(ctx context.Context, home string) ([]Calendar, error) {
	home, err := c.dav.CollectionHref(home)
	if err != nil {
		return nil, err
	}
	withCTag := c.listCTag.Load()
	cals, err := c.listCalendars(ctx, home, withCTag)
	if withCTag || !(err == nil || errors.Is(err, ErrOutsideCollection)) {
		return cals, err
	}
	for _, cal := range cals {
		if cal.SyncToken == "" {
			c.listCTag.Store(true)
			return c.listCalendars(ctx, home, true)
		}
	}
	return cals, err
}

func (c *Client) listCalendars(ctx context.Context, home string, withCTag bool) ([]Calendar, error) {
	body := listProps
	if withCTag {
		body = listPropsCTag
	}
	m, err := c.dav.Multistatus(ctx, webdav.Request{Method: "PROPFIND", Href: home, Depth: "1", Body: []byte(body)}, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var cals []Calendar
	outside, err := m.EachResource(home, func(h string, self bool, r *webdav.Response) error {
		if !strings.HasSuffix(h, "/") {
			h += "/"
		}
		if cal, ok := calendarFrom(r, h); ok && !self {
			cals = append(cals, cal)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cals, func(a, b Calendar) int { return strings.Compare(a.Href, b.Href) })
	return cals, m.Outside(outside)
}

// Calendar does a Depth-0 PROPFIND of one calendar: the cheap change check.
func (c *Client) Calendar(ctx context.Context, href string) (Calendar, error) {
	href, err := c.dav.CollectionHref(href)
	if err != nil {
		return Calendar{}, err
	}
	r, err := c.dav.PropfindOne(ctx, href, calendarProps)
	if err != nil {
		return Calendar{}, err
	}
	cal, ok := calendarFrom(r, href)
	if !ok {
		return Calendar{}, fmt.Errorf("PROPFIND %s: not a calendar collection: %w", c.dav.URL(href), ErrNotFound)
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

// calendarFrom reads a Calendar from a PROPFIND response; ok is false when
// the resource is not a calendar collection.
func calendarFrom(r *webdav.Response, href string) (Calendar, bool) {
	rt := r.Prop(nsDAV, "resourcetype")
	if rt == nil || rt.Child(nsCalDAV, "calendar") == nil {
		return Calendar{}, false
	}
	cal := Calendar{Href: href}
	if n := r.Prop(nsDAV, "displayname"); n != nil {
		cal.DisplayName = n.Value()
	}
	if n := r.Prop(nsICal, "calendar-color"); n != nil {
		cal.Color = n.Value()
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
	if n := r.Prop(nsCalDAV, "supported-calendar-component-set"); n != nil {
		cal.Components = []string{}
		for _, comp := range n.Children {
			if comp.Name.Space != nsCalDAV || comp.Name.Local != "comp" {
				continue
			}
			for _, a := range comp.Attr {
				if a.Name.Local == "name" && a.Value != "" {
					cal.Components = append(cal.Components, strings.ToUpper(a.Value))
				}
			}
		}
	}
	if n := r.Prop(nsDAV, "current-user-privilege-set"); n != nil {
		// RFC 3744 §3.12: DAV:all contains DAV:write, which contains write-content.
		cal.ReadOnly = !(n.Has(nsDAV, "write") || n.Has(nsDAV, "write-content") || n.Has(nsDAV, "all"))
	}
	return cal, true
}
