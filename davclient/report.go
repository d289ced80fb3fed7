package davclient

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/vdird/vdird/davclient/webdav"
)

// Item is a member of a collection and its ETag, verbatim (quotes, W/ kept);
// "" = the server gave none.
type Item struct{ Href, ETag string }

// Object is a calendar object resource or an address object resource
// (a vCard). Data is the server's bytes verbatim; nil Data from Multiget
// means the server answered 404 for Href.
type Object struct {
	Href, ETag string
	Data       []byte
}

// SyncResult is one RFC 6578 sync-collection answer.
type SyncResult struct {
	Token     string
	Changed   []Item   // new or modified members with their etags
	Deleted   []string // hrefs reported 404 (RFC 6578 §3.5.2)
	Truncated bool     // 507 on the request-URI (§3.6): continue with Token
}

// dataProp is the property that carries a member's data in a collection
// of kind k: calendar-data (RFC 4791 §9.6) or address-data (RFC 6352
// §10.4).
func dataProp(k Kind) xml.Name {
	if k == KindAddressBook {
		return xml.Name{Space: nsCardDAV, Local: "address-data"}
	}
	return xml.Name{Space: nsCalDAV, Local: "calendar-data"}
}

// ReportOpen starts the body of a REPORT named report (calendar-query,
// addressbook-multiget, ...) on cal, with the prop element asking getetag
// and, with data, the members' data (the vCard version as the client
// asks it). The caller writes the rest and closes the report element. The C prefix is CalDAV's namespace
// for a calendar, CardDAV's for an address book.
func (c *Client) ReportOpen(cal Calendar, report string, data bool) *strings.Builder {
	ns := nsCalDAV
	if cal.Kind == KindAddressBook {
		ns = nsCardDAV
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, `<?xml version="1.0" encoding="utf-8"?>
<C:%s xmlns:D="DAV:" xmlns:C="%s"><D:prop><D:getetag/>`, report, ns)
	if data {
		b.WriteString(c.dataElem(cal))
	}
	b.WriteString(`</D:prop>`)
	return b
}

// dataElem is the element asking for a member's data. An address book is
// asked for the configured vCard version where it says it serves that
// version; otherwise the server picks.
func (c *Client) dataElem(cal Calendar) string {
	if cal.Kind != KindAddressBook {
		return `<C:calendar-data/>`
	}
	if v := c.opts.VCardVersion; v != "" && slices.Contains(cal.VCardVersions, v) {
		var b strings.Builder
		b.WriteString(`<C:address-data content-type="text/vcard" version="`)
		_ = xml.EscapeText(&b, []byte(v))
		b.WriteString(`"/>`)
		return b.String()
	}
	return `<C:address-data/>`
}

// query is the calendar-query (RFC 4791 §7.8) or addressbook-query (RFC
// 6352 §8.6) of every member of cal. The VCALENDAR comp-filter matches
// every calendar object, the empty filter every vCard.
func (c *Client) query(cal Calendar, data bool) []byte {
	if cal.Kind == KindAddressBook {
		b := c.ReportOpen(cal, "addressbook-query", data)
		b.WriteString(`<C:filter/></C:addressbook-query>`)
		return []byte(b.String())
	}
	b := c.ReportOpen(cal, "calendar-query", data)
	b.WriteString(`<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`)
	return []byte(b.String())
}

// objectFrom is a member's object from a response asking getetag and the
// data property of kind k; ok is false when the response holds no data.
func objectFrom(k Kind, h string, r *webdav.Response) (o Object, ok bool) {
	name := dataProp(k)
	data := r.Prop(name.Space, name.Local)
	if data == nil {
		return Object{}, false
	}
	o = Object{Href: h, Data: data.Text}
	if o.Data == nil {
		o.Data = []byte{}
	}
	if e := r.Prop(nsDAV, "getetag"); e != nil {
		o.ETag = e.Value()
	}
	return o, true
}

// ListETags lists the members of a calendar or address book with their
// ETags using a calendar-query or addressbook-query REPORT asking only
// DAV:getetag (RFC 4791 §7.8, RFC 6352 §8.6), sorted by Href. Members
// outside the collection are skipped and reported as an
// ErrOutsideCollection error alongside the valid result.
func (c *Client) ListETags(ctx context.Context, cal Calendar) ([]Item, error) {
	var out []Item
	err := c.Report(ctx, cal, c.query(cal, false), true, func(o Object, status int) error {
		if status == 0 || status/100 == 2 {
			out = append(out, Item{Href: o.Href, ETag: o.ETag})
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrOutsideCollection) {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Href, b.Href) })
	return out, err
}

