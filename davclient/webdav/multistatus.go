package webdav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Multistatus is a PROPFIND or REPORT answer being read (RFC 4918 §13): the
// Decoder over its body and the response it came with. Close releases it.
type Multistatus struct {
	*Decoder
	method string
	resp   *http.Response
}

// Multistatus sends a PROPFIND or REPORT with an XML body and returns a
// streaming decoder over the 207 answer. A non-207 status becomes an
// *Error. capped limits the body to MaxResponseBytes, for listings that
// are collected in memory.
func (c *Client) Multistatus(ctx context.Context, r Request, capped bool) (*Multistatus, error) {
	r.ContentType = "application/xml; charset=utf-8"
	resp, err := c.Send(ctx, r)
	if err != nil {
		return nil, err
	}
	// 207 is the rule; a few old servers say 200 with a multistatus body,
	// which the decoder then checks for its DAV:multistatus root.
	if resp.StatusCode != http.StatusMultiStatus && resp.StatusCode != http.StatusOK {
		return nil, c.StatusError(r.Method, resp)
	}
	var body io.Reader = resp.Body
	if capped {
		body = &cappedReader{r: resp.Body, n: c.opts.MaxResponseBytes}
	}
	return &Multistatus{Decoder: NewDecoder(body, c.opts.Content, c.opts.MaxResourceBytes), method: r.Method, resp: resp}, nil
}

// Close drains and closes the body.
func (m *Multistatus) Close() { Discard(m.resp) }

// Err wraps a decoding error with the request it came from.
func (m *Multistatus) Err(err error) error {
	return fmt.Errorf("%s %s: %w", m.method, redact(m.resp.Request.URL), err)
}

// Outside collects skipped hrefs into one ErrOutsideCollection error; nil
// when there are none.
func (m *Multistatus) Outside(hrefs []string) error {
	if len(hrefs) == 0 {
		return nil
	}
	if len(hrefs) > 5 {
		hrefs = append(hrefs[:5:5], "...")
	}
	return fmt.Errorf("%s %s: %w: %s", m.method, redact(m.resp.Request.URL), ErrOutsideCollection, strings.Join(hrefs, ", "))
}

// EachMember walks the answer about the collection coll (canonical,
// trailing slash). fn gets every listed href in canonical form with its
// response (a multiget answer may name several hrefs in one response) and
// self set for the collection's own entry; hrefs outside coll never reach
// fn and come back as outside.
func (m *Multistatus) EachMember(coll string, fn func(href string, self bool, r *Response) error) (outside []string, err error) {
	return m.each(coll, true, fn)
}

// EachResource is EachMember for a listing whose entries may live
// anywhere on the server, as Google's calendar home lists calendars beside
// it: only hrefs on another origin are left out, as outside.
func (m *Multistatus) EachResource(coll string, fn func(href string, self bool, r *Response) error) (outside []string, err error) {
	return m.each(coll, false, fn)
}

func (m *Multistatus) each(coll string, members bool, fn func(href string, self bool, r *Response) error) (outside []string, err error) {
	for {
		r, err := m.Next()
		if errors.Is(err, io.EOF) {
			return outside, nil
		}
		if err != nil {
			return nil, m.Err(err)
		}
		for _, raw := range r.Hrefs {
			h, err := Canonical(m.resp.Request.URL, raw)
			self := err == nil && sameColl(h, coll)
			switch {
			case err != nil:
				outside = append(outside, raw)
				continue
			case members && !self && !Inside(coll, h):
				outside = append(outside, h)
				continue
			}
			if err := fn(h, self, r); err != nil {
				return nil, err
			}
		}
	}
}

// PropfindOne does a Depth-0 PROPFIND of href (canonical) with body and
// returns the response about href.
func (c *Client) PropfindOne(ctx context.Context, href, body string) (*Response, error) {
	return c.One(ctx, Request{Method: "PROPFIND", Href: href, Depth: "0", Body: []byte(body)})
}

// One sends r, a request about the one resource r.Href (a Depth-0
// PROPFIND, a PROPPATCH), and returns the multistatus response about it.
func (c *Client) One(ctx context.Context, r Request) (*Response, error) {
	href := r.Href
	m, err := c.Multistatus(ctx, r, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var first *Response
	for {
		r, err := m.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, m.Err(err)
		}
		h, err := Canonical(m.resp.Request.URL, r.Hrefs[0])
		if err != nil {
			continue
		}
		if sameColl(h, href) {
			return r, nil
		}
		if first == nil {
			first = r
		}
	}
	// Some servers answer with the href spelled differently (a rewrite
	// behind a proxy); with Depth 0 the single response is the resource.
	if first != nil {
		return first, nil
	}
	return nil, m.Err(fmt.Errorf("%w: no response for %s", ErrMalformed, href))
}
