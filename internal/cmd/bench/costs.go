package main

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/vdird/vdird/internal/testserver"
)

// serverCost is the time the server alone takes for one kind of request,
// sent directly (no proxy), median of three: it is the floor under what any
// client can reach for that step (e.g. a no-change sync cannot beat one
// Depth-0 PROPFIND of the ctag).
type serverCost struct {
	Name string
	Dur  time.Duration
}

var syncTokenRE = regexp.MustCompile(`<[A-Za-z0-9]*:?sync-token>([^<]+)</`)

// costRequest is one kind of request whose server cost is measured.
type costRequest struct {
	name, method, href, depth, body string
	hdr                             map[string]string
	want                            int
}

// serverCosts measures each kind of request a client sends, as s.User.
func serverCosts(s *testserver.Server, homeHref, calHref string) ([]serverCost, error) {
	const home = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><resourcetype/><displayname/><CS:getctag/><sync-token/></prop></propfind>`
	b, err := expect(s, "PROPFIND", calHref, map[string]string{"Depth": "0"}, ctagQuery, http.StatusMultiStatus)
	if err != nil {
		return nil, err
	}
	reqs := []costRequest{
		{name: "PROPFIND Depth 0 getctag + sync-token (calendar)", method: "PROPFIND", href: calHref, depth: "0", body: ctagQuery, want: 207},
		{name: "PROPFIND Depth 1 of the home (ctags of all calendars)", method: "PROPFIND", href: homeHref, depth: "1", body: home, want: 207},
		{name: "calendar-query, getetag only", method: "REPORT", href: calHref, depth: "1", body: calendarQuery(false), want: 207},
	}
	if m := syncTokenRE.FindSubmatch(b); m != nil {
		reqs = append(reqs, costRequest{name: "sync-collection from the current token", method: "REPORT", href: calHref, depth: "0",
			body: syncQuery(string(m[1])), want: 207})
	}
	reqs = append(reqs,
		costRequest{name: "PUT a new item (If-None-Match: *)", method: "PUT", href: calHref + "bench-cost.ics", body: string(event("bench-cost@vdird.bench", 1, "cost")), hdr: map[string]string{"If-None-Match": "*"}, want: 201},
		costRequest{name: "DELETE that item", method: "DELETE", href: calHref + "bench-cost.ics", want: 200})
	var out []serverCost
	for _, r := range reqs {
		d, err := r.median(s)
		if err != nil {
			return nil, err
		}
		out = append(out, serverCost{Name: r.name, Dur: d})
	}
	return out, nil
}

// median times r three times (a PUT or DELETE once: they are done as a
// pair) and returns the median.
func (r costRequest) median(s *testserver.Server) (time.Duration, error) {
	rounds := 3
	if r.method == "PUT" || r.method == "DELETE" {
		rounds = 1
	}
	hdr := maps.Clone(r.hdr)
	if hdr == nil {
		hdr = map[string]string{}
	}
	if r.depth != "" {
		hdr["Depth"] = r.depth
	}
	var ds []time.Duration
	for i := 0; i < rounds; i++ {
		start := time.Now()
		if _, err := expect(s, r.method, r.href, hdr, r.body, r.want); err != nil {
			return 0, fmt.Errorf("%s: %w", r.name, err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}
