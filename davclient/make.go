package davclient

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

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

// The request bodies of MKCALENDAR (RFC 4791 §5.3.1.2) and extended MKCOL
// (RFC 5689 §5.1), encoded by encoding/xml.
type (
	mkCalendar struct {
		XMLName xml.Name `xml:"urn:ietf:params:xml:ns:caldav mkcalendar"`
		Set     mkSet    `xml:"DAV: set"`
	}
	mkCol struct {
		XMLName xml.Name `xml:"DAV: mkcol"`
		Set     mkSet    `xml:"DAV: set"`
	}
	mkSet struct {
		Prop mkProp `xml:"DAV: prop"`
	}
	mkProp struct {
		ResourceType *mkResourceType `xml:"DAV: resourcetype,omitempty"`
		DisplayName  string          `xml:"DAV: displayname,omitempty"`
		Color        string          `xml:"http://apple.com/ns/ical/ calendar-color,omitempty"`
		CalendarDesc string          `xml:"urn:ietf:params:xml:ns:caldav calendar-description,omitempty"`
		BookDesc     string          `xml:"urn:ietf:params:xml:ns:carddav addressbook-description,omitempty"`
		Components   *mkComponents   `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set,omitempty"`
	}
	mkResourceType struct {
		Collection  struct{} `xml:"DAV: collection"`
		AddressBook struct{} `xml:"urn:ietf:params:xml:ns:carddav addressbook"`
	}
	mkComponents struct {
		Comp []mkComp `xml:"urn:ietf:params:xml:ns:caldav comp"`
	}
	mkComp struct {
		Name string `xml:"name,attr"`
	}
)

// makeBody is the method and body that make the collection n.
func makeBody(n NewCollection) (method string, body []byte, err error) {
	var doc any
	if n.Kind == KindAddressBook {
		method = "MKCOL"
		doc = mkCol{Set: mkSet{Prop: mkProp{ResourceType: &mkResourceType{}, DisplayName: n.DisplayName, BookDesc: n.Description}}}
	} else {
		method = "MKCALENDAR"
		p := mkProp{DisplayName: n.DisplayName, Color: n.Color, CalendarDesc: n.Description}
		if len(n.Components) > 0 {
			p.Components = &mkComponents{}
			for _, c := range n.Components {
				p.Components.Comp = append(p.Components.Comp, mkComp{Name: c})
			}
		}
		doc = mkCalendar{Set: mkSet{Prop: p}}
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		return "", nil, err
	}
	return method, append([]byte(xml.Header), out...), nil
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
	method, body, err := makeBody(n)
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
