package davclient

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"sync"

	"github.com/vdird/vdird/davclient/webdav"
)

// probeBatch is the size of an address book's first multiget, sent
// alone: until the sizes of some cards are known, a request for a hundred
// could make the server build an answer of a hundred photos.
const probeBatch = 8

// Multiget fetches the given members of cal with calendar-multiget or
// addressbook-multiget (RFC 4791 §7.9, RFC 6352 §8.7), up to
// MultigetParallel requests in flight. A request asks for at most
// MultigetBatch hrefs and, once objects have arrived, for no more than
// make MultigetBytes at the average size seen so far; an address book's
// first request asks for a few alone. fn calls are serialised. A member
// answered 404 is reported as Object{Href: h} with nil Data. The first
// error (from the server or fn) cancels the rest.
func (c *Client) Multiget(ctx context.Context, cal Calendar, hrefs []string, fn func(Object) error) error {
	coll, want, err := c.membersOf(cal, hrefs)
	if err != nil || len(want) == 0 {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		fnMu     sync.Mutex
		errMu    sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.opts.MultigetParallel)
		seen     sizes
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
		if o.Data != nil {
			seen.add(len(o.Data))
		}
		return fn(o)
	}
	probe := cal.Kind == KindAddressBook && len(want) > probeBatch
	for next := 0; next < len(want); {
		n := seen.batch(c.opts.MultigetBatch, c.opts.MultigetBytes)
		if probe {
			n = probeBatch
		}
		batch := want[next:min(next+n, len(want))]
		next += len(batch)
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
			if err := c.multigetBatch(ctx, cal, coll, batch, deliver); err != nil {
				fail(err)
			}
		}()
		if probe {
			wg.Wait()
			probe = false
		}
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// membersOf returns cal's canonical href and hrefs canonical, each of
// them a member of cal: a multiget never asks for anything else.
func (c *Client) membersOf(cal Calendar, hrefs []string) (coll string, members []string, err error) {
	coll, err = c.dav.CollectionHref(cal.Href)
	if err != nil {
		return "", nil, err
	}
	members = make([]string, 0, len(hrefs))
	for _, h := range hrefs {
		ch, err := c.dav.Canonical(h)
		if err != nil {
			return "", nil, fmt.Errorf("multiget %s: %w", h, err)
		}
		if !webdav.Inside(coll, ch) {
			return "", nil, fmt.Errorf("multiget %s: %w: %s", coll, ErrOutsideCollection, ch)
		}
		members = append(members, ch)
	}
	return coll, members, nil
}

// sizes is the running average size of the objects a multiget brought.
type sizes struct {
	mu       sync.Mutex
	n, bytes int64
}

func (s *sizes) add(n int) {
	s.mu.Lock()
	s.n++
	s.bytes += int64(n)
	s.mu.Unlock()
}

// batch is how many hrefs the next request asks for: maxCount, or fewer
// when that many objects of the average size would bring more than
// maxBytes; at least one.
func (s *sizes) batch(maxCount int, maxBytes int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 || s.bytes == 0 {
		return maxCount
	}
	avg := max(s.bytes/s.n, 1)
	return int(max(1, min(int64(maxCount), maxBytes/avg)))
}

func (c *Client) multigetBatch(ctx context.Context, cal Calendar, coll string, hrefs []string, deliver func(Object) error) error {
	report := "calendar-multiget"
	if cal.Kind == KindAddressBook {
		report = "addressbook-multiget"
	}
	b := c.ReportOpen(cal, report, true)
	for _, h := range hrefs {
		b.WriteString("<D:href>")
		_ = xml.EscapeText(b, []byte(h))
		b.WriteString("</D:href>")
	}
	b.WriteString("</C:" + report + ">")
	data := dataProp(cal.Kind)
	req := webdav.Request{Method: "REPORT", Href: coll, Depth: "1", Body: []byte(b.String())}
	outside, err := c.walk(ctx, req, false, func(h string, self bool, r *webdav.Response) error {
		if self {
			return nil
		}
		o, ok := objectFrom(cal.Kind, h, r)
		switch {
		case r.Status == http.StatusNotFound:
			o = Object{Href: h}
		case ok:
		case r.PropStatus(data.Space, data.Local) == http.StatusNotFound:
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
