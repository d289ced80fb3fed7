package davclient

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/vdird/vdird/davclient/webdav"
)

// PutResult is the outcome of a successful PUT.
type PutResult struct {
	ETag string // "" = server returned none (caller should Get the object: the server changed the body)
	Href string // where the object now lives: the request href, or a same-origin in-collection Location of a 201
}

// Get fetches one object of cal. The body is capped at MaxObjectBytes
// (ErrTooLarge). A vCard is asked for in the configured version (see
// Options.VCardVersion) with an Accept header, which servers that convert
// cards honour and others ignore.
func (c *Client) Get(ctx context.Context, cal Calendar, href string) (Object, error) {
	h, err := c.dav.Canonical(href)
	if err != nil {
		return Object{}, err
	}
	var hdr map[string]string
	if cal.Kind == KindAddressBook && c.opts.VCardVersion != "" {
		hdr = map[string]string{"Accept": "text/vcard; version=" + c.opts.VCardVersion}
	}
	resp, err := c.dav.Send(ctx, webdav.Request{Method: http.MethodGet, Href: h, Header: hdr})
	if err != nil {
		return Object{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Object{}, c.dav.StatusError(http.MethodGet, resp)
	}
	defer webdav.Discard(resp)
	data, err := c.dav.ReadResource(resp)
	if err != nil {
		return Object{}, err
	}
	// A same-origin GET redirect is followed; report where the object was found.
	if final, err := Canonical(resp.Request.URL, resp.Request.URL.EscapedPath()); err == nil {
		h = final
	}
	return Object{Href: h, ETag: resp.Header.Get("ETag"), Data: data}, nil
}

// Put updates an object of cal with If-Match: ifMatch, sent verbatim (RFC
// 9110 §13.1.1). An empty ifMatch sends no precondition (for servers
// without etags; the caller decides). Any 2xx is success (Radicale answers
// 201 to an update). 412 is ErrPreconditionFailed. The body goes as
// text/calendar, or text/vcard into an address book.
func (c *Client) Put(ctx context.Context, cal Calendar, href string, body []byte, ifMatch string) (PutResult, error) {
	hdr := map[string]string{}
	if ifMatch != "" {
		hdr["If-Match"] = ifMatch
	}
	return c.put(ctx, cal, href, body, hdr)
}

// Create stores a new object in cal with If-None-Match: * (RFC 4791
// §5.3.2, RFC 6352 §6.3.2), so an existing object at href is never
// overwritten (ErrPreconditionFailed).
func (c *Client) Create(ctx context.Context, cal Calendar, href string, body []byte) (PutResult, error) {
	return c.put(ctx, cal, href, body, map[string]string{"If-None-Match": "*"})
}

func (c *Client) put(ctx context.Context, cal Calendar, href string, body []byte, hdr map[string]string) (PutResult, error) {
	h, err := c.dav.Canonical(href)
	if err != nil {
		return PutResult{}, err
	}
	if strings.HasSuffix(h, "/") {
		return PutResult{}, fmt.Errorf("PUT %s: object href ends in '/': %w", h, ErrBadArgument)
	}
	if cal.MaxResourceSize > 0 && int64(len(body)) > cal.MaxResourceSize {
		// The server said it stores nothing this big: it is not sent.
		return PutResult{}, fmt.Errorf("PUT %s: %d bytes, over the server's max-resource-size of %d: %w", c.dav.URL(h), len(body), cal.MaxResourceSize, ErrTooLarge)
	}
	if body == nil {
		body = []byte{}
	}
	ct := "text/calendar; charset=utf-8"
	if cal.Kind == KindAddressBook {
		ct = "text/vcard; charset=utf-8" // RFC 6350 §10.1
	}
	resp, err := c.dav.Send(ctx, webdav.Request{Method: http.MethodPut, Href: h, Body: body, ContentType: ct, Header: hdr})
	if err != nil {
		return PutResult{}, err
	}
	if resp.StatusCode/100 != 2 || resp.StatusCode == http.StatusMultiStatus {
		// A 207 to a PUT reports a failure (Xandikos refuses so).
		return PutResult{}, c.dav.StatusError(http.MethodPut, resp)
	}
	defer webdav.Discard(resp)
	res := PutResult{ETag: resp.Header.Get("ETag"), Href: h}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode == http.StatusCreated {
		// The server chose the href: record it, but only if it is a member of
		// the same collection on the same origin; anything else is ignored.
		if lh, err := Canonical(resp.Request.URL, loc); err == nil && webdav.Inside(path.Dir(h)+"/", lh) && !strings.HasSuffix(lh, "/") {
			res.Href = lh
		}
	}
	return res, nil
}

// Delete removes an object with If-Match (required: an unconditional delete
// could destroy a change made on another device). 404 = already gone = nil.
func (c *Client) Delete(ctx context.Context, href, ifMatch string) error {
	h, err := c.dav.Canonical(href)
	if err != nil {
		return err
	}
	if ifMatch == "" {
		return fmt.Errorf("DELETE %s: empty If-Match: %w", h, ErrBadArgument)
	}
	resp, err := c.dav.Send(ctx, webdav.Request{Method: http.MethodDelete, Href: h, Header: map[string]string{"If-Match": ifMatch}})
	if err != nil {
		return err
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotFound {
		webdav.Discard(resp)
		return nil
	}
	return c.dav.StatusError(http.MethodDelete, resp)
}
