package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"time"
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

func serverCosts(s *server, user, homeHref, calHref string) ([]serverCost, error) {
	ctx := context.Background()
	const ctag = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/><sync-token/></prop></propfind>`
	const home = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><resourcetype/><displayname/><CS:getctag/><sync-token/></prop></propfind>`
	_, b, err := s.do(ctx, user, "PROPFIND", calHref, map[string]string{"Depth": "0"}, ctag)
	if err != nil {
		return nil, err
	}
	token := ""
	if m := syncTokenRE.FindSubmatch(b); m != nil {
		token = string(m[1])
	}
	type req struct {
		name, method, href, depth, body string
		hdr                             map[string]string
		want                            int
	}
	reqs := []req{
		{name: "PROPFIND Depth 0 getctag + sync-token (calendar)", method: "PROPFIND", href: calHref, depth: "0", body: ctag, want: 207},
		{name: "PROPFIND Depth 1 of the home (ctags of all calendars)", method: "PROPFIND", href: homeHref, depth: "1", body: home, want: 207},
		{name: "calendar-query, getetag only", method: "REPORT", href: calHref, depth: "1", body: calendarQuery(false), want: 207},
		{name: "PUT a new item (If-None-Match: *)", method: "PUT", href: calHref + "bench-cost.ics", body: string(event("bench-cost@vdird.bench", 1, "cost")), hdr: map[string]string{"If-None-Match": "*"}, want: 201},
		{name: "DELETE that item", method: "DELETE", href: calHref + "bench-cost.ics", want: 200},
	}
	if token != "" {
		reqs = append(reqs[:3], append([]req{{name: "sync-collection from the current token", method: "REPORT", href: calHref, depth: "0",
			body: `<?xml version="1.0" encoding="utf-8"?><sync-collection xmlns="DAV:"><sync-token>` + token + `</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>`, want: 207}}, reqs[3:]...)...)
	}
	var out []serverCost
	for _, r := range reqs {
		var ds []time.Duration
		rounds := 3
		if r.method == "PUT" || r.method == "DELETE" {
			rounds = 1 // done as a pair below
		}
		for i := 0; i < rounds; i++ {
			hdr := map[string]string{}
			if r.depth != "" {
				hdr["Depth"] = r.depth
			}
			for k, v := range r.hdr {
				hdr[k] = v
			}
			start := time.Now()
			code, _, err := s.do(ctx, user, r.method, r.href, hdr, r.body)
			d := time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
			if code/100 != r.want/100 {
				return nil, fmt.Errorf("%s: status %d", r.name, code)
			}
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		out = append(out, serverCost{Name: r.name, Dur: ds[len(ds)/2]})
	}
	return out, nil
}
