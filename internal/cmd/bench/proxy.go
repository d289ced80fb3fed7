package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vdird/vdird/internal/faultproxy"
)

// counter is a proxy with no rules put between a client under test and the
// server, so requests and bytes are measured the same way for every
// client, whatever its own logging says. A mark is a position in its log.
type counter struct{ *faultproxy.Proxy }

func startCounter(target string) (counter, error) {
	p, err := faultproxy.New(target)
	return counter{p}, err
}

// usage sums a window of requests.
type usage struct {
	Requests int
	In, Out  int64
	Methods  map[string]int
}

func (u usage) Bytes() int64 { return u.In + u.Out }

// MethodList prints e.g. "PROPFIND×1 REPORT×2".
func (u usage) MethodList() string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(u.Methods)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s×%d", k, u.Methods[k])
	}
	return b.String()
}

// mark returns the position of the next request, to sum a window with since.
func (c counter) mark() int { return len(c.Requests()) }

// records returns the requests after mark m whose answer is out.
func (c counter) records(m int) []faultproxy.Request {
	return slices.DeleteFunc(c.Requests()[m:], func(r faultproxy.Request) bool { return r.End.IsZero() })
}

// since sums the requests after mark m.
func (c counter) since(m int) usage {
	u := usage{Methods: map[string]int{}}
	for _, r := range c.records(m) {
		u.Requests++
		u.In += r.In
		u.Out += r.Out
		u.Methods[r.Method]++
	}
	return u
}

// putDone finds the first successful PUT of path at or after mark m whose
// answer is out: when it ended, and the mark just after it.
func putDone(reqs []faultproxy.Request, m int, path string) (end time.Time, next int, ok bool) {
	for i := m; i < len(reqs); i++ {
		if r := reqs[i]; r.Method == "PUT" && r.Path == path && r.Status/100 == 2 && !r.End.IsZero() {
			return r.End, i + 1, true
		}
	}
	return time.Time{}, m, false
}

// requestLog prints the last n of recs, one line each: start (relative to
// the first shown), method, path, status and duration.
func requestLog(recs []faultproxy.Request, n int) string {
	if len(recs) > n {
		recs = recs[len(recs)-n:]
	}
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "  +%6.2fs %-8s %-60s %d %.2fs\n", r.Start.Sub(recs[0].Start).Seconds(), r.Method, r.Path, r.Status, r.End.Sub(r.Start).Seconds())
	}
	return b.String()
}
