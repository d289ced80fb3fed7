package davclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/vdird/vdird/davclient/webdav"
)

const principalProps = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="urn:ietf:params:xml:ns:carddav">
<D:prop><D:current-user-principal/><C:calendar-home-set/><A:addressbook-home-set/><D:resourcetype/></D:prop>
</D:propfind>`

// Homes are where an account's collections live; "" where the server
// names none or the client was not asked to look (Options.Kinds).
type Homes struct {
	Calendars    string // calendar-home-set (RFC 4791 §6.2.1)
	AddressBooks string // addressbook-home-set (RFC 6352 §7.1.1)
	// Elsewhere is the URL of an address book home on another host than
	// the calendar home (iCloud keeps them on separate partition hosts),
	// which one Client cannot reach together with the calendars; "" when
	// there is none.
	Elsewhere string
}

// Discover finds the homes (RFC 6764 §5 well-known URIs, then RFC 5397
// current-user-principal, then the home sets; see Homes) and lists the
// calendars and address books in them, sorted by Href.
//
// The well-known URIs are only consulted when the configured URL has no
// path (a bare server name); a configured path is used as given. A
// same-origin redirect from a well-known URI is followed by hand (net/http
// would turn the PROPFIND into a GET), also to another host that
// credentials may go to (over https, one of the same registrable domain),
// where the client then stays; a 404 or other refusal falls back to the
// configured URL; a redirect to any other host is ErrRedirect.
func (c *Client) Discover(ctx context.Context) ([]Calendar, error) {
	h, err := c.discoverHomes(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.homes, c.homesKnown = h, true
	c.mu.Unlock()
	return c.ListCollections(ctx, h.Calendars, h.AddressBooks)
}

// Homes returns the homes, discovering them on first use.
func (c *Client) Homes(ctx context.Context) (Homes, error) {
	c.mu.Lock()
	h, ok := c.homes, c.homesKnown
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	h, err := c.discoverHomes(ctx)
	if err != nil {
		return Homes{}, err
	}
	c.mu.Lock()
	c.homes, c.homesKnown = h, true
	c.mu.Unlock()
	return h, nil
}

// discoverHomes finds the homes of the kinds the client looks for. Address
// books may live at a context of their own (/.well-known/carddav), which
// is asked when the calendar's context named no address book home.
func (c *Client) discoverHomes(ctx context.Context) (Homes, error) {
	start, err := c.dav.BaseHref()
	if err != nil {
		return Homes{}, err
	}
	atRoot := start == "/"
	if atRoot {
		service := "caldav"
		if !c.wants(KindCalendar) {
			service = "carddav"
		}
		if start, err = c.wellKnown(ctx, service); err != nil {
			return Homes{}, err
		}
	}
	h, err := c.homesFrom(ctx, start)
	if err != nil {
		return Homes{}, err
	}
	if atRoot && h.AddressBooks == "" && h.Elsewhere == "" && c.wants(KindCalendar) && c.wants(KindAddressBook) {
		if other, err := c.wellKnown(ctx, "carddav"); err == nil && other != start {
			if hb, err := c.homesFrom(ctx, other); err == nil {
				h.AddressBooks, h.Elsewhere = hb.AddressBooks, hb.Elsewhere
			}
		}
	}
	if h.Calendars == "" && h.AddressBooks == "" {
		return Homes{}, fmt.Errorf("discover: %s names no calendar-home-set or addressbook-home-set: %w", c.dav.URL(start), ErrNotFound)
	}
	return h, nil
}

// homesFrom reads the homes from the resource at start, or from the
// principal it names. A resource that names neither homes nor a principal
// is taken to be the home itself, of both kinds.
func (c *Client) homesFrom(ctx context.Context, start string) (Homes, error) {
	r, h, err := c.homeSetsOf(ctx, start, "discover", Homes{})
	if err != nil {
		return Homes{}, err
	}
	p := r.Prop(nsDAV, "current-user-principal")
	if p == nil || p.Child(nsDAV, "href") == nil {
		if h != (Homes{}) {
			return h, nil
		}
		home, err := c.dav.CollectionHref(start)
		if err != nil {
			return Homes{}, err
		}
		return c.only(Homes{Calendars: home, AddressBooks: home}), nil
	}
	if c.complete(h) {
		return h, nil
	}
	principal, err := c.hrefIn(p, "current-user-principal", true, false)
	if err != nil {
		return Homes{}, err
	}
	if principal == start {
		return h, nil
	}
	_, h, err = c.homeSetsOf(ctx, principal, "discover principal", h)
	return h, err
}

// homeSetsOf does a Depth-0 PROPFIND of href for the principal properties
// and returns the answer and the homes it names added to found. The first
// home the client finds may move it to another host (see hrefIn); a later
// one on another host is left Elsewhere. what prefixes a request error.
func (c *Client) homeSetsOf(ctx context.Context, href, what string, found Homes) (*webdav.Response, Homes, error) {
	r, err := c.dav.PropfindOne(ctx, href, principalProps)
	if err != nil {
		return nil, found, fmt.Errorf("%s: %w", what, err)
	}
	for _, k := range []Kind{KindCalendar, KindAddressBook} {
		n := r.Prop(homeSetName(k))
		dst := &found.Calendars
		if k == KindAddressBook {
			dst = &found.AddressBooks
		}
		if n == nil || *dst != "" || !c.wants(k) {
			continue
		}
		first := found.Calendars == "" && found.AddressBooks == ""
		_, what := homeSetName(k)
		home, err := c.hrefIn(n, what, first, true)
		switch {
		case errors.Is(err, ErrOutsideCollection) && !first:
			found.Elsewhere = n.Child(nsDAV, "href").Value()
		case err != nil:
			return nil, found, err
		default:
			*dst = home
		}
	}
	return r, found, nil
}

// homeSetName is the principal property naming the home of kind k.
func homeSetName(k Kind) (space, local string) {
	if k == KindAddressBook {
		return nsCardDAV, "addressbook-home-set"
	}
	return nsCalDAV, "calendar-home-set"
}

// wants tells whether the client looks for collections of kind k.
func (c *Client) wants(k Kind) bool {
	return len(c.opts.Kinds) == 0 || slices.Contains(c.opts.Kinds, k)
}

// complete tells whether h names the home of every kind the client looks for.
func (c *Client) complete(h Homes) bool {
	return (h.Calendars != "" || !c.wants(KindCalendar)) && (h.AddressBooks != "" || h.Elsewhere != "" || !c.wants(KindAddressBook))
}

// only clears the homes of kinds the client does not look for.
func (c *Client) only(h Homes) Homes {
	if !c.wants(KindCalendar) {
		h.Calendars = ""
	}
	if !c.wants(KindAddressBook) {
		h.AddressBooks = ""
	}
	return h
}

// hrefIn reads the DAV:href inside a property as a canonical href, with a
// trailing slash for a collection; a principal keeps the server's
// spelling (Google's, /caldav/v2/EMAIL/user, answers only without the
// slash). On another host that credentials may go to, the client moves
// there when move is set (see webdav.Client.Move); otherwise such an href
// is ErrOutsideCollection.
func (c *Client) hrefIn(n *webdav.Node, what string, move, collection bool) (string, error) {
	h := n.Child(nsDAV, "href")
	if h == nil || h.Value() == "" {
		return "", fmt.Errorf("discover: %s without href: %w", what, ErrMalformed)
	}
	var (
		href string
		err  error
	)
	if move {
		href, err = c.dav.Move(h.Value())
	} else {
		href, err = c.dav.Canonical(h.Value())
	}
	if err != nil {
		return "", fmt.Errorf("discover: %s: %w", what, err)
	}
	if !collection {
		return c.dav.Canonical(href)
	}
	return c.dav.CollectionHref(href)
}

// wellKnown resolves /.well-known/caldav or /.well-known/carddav (RFC 6764
// §5, service "caldav" or "carddav") to a context path.
func (c *Client) wellKnown(ctx context.Context, service string) (string, error) {
	href := "/.well-known/" + service
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
	return "", fmt.Errorf("discover: too many redirects from /.well-known/%s: %w", service, ErrRedirect)
}