// Report sends body, a REPORT about the members of cal (a query or a
// multiget), and calls fn for each member it answers, in the server's
// order: its href, and its etag and data where the answer carries them
// (Data nil when it does not), with the response's status (0 for the
// propstat form, where the member exists). capped limits the answer's
// size, for a REPORT that asks no data. An error from the request, the
// answer or fn stops it; members outside the collection are skipped and
// come back as an ErrOutsideCollection error alongside a complete walk.
func (c *Client) Report(ctx context.Context, cal Calendar, body []byte, capped bool, fn func(o Object, status int) error) error {
	coll, err := c.dav.CollectionHref(cal.Href)
	if err != nil {
		return err
	}
	req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: body}
	outside, err := c.walk(ctx, req, capped, func(h string, self bool, r *webdav.Response) error {
		if self {
			return nil
		}
		o, ok := objectFrom(cal.Kind, h, r)
		if !ok {
			o = Object{Href: h}
			if e := r.Prop(nsDAV, "getetag"); e != nil {
				o.ETag = e.Value()
			}
		}
		return fn(o, r.Status)
	})
	if err != nil {
		return err
	}
	return outside
}

// walk sends req, a PROPFIND or REPORT about the collection req.Href
// (canonical), and calls fn for each member as Multistatus.EachMember does;
// capped limits the answer's size. An error from the request, the answer
// or fn stops the walk and is err; members outside the collection are
// skipped and come back as outside, an ErrOutsideCollection error (nil if
// none) alongside a complete walk.
func (c *Client) walk(ctx context.Context, req webdav.Request, capped bool, fn func(h string, self bool, r *webdav.Response) error) (outside, err error) {
	m, err := c.dav.Multistatus(ctx, req, capped)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	hrefs, err := m.EachMember(req.Href, fn)
	if err != nil {
		return nil, err
	}
	return m.Outside(hrefs), nil
}

// Download fetches every object of a calendar or address book with one
// calendar-query or addressbook-query carrying the data, parsed
// streaming: fn sees one object at a time, in server order, so memory does
// not depend on the collection's size. An error from fn stops the download
// and is returned as is.
func (c *Client) Download(ctx context.Context, cal Calendar, fn func(Object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return c.Report(ctx, cal, c.query(cal, true), false, func(o Object, _ int) error {
		if o.Data == nil {
			return nil
		}
		return fn(o)
	})
}

// SyncCollection runs an RFC 6578 sync-collection REPORT (sync-level 1,
// asking getetag); token "" is the initial sync. A rejected token (403/409
// with DAV:valid-sync-token, 409/410, 400) is ErrInvalidSyncToken. Xandikos
// 0.2 answers an unknown token with a 500, so a 5xx to a non-empty token
// matches both ErrInvalidSyncToken and ErrServer: falling back to a full
// listing is always safe.
func (c *Client) SyncCollection(ctx context.Context, href, token string) (SyncResult, error) {
	var res SyncResult
	tok, truncated, err := c.SyncCollectionEach(ctx, href, token, func(it Item, deleted bool) error {
		if deleted {
			res.Deleted = append(res.Deleted, it.Href)
		} else {
			res.Changed = append(res.Changed, it)
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, err
	}
	res.Token, res.Truncated = tok, truncated
	sort.Slice(res.Changed, func(i, j int) bool { return res.Changed[i].Href < res.Changed[j].Href })
	sort.Strings(res.Deleted)
	return res, nil
}

// SyncCollectionEach is SyncCollection streamed: fn sees each member as it
// is parsed (deleted: reported 404), in the server's order, so a listing of
// any size takes constant memory. It returns the new token and whether the
// server truncated the answer (RFC 6578 §3.6).
func (c *Client) SyncCollectionEach(ctx context.Context, href, token string, fn func(it Item, deleted bool) error) (newToken string, truncated bool, err error) {
	coll, err := c.dav.CollectionHref(href)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>`)
	_ = xml.EscapeText(&b, []byte(token))
	b.WriteString(`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`)
	// RFC 6578 §3.2: the Depth header is not used (sync-level is); send 0.
	m, err := c.dav.Multistatus(ctx, webdav.Request{Method: "REPORT", Href: coll, Depth: "0", Body: []byte(b.String())}, true)
	if err != nil {
		var e *Error
		if token != "" && errors.As(err, &e) {
			switch {
			case e.Condition == "valid-sync-token",
				e.Status == http.StatusConflict, e.Status == http.StatusGone, e.Status == http.StatusBadRequest:
				e.Err = ErrInvalidSyncToken
			case e.Status >= 500 && e.Status != http.StatusServiceUnavailable:
				e.Err = errors.Join(ErrInvalidSyncToken, ErrServer)
			}
		}
		return "", false, err
	}
	defer m.Close()
	outside, err := m.EachMember(coll, func(h string, self bool, r *webdav.Response) error {
		switch {
		case self:
			truncated = truncated || r.Status == http.StatusInsufficientStorage
		case r.Status == http.StatusNotFound:
			return fn(Item{Href: h}, true)
		case r.Status != 0 && r.Status/100 != 2:
		case strings.HasSuffix(h, "/"):
			// a child collection, not a calendar object
		default:
			it := Item{Href: h}
			if e := r.Prop(nsDAV, "getetag"); e != nil {
				it.ETag = e.Value()
			}
			return fn(it, false)
		}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	if m.SyncToken() == "" {
		return "", false, m.Err(fmt.Errorf("%w: sync-collection answer without sync-token", ErrMalformed))
	}
	return m.SyncToken(), truncated, m.Outside(outside)
}
