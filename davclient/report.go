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
	"sync"

	"github.com/vdird/vdird/davclient/webdav"
)

// Item is a member of a calendar and its ETag, verbatim (quotes, W/ kept);
// "" = the server gave none.
type Item struct{ Href, ETag string }

// Object is a calendar object resource. Data is the server's bytes verbatim;
// nil Data from Multiget means the server answered 404 for Href.
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

// RFC 4791 §7.8 calendar-query bodies. The VCALENDAR comp-filter matches
// every calendar object.
const (
	queryETags = `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`
	queryData = `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`
)

// calendarObject is a member's object from a response asking getetag and
// calendar-data; ok is false when the response holds no calendar-data.
func calendarObject(h string, r *webdav.Response) (o Object, ok bool) {
	data := r.Prop(nsCalDAV, "calendar-data")
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

// ListETags lists the members of a calendar with their ETags using a
// calendar-query REPORT asking only DAV:getetag (RFC 4791 §7.8), sorted by
// Href. Members outside the calendar are skipped and reported as an
// ErrOutsideCollection error alongside the valid result.
func (c *Client) ListETags(ctx context.Context, href string) ([]Item, error) {
	coll, err := c.dav.CollectionHref(href)
	if err != nil {
		return nil, err
	}
	req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: []byte(queryETags)}
	return listMembers(ctx, c, req, func(it Item) string { return it.Href }, func(h string, self bool, r *webdav.Response) (Item, bool) {
		if self || (r.Status != 0 && r.Status/100 != 2) {
			return Item{}, false
		}
		it := Item{Href: h}
		if e := r.Prop(nsDAV, "getetag"); e != nil {
			it.ETag = e.Value()
		}
		return it, true
	})
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

// listMembers walks the listing req and collects what keep makes of each
// member, sorted by href. Members outside the collection are skipped and
// reported as an ErrOutsideCollection error alongside the result.
func listMembers[T any](ctx context.Context, c *Client, req webdav.Request, href func(T) string, keep func(h string, self bool, r *webdav.Response) (T, bool)) ([]T, error) {
	var out []T
	outside, err := c.walk(ctx, req, true, func(h string, self bool, r *webdav.Response) error {
		if v, ok := keep(h, self, r); ok {
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(href(a), href(b)) })
	return out, outside
}

// Download fetches every object of a calendar with one calendar-query
// carrying calendar-data, parsed streaming: fn sees one object at a time, in
// server order, so memory does not depend on the calendar's size. An error
// from fn stops the download and is returned as is.
func (c *Client) Download(ctx context.Context, href string, fn func(Object) error) error {
	coll, err := c.dav.CollectionHref(href)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: []byte(queryData)}
	outside, err := c.walk(ctx, req, false, func(h string, self bool, r *webdav.Response) error {
		if o, ok := calendarObject(h, r); ok && !self {
			return fn(o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return outside
}

// Multiget fetches the given members with calendar-multiget (RFC 4791 §7.9)
// in batches of MultigetBatch, up to MultigetParallel batches in flight. fn
// calls are serialised. A member answered 404 is reported as Object{Href: h}
// with nil Data. The first error (from the server or fn) cancels the rest.
func (c *Client) Multiget(ctx context.Context, href string, hrefs []string, fn func(Object) error) error {
	coll, err := c.dav.CollectionHref(href)
	if err != nil {
		return err
	}
	want := make([]string, 0, len(hrefs))
	for _, h := range hrefs {
		ch, err := c.dav.Canonical(h)
		if err != nil {
			return fmt.Errorf("multiget %s: %w", h, err)
		}
		if !webdav.Inside(coll, ch) {
			return fmt.Errorf("multiget %s: %w: %s", coll, ErrOutsideCollection, ch)
		}
		want = append(want, ch)
	}
	if len(want) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		fnMu     sync.Mutex
		errMu    sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.opts.MultigetParallel)
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		errMu.Unlock()
	}
	deliver := func(o Object) error {
		fnMu.Lock()
		defer fnMu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fn(o)
	}
	for start := 0; start < len(want); start += c.opts.MultigetBatch {
		batch := want[start:min(start+c.opts.MultigetBatch, len(want))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.multigetBatch(ctx, coll, batch, deliver); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (c *Client) multigetBatch(ctx context.Context, coll string, hrefs []string, deliver func(Object) error) error {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>`)
	for _, h := range hrefs {
		b.WriteString("<D:href>")
		_ = xml.EscapeText(&b, []byte(h))
		b.WriteString("</D:href>")
	}
	b.WriteString("</C:calendar-multiget>")
	req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: []byte(b.String())}
	outside, err := c.walk(ctx, req, false, func(h string, self bool, r *webdav.Response) error {
		if self {
			return nil
		}
		o, ok := calendarObject(h, r)
		switch {
		case r.Status == http.StatusNotFound:
			o = Object{Href: h}
		case ok:
		case r.PropNotFound(nsCalDAV, "calendar-data"):
			// Some servers answer a missing member with a 404 propstat.
			o = Object{Href: h}
		default:
			return nil
		}
		return deliver(o)
	})
	if err != nil {
		return err
	}
	return outside
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
