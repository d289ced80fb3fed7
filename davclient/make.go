package davclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/vdird/vdird/davclient/internal/collxml"
	"github.com/vdird/vdird/davclient/webdav"
)

// ErrNotAllowed is MKCALENDAR or MKCOL answered with 405, or with the
// DAV:resource-must-be-null condition (RFC 4791 §5.3.1.1; Radicale says
// 409, Xandikos a 207 holding a 403): something already exists at the
// href (RFC 4918 §9.3.1), or, for a bare 405, the server makes no
// collection there at all (Google). The caller lists the href to tell.
var ErrNotAllowed = errors.New("method not allowed")

// NewCollection is what MakeCollection makes: the kind of collection and
// the properties it starts with. An empty value is not sent.
type NewCollection struct {
	Kind        Kind
	DisplayName string   // DAV:displayname
	Color       string   // ICAL:calendar-color; calendars only
	Description string   // CALDAV:calendar-description or CARDDAV:addressbook-description
	Components  []string // supported-calendar-component-set (RFC 4791 §5.2.3); nil: the server's default
}

// MakeCollection makes a calendar with MKCALENDAR (RFC 4791 §5.3.1) or an
// address book with an extended MKCOL (RFC 5689 §3, resourcetype
// CARDDAV:addressbook, RFC 6352 §6.3.1) at href, with the properties of
// n. Neither method replaces what exists at href, and the request carries
// If-None-Match: * besides: the server answers ErrNotAllowed then (also
// what a server that makes no collections answers), and 403
// (ErrForbidden) when it does not let the user make one.
func (c *Client) MakeCollection(ctx context.Context, href string, n NewCollection) error {
	h, err := c.dav.CollectionHref(href)
	if err != nil {
		return err
	}
	method, body, err := collxml.MakeBody(n.Kind == KindAddressBook, collxml.Props{DisplayName: n.DisplayName,
		Color: n.Color, Description: n.Description, Components: n.Components})
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, h, err)
	}
	resp, err := c.dav.Send(ctx, webdav.Request{Method: method, Href: h, Body: body, ContentType: "application/xml; charset=utf-8",
		Header: map[string]string{"If-None-Match": "*"}})
	if err != nil {
		return err
	}
	// A 207 reports a failure (RFC 4918 §9.3.1: success is 201).
	if resp.StatusCode/100 != 2 || resp.StatusCode == http.StatusMultiStatus {
		e := c.dav.StatusError(method, resp)
		if e.Status == http.StatusMethodNotAllowed || e.Status == http.StatusMultiStatus || e.Condition == "resource-must-be-null" {
			e.Err = ErrNotAllowed
		}
		return e
	}
	webdav.Discard(resp)
	return nil
}

// CollectionHref is the canonical form of a collection's href, the one
// listings give: a collection made at href is listed under it.
func (c *Client) CollectionHref(href string) (string, error) { return c.dav.CollectionHref(href) }
