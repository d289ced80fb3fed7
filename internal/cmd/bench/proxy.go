package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// counter is a counting reverse proxy put between a client under test and
// the server, so requests and bytes are measured the same way for every
// client, whatever its own logging says.
type counter struct {
	URL string // the proxy's base URL, e.g. http://127.0.0.1:PORT/

	mu    sync.Mutex
	reqs  []reqRecord
	ln    net.Listener
	srv   *http.Server
	proxy *httputil.ReverseProxy
}

// reqRecord is one proxied request.
type reqRecord struct {
	Method     string
	Path       string
	Start, End time.Time
	In, Out    int64 // request body bytes, response body bytes
	Status     int
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
	var ks []string
	for k := range u.Methods {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for i, k := range ks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString("×")
		b.WriteString(itoa(u.Methods[k]))
	}
	return b.String()
}

func startCounter(target string) (*counter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &counter{URL: "http://" + ln.Addr().String() + "/", ln: ln}
	c.proxy = httputil.NewSingleHostReverseProxy(u)
	c.proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	c.proxy.FlushInterval = -1 // stream: the client sees bytes as the server sends them
	c.srv = &http.Server{Handler: http.HandlerFunc(c.serve)}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n      int64
	status int
}

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *counter) serve(w http.ResponseWriter, r *http.Request) {
	rec := reqRecord{Method: r.Method, Path: r.URL.Path, Start: time.Now()}
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	cw := &countingWriter{ResponseWriter: w}
	c.proxy.ServeHTTP(cw, r)
	rec.End = time.Now()
	rec.In, rec.Out, rec.Status = body.n, cw.n, cw.status
	c.mu.Lock()
	c.reqs = append(c.reqs, rec)
	c.mu.Unlock()
}

// mark returns the index of the next request, to sum a window with since.
func (c *counter) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

// since sums the requests recorded after mark m.
func (c *counter) since(m int) usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := usage{Methods: map[string]int{}}
	for _, r := range c.reqs[m:] {
		u.Requests++
		u.In += r.In
		u.Out += r.Out
		u.Methods[r.Method]++
	}
	return u
}

// putDone finds the first successful PUT of path recorded at or after
// mark m: when it ended, and the mark just after it.
func (c *counter) putDone(m int, path string) (end time.Time, next int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := m; i < len(c.reqs); i++ {
		if r := c.reqs[i]; r.Method == "PUT" && r.Path == path && r.Status/100 == 2 {
			return r.End, i + 1, true
		}
	}
	return time.Time{}, m, false
}

// records returns a copy of the requests after mark m.
func (c *counter) records(m int) []reqRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]reqRecord(nil), c.reqs[m:]...)
}

func (c *counter) close() { _ = c.srv.Close() }

// requestLog prints the last n of recs, one line each: start (relative to
// the first shown), method, path, status and duration.
func requestLog(recs []reqRecord, n int) string {
	if len(recs) > n {
		recs = recs[len(recs)-n:]
	}
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "  +%6.2fs %-8s %-60s %d %.2fs\n", r.Start.Sub(recs[0].Start).Seconds(), r.Method, r.Path, r.Status, r.End.Sub(r.Start).Seconds())
	}
	return b.String()
}
