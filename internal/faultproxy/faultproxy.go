// Package faultproxy is a fault-injecting HTTP proxy for tests. It sits on a
// loopback port in front of a real CalDAV server (see internal/testserver)
// and, per Rule (method, path pattern, request-body substring, nth matching
// request), answers with an error status (and a body of its choice), resets or stalls the connection,
// truncates a body mid-XML or holds it midway, drops or weakens ETags, adds
// a Location, runs a hook before forwarding (a concurrent "phone" edit), or
// rewrites WebDAV listings: an RFC 6578 §3.2 invalid-token error, a truncated §3.6 507 page,
// an empty multistatus, or an empty delta that hands back the token it was
// sent. Every request is recorded (method, path, whether it carried
// Authorization, status, bytes, timings), so tests assert what reached the
// real server and the benchmark counts what a client sent. A request no
// rule fires on passes through untouched and streamed, compression included.
//
// Rewrites of XML bodies are textual (regular expressions over the
// <response> elements Radicale and Xandikos produce): good enough for a test
// tool, and it keeps the server's own bytes everywhere else.
package faultproxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Proxy forwards requests to one target server and injects faults.
type Proxy struct {
	// URL is the proxy's base URL ("http://127.0.0.1:PORT"), the target's
	// path appended: configure clients with it instead of the target's URL.
	URL string

	target *url.URL
	srv    *httptest.Server
	tr     *http.Transport
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	rules []*Rule
	log   []*Request // entries change until their answer is out
}

// Request is one request the proxy received.
type Request struct {
	Method, Path         string
	Host                 string // Host header as received
	Auth                 bool   // an Authorization header was present
	IfMatch, IfNoneMatch string
	Body                 string // first 256 bytes of the request body (to tell REPORT kinds apart)
	Forwarded            bool   // the request reached the target server
	Status               int    // status sent to the client; 0 for a reset or stalled connection
	Fault                string // name of the rule that fired, "" if none
	// Start is when the request arrived, End when its answer was out
	// whole or cut (zero while it is still going out). In and Out count
	// the request and answer body bytes that crossed the proxy (as sent:
	// compressed where the target compressed).
	Start, End time.Time
	In, Out    int64
}

// Rule selects requests and says what to do with them. All rules that match
// a request fire, in the order they were added: request-side actions (Hook,
// MoveTo) first, then the first terminal action (Status, Reset, Stall,
// InvalidSyncToken) answers instead of the target, else the target's answer
// passes through every response-side action (DropETag, Truncate, …).
type Rule struct {
	Name   string         // reported in Request.Fault; defaults to the action's name
	Method string         // "" = any method
	Path   *regexp.Regexp // nil = any path (matched against the URL path)
	Body   string         // "" = any; else the request body must contain it (e.g. "sync-collection", "calendar-multiget")
	Nth    int            // 0 = from the first matching request on; n = from the nth matching request on (1-based)
	Times  int            // how many times to fire; 0 = once when Nth > 0, unlimited when Nth == 0
	Action Action

	mu          *sync.Mutex // the proxy's
	seen, fired int
}

// Matches counts the requests the rule matched so far.
func (r *Rule) Matches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}

// Fired counts how often the rule fired.
func (r *Rule) Fired() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fired
}

// Action is what a rule does; build one with the functions below.
type Action struct {
	kind    kind
	status  int
	value   string // Retry-After, Location, target path, Content-Type
	body    string // the body of Answer
	n       int    // bytes or responses kept
	hook    func(*http.Request)
	rewrite func(req *http.Request, body []byte) []byte
	release <-chan struct{}
}

type kind int

const (
	kStatus kind = iota + 1
	kReset
	kStall
	kStallBody
	kTruncate
	kDropETag
	kWeakETag
	kLocation
	kMoveTo
	kHook
	kInvalidToken
	kTruncatedSync
	kEmptyListing
	kRewrite
	kLoseAnswer
	kEchoSyncToken
	kHoldBody
	kAnswer
)

var kindNames = map[kind]string{kStatus: "status", kReset: "reset", kStall: "stall", kStallBody: "stall-body",
	kTruncate: "truncate", kDropETag: "drop-etag", kWeakETag: "weak-etag", kLocation: "location", kMoveTo: "move-to",
	kHook: "hook", kInvalidToken: "invalid-sync-token", kTruncatedSync: "sync-507", kEmptyListing: "empty-listing", kRewrite: "rewrite", kLoseAnswer: "lose-answer",
	kEchoSyncToken: "echo-sync-token", kHoldBody: "hold-body", kAnswer: "answer"}

func (k kind) terminal() bool {
	return k == kStatus || k == kReset || k == kStall || k == kInvalidToken || k == kAnswer
}

// Status answers with code (e.g. 500, 503, 429) and, if retryAfter is not
// empty, a Retry-After header (RFC 9110 §10.2.3), without asking the target.
func Status(code int, retryAfter string) Action {
	return Action{kind: kStatus, status: code, value: retryAfter}
}

// Answer answers with code and body of the given Content-Type without
// asking the target, e.g. a server's refusal of an item with its reason.
func Answer(code int, contentType, body string) Action {
	return Action{kind: kAnswer, status: code, value: contentType, body: body}
}

// Reset closes the TCP connection with an RST (SO_LINGER 0) before any answer.
func Reset() Action { return Action{kind: kReset} }

// Stall never answers: the handler holds the connection until the client
// gives up (its timeout or context) or the proxy is closed.
func Stall() Action { return Action{kind: kStall} }

// StallBody forwards the request, sends the target's status, headers and the
// first n body bytes, then holds the connection like Stall.
func StallBody(n int) Action { return Action{kind: kStallBody, n: n} }

// HoldBody forwards the request, sends the target's status, headers and
// the first n body bytes (n <= 0: half of the body), and the rest once
// release is closed: an answer caught midway for as long as a test needs
// to look at what the client made of its first part.
func HoldBody(n int, release <-chan struct{}) Action {
	return Action{kind: kHoldBody, n: n, release: release}
}

// Truncate forwards the request and sends the target's status and headers
// (with the full Content-Length) but only the first n body bytes (n <= 0:
// half of the body), then closes the connection: a body cut mid-XML.
func Truncate(n int) Action { return Action{kind: kTruncate, n: n} }

// DropETag removes the ETag header from the target's answer (a server that
// changed the stored body, RFC 4791 §5.3.4).
func DropETag() Action { return Action{kind: kDropETag} }

// WeakenETag turns the ETag header and every DAV:getetag value in the body
// into weak ETags (W/"…", RFC 9110 §8.8.3). Conditional requests are forwarded
// unchanged, so an If-Match with a weak ETag fails at the target, as strong
// comparison demands (RFC 9110 §13.1.1).
func WeakenETag() Action { return Action{kind: kWeakETag} }

// AddLocation sets a Location header on the target's answer.
func AddLocation(loc string) Action { return Action{kind: kLocation, value: loc} }

// MoveTo forwards the request to path instead (the server chose another href
// for a created object) and, when the target answers 201, adds a Location
// naming path (RFC 9110 §10.2.2).
func MoveTo(path string) Action { return Action{kind: kMoveTo, value: path} }

// Hook runs fn before the request is forwarded, e.g. to change an item on the
// target behind the client's back between its listing and its write.
func Hook(fn func(*http.Request)) Action { return Action{kind: kHook, hook: fn} }

// InvalidSyncToken answers 403 with the RFC 6578 §3.2 DAV:valid-sync-token
// precondition, without asking the target.
func InvalidSyncToken() Action { return Action{kind: kInvalidToken} }

// TruncatedSyncPage forwards a sync-collection REPORT and keeps only the
// first n member responses, adds a 507 response for the request-URI (RFC
// 6578 §3.6) and replaces the sync-token by the one the client sent, so
// continuing from it yields the dropped changes again: a correct partial page.
func TruncatedSyncPage(n int) Action { return Action{kind: kTruncatedSync, n: n} }

// EmptyListing forwards the request and removes every member response from
// the multistatus answer, keeping the request-URI's own response and the
// sync-token: a server that suddenly reports an empty calendar.
func EmptyListing() Action { return Action{kind: kEmptyListing} }

// EchoSyncToken answers a sync-collection REPORT that carries a token as a
// server that accepts a token it no longer knows (sabre/dav 4, e.g. after a
// restore from a backup): it forwards the request, removes every response
// from the target's answer and hands back the request's token, so the
// client sees 207, no changes, and its own token. A request without a
// token (an initial listing) passes unchanged.
func EchoSyncToken() Action { return Action{kind: kEchoSyncToken} }

// LoseAnswer forwards the request, lets the target act on it, and then
// resets the client connection instead of answering: a write that succeeded
// although the client saw only a network error.
func LoseAnswer() Action { return Action{kind: kLoseAnswer} }

// RewriteBody passes the target's answer body through fn.
func RewriteBody(fn func(req *http.Request, body []byte) []byte) Action {
	return Action{kind: kRewrite, rewrite: fn}
}

// New starts a proxy on a free loopback port in front of target (a base URL
// such as "http://127.0.0.1:5232/"). Close it when done.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("faultproxy: bad target %q", target)
	}
	// DisableCompression: the client's Accept-Encoding decides, as it
	// would without the proxy (forward drops it where bodies are rewritten).
	p := &Proxy{target: u, done: make(chan struct{}),
		tr: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, DisableCompression: true}}
	p.srv = httptest.NewServer(p)
	p.URL = p.srv.URL + u.Path
	return p, nil
}

// Close releases stalled connections and shuts the proxy down.
func (p *Proxy) Close() {
	p.once.Do(func() {
		close(p.done)
		p.srv.Close()
		p.tr.CloseIdleConnections()
	})
}

// Host is the proxy's host:port.
func (p *Proxy) Host() string { return p.srv.Listener.Addr().String() }

// Add installs a rule and returns it (to read its counters).
func (p *Proxy) Add(r Rule) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	rule := r
	rule.mu, rule.seen, rule.fired = &p.mu, 0, 0
	if rule.Name == "" {
		rule.Name = kindNames[rule.Action.kind]
	}
	p.rules = append(p.rules, &rule)
	return &rule
}

// Clear removes every rule: the fault is gone.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns every request received so far (since the last Take).
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.copyLog()
}

// Take returns the requests received since the last Take and forgets them.
func (p *Proxy) Take() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.copyLog()
	p.log = nil
	return out
}

func (p *Proxy) copyLog() []Request {
	out := make([]Request, len(p.log))
	for i, r := range p.log {
		out[i] = *r
	}
	return out
}

// Count counts recorded requests with the given method ("" = any) whose path
// matches re (nil = any) and that reached the target.
func Count(reqs []Request, method string, re *regexp.Regexp) int {
	n := 0
	for _, r := range reqs {
		if (method == "" || r.Method == method) && (re == nil || re.MatchString(r.Path)) && r.Forwarded {
			n++
		}
	}
	return n
}

// ServeHTTP applies the matching rules and forwards the request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &Request{Method: r.Method, Path: r.URL.Path, Host: r.Host, Auth: r.Header.Get("Authorization") != "",
		IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match"), Start: time.Now()}
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	rec.Body, rec.In = string(body[:min(len(body), 256)]), int64(len(body))
	fired := p.match(r, body)
	var names []string
	for _, rule := range fired {
		names = append(names, rule.Name)
	}
	rec.Fault = strings.Join(names, ",")
	a := &answer{ResponseWriter: w, p: p, rec: rec}
	// Also when a broken stream aborts the handler.
	defer a.done()
	if len(fired) == 0 {
		p.pass(a, r, body)
		return
	}
	p.serve(a, r, body, fired)
}

// answer writes one request's answer, counting its bytes, and logs the
// request.
type answer struct {
	http.ResponseWriter
	p      *Proxy
	rec    *Request
	n      int64
	logged bool
}

func (a *answer) Write(b []byte) (int, error) {
	n, err := a.ResponseWriter.Write(b)
	a.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, hijack).
func (a *answer) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// log records the request with the status sent (0 = none). It runs before
// the answer leaves, or before the connection is cut: a client that saw
// the answer (or lost it) and then reads Requests must find it there.
func (a *answer) log(status int) {
	if a.logged {
		return
	}
	a.logged = true
	a.p.mu.Lock()
	a.rec.Status = status
	a.p.log = append(a.p.log, a.rec)
	a.p.mu.Unlock()
}

// done ends the record: the answer is out.
func (a *answer) done() {
	a.log(0)
	a.p.mu.Lock()
	a.rec.End, a.rec.Out = time.Now(), a.n
	a.p.mu.Unlock()
}

// status sends a short plain-text answer of the proxy's own.
func (a *answer) status(code int, text string) {
	a.log(code)
	a.Header().Set("Content-Type", "text/plain; charset=utf-8")
	a.WriteHeader(code)
	_, _ = io.WriteString(a, text+"\n")
}

func (p *Proxy) match(r *http.Request, body []byte) []*Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*Rule
	for _, rule := range p.rules {
		if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
			continue
		}
		if rule.Path != nil && !rule.Path.MatchString(r.URL.Path) {
			continue
		}
		if rule.Body != "" && !bytes.Contains(body, []byte(rule.Body)) {
			continue
		}
		rule.seen++
		nth := max(rule.Nth, 1)
		times := rule.Times
		if times == 0 && rule.Nth > 0 {
			times = 1
		}
		if rule.seen < nth || (times > 0 && rule.fired >= times) {
			continue
		}
		rule.fired++
		out = append(out, rule)
	}
	return out
}

// pass forwards a request no rule fired on and streams the target's answer
// back as it comes, headers and compression untouched.
func (p *Proxy) pass(a *answer, r *http.Request, body []byte) {
	resp, err := p.forward(r, r.URL.Path, body, true)
	if err != nil {
		a.status(http.StatusBadGateway, "faultproxy: target: "+err.Error())
		return
	}
	defer resp.Body.Close()
	a.rec.Forwarded = true
	copyHeader(a.Header(), resp.Header, true)
	a.log(resp.StatusCode)
	a.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(a)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := a.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// Cut the client's connection too: its answer is incomplete.
			panic(http.ErrAbortHandler)
		}
	}
}

// serve answers a request some rules fired on: request-side actions, then
// a terminal action or the target's answer through the response-side ones.
func (p *Proxy) serve(a *answer, r *http.Request, body []byte, rules []*Rule) {
	path := r.URL.Path
	moved := ""
	for _, rule := range rules {
		switch rule.Action.kind {
		case kHook:
			rule.Action.hook(r)
		case kMoveTo:
			path, moved = rule.Action.value, rule.Action.value
		}
	}
	for _, rule := range rules {
		if rule.Action.kind.terminal() {
			p.terminal(a, r, rule.Action)
			return
		}
	}
	resp, err := p.forward(r, path, body, false)
	if err != nil {
		a.status(http.StatusBadGateway, "faultproxy: target: "+err.Error())
		return
	}
	a.rec.Forwarded = true
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if slices.ContainsFunc(rules, func(rule *Rule) bool { return rule.Action.kind == kLoseAnswer }) {
		a.log(0)
		p.reset(a)
		return
	}
	if err != nil {
		a.status(http.StatusBadGateway, "faultproxy: target body: "+err.Error())
		return
	}
	copyHeader(a.Header(), resp.Header, false)
	if moved != "" && resp.StatusCode == http.StatusCreated {
		a.Header().Set("Location", moved)
	}
	p.respond(a, r, body, rules, resp.StatusCode, respBody)
}

// terminal answers with act instead of the target.
func (p *Proxy) terminal(a *answer, r *http.Request, act Action) {
	switch act.kind {
	case kStatus:
		if act.value != "" {
			a.Header().Set("Retry-After", act.value)
		}
		a.status(act.status, http.StatusText(act.status)+" (faultproxy)")
	case kReset:
		a.log(0)
		p.reset(a)
	case kStall:
		p.stall(r)
	case kAnswer:
		a.log(act.status)
		a.Header().Set("Content-Type", act.value)
		a.WriteHeader(act.status)
		_, _ = io.WriteString(a, act.body)
	case kInvalidToken:
		a.log(http.StatusForbidden)
		a.Header().Set("Content-Type", "application/xml; charset=utf-8")
		a.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(a, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`)
	}
}

// respond passes the target's answer through the response-side actions
// and sends it, whole or cut.
func (p *Proxy) respond(a *answer, r *http.Request, reqBody []byte, rules []*Rule, status int, body []byte) {
	hdr := a.Header()
	cut, stallAt, holdAt := -1, -1, -1
	var release <-chan struct{}
	for _, rule := range rules {
		act := rule.Action
		switch act.kind {
		case kDropETag:
			hdr.Del("ETag")
		case kWeakETag:
			if et := hdr.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
				hdr.Set("ETag", "W/"+et)
			}
			body = weakenGetetag(body)
		case kLocation:
			hdr.Set("Location", act.value)
		case kTruncatedSync:
			body = truncateSync(body, r.URL.Path, syncTokenOf(reqBody), act.n)
		case kEmptyListing:
			body = emptyListing(body, r.URL.Path)
		case kRewrite:
			body = act.rewrite(r, body)
		case kEchoSyncToken:
			body = echoSyncToken(body, syncTokenOf(reqBody))
		case kTruncate:
			cut = act.n
			if cut <= 0 || cut > len(body) {
				cut = len(body) / 2
			}
		case kStallBody:
			stallAt = min(max(act.n, 0), len(body))
		case kHoldBody:
			holdAt, release = act.n, act.release
			if holdAt <= 0 || holdAt > len(body) {
				holdAt = len(body) / 2
			}
		}
	}
	a.log(status)
	if holdAt >= 0 && cut < 0 && stallAt < 0 {
		p.hold(a, r, status, body, holdAt, release)
		return
	}
	if cut >= 0 || stallAt >= 0 {
		n := cut
		if stallAt >= 0 {
			n = stallAt
		}
		p.partial(a, status, len(body), body[:n], stallAt >= 0)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	a.WriteHeader(status)
	_, _ = a.Write(body)
}

// copyHeader copies an answer's end-to-end headers; Content-Length too
// when the body passes unchanged.
func copyHeader(dst, src http.Header, withLength bool) {
	for k, vs := range src {
		if hopByHop[http.CanonicalHeaderKey(k)] || (k == "Content-Length" && !withLength) {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

// forward sends the request to path on the target. Unless keepEncoding,
// the target is asked for an uncompressed answer, to be rewritten as text.
func (p *Proxy) forward(r *http.Request, path string, body []byte, keepEncoding bool) (*http.Response, error) {
	u := *p.target
	u.Path, u.RawPath, u.RawQuery = path, "", r.URL.RawQuery
	if path == r.URL.Path {
		u.RawPath = r.URL.RawPath
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		if !hopByHop[http.CanonicalHeaderKey(k)] {
			out.Header[k] = append([]string(nil), vs...)
		}
	}
	if !keepEncoding {
		out.Header.Del("Accept-Encoding")
	}
	// Keep the Host the client used, so a server that builds absolute URLs
	// points them at the proxy.
	out.Host = r.Host
	return p.tr.RoundTrip(out)
}

// hijack takes over the client connection.
func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, bool) {
	c, rw, err := http.NewResponseController(w).Hijack()
	return c, rw, err == nil
}

func (p *Proxy) reset(a *answer) {
	c, _, ok := hijack(a)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST instead of FIN
	}
	_ = c.Close()
}

func (p *Proxy) stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.done:
	}
}

// hold sends body in two parts: the first n bytes at once, the rest when
// release is closed, unless the client or the proxy goes first.
func (p *Proxy) hold(a *answer, r *http.Request, status int, body []byte, n int, release <-chan struct{}) {
	a.Header().Set("Content-Length", strconv.Itoa(len(body)))
	a.WriteHeader(status)
	_, _ = a.Write(body[:n])
	_ = http.NewResponseController(a).Flush()
	select {
	case <-release:
		_, _ = a.Write(body[n:])
	case <-r.Context().Done():
	case <-p.done:
	}
}

// partial writes a raw HTTP/1.1 answer announcing full bytes but carrying
// only prefix, then closes the connection (or stalls first).
func (p *Proxy) partial(a *answer, status, full int, prefix []byte, stall bool) {
	hdr := a.Header().Clone()
	c, rw, ok := hijack(a)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	defer c.Close()
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	hdr.Set("Content-Length", strconv.Itoa(full))
	hdr.Set("Connection", "close")
	_ = hdr.Write(rw)
	_, _ = rw.WriteString("\r\n")
	n, _ := rw.Write(prefix)
	a.n += int64(n)
	_ = rw.Flush()
	if stall {
		// The request context is not cancelled for a hijacked connection:
		// notice the client leaving by a read that fails when it closes.
		gone := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, c)
			close(gone)
		}()
		select {
		case <-gone:
		case <-p.done:
		}
	}
}

var (
	responseRe  = regexp.MustCompile(`(?s)<([A-Za-z0-9_.-]+:)?response[\s>].*?</([A-Za-z0-9_.-]+:)?response>`)
	hrefRe      = regexp.MustCompile(`(?s)<(?:[A-Za-z0-9_.-]+:)?href>\s*(.*?)\s*</(?:[A-Za-z0-9_.-]+:)?href>`)
	getetagRe   = regexp.MustCompile(`(<(?:[A-Za-z0-9_.-]+:)?getetag>\s*)(")`)
	syncTokenRe = regexp.MustCompile(`(?s)(<(?:[A-Za-z0-9_.-]+:)?sync-token>)(.*?)(</(?:[A-Za-z0-9_.-]+:)?sync-token>)`)
	msEndRe     = regexp.MustCompile(`</([A-Za-z0-9_.-]+:)?multistatus>`)
)

func weakenGetetag(b []byte) []byte {
	return getetagRe.ReplaceAll(b, []byte(`${1}W/${2}`))
}

// isSelf tells whether a <response> element is the request-URI's own.
func isSelf(resp []byte, reqPath string) bool {
	m := hrefRe.FindSubmatch(resp)
	if m == nil {
		return false
	}
	h := string(m[1])
	if u, err := url.Parse(h); err == nil {
		h = u.Path
	}
	return strings.TrimSuffix(h, "/") == strings.TrimSuffix(reqPath, "/")
}

func emptyListing(b []byte, reqPath string) []byte {
	return responseRe.ReplaceAllFunc(b, func(resp []byte) []byte {
		if isSelf(resp, reqPath) {
			return resp
		}
		return nil
	})
}

func syncTokenOf(reqBody []byte) string {
	m := syncTokenRe.FindSubmatch(reqBody)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[2]))
}

func truncateSync(b []byte, reqPath, reqToken string, keep int) []byte {
	kept := 0
	prefix := ""
	if m := responseRe.FindSubmatch(b); m != nil {
		prefix = string(m[1])
	}
	b = responseRe.ReplaceAllFunc(b, func(resp []byte) []byte {
		if isSelf(resp, reqPath) {
			return nil
		}
		if kept < keep {
			kept++
			return resp
		}
		return nil
	})
	if reqToken != "" {
		b = syncTokenRe.ReplaceAllFunc(b, func(m []byte) []byte {
			s := syncTokenRe.FindSubmatch(m)
			var out []byte
			out = append(out, s[1]...)
			out = append(out, escapeText(reqToken)...)
			return append(out, s[3]...)
		})
	}
	if prefix == "" {
		if m := msEndRe.FindSubmatch(b); m != nil {
			prefix = string(m[1])
		}
	}
	p := prefix
	self := "<" + p + "response><" + p + "href>" + escapeText(reqPath) + "</" + p + "href><" + p +
		"status>HTTP/1.1 507 Insufficient Storage</" + p + "status></" + p + "response>"
	loc := msEndRe.FindIndex(b)
	if loc == nil {
		return b
	}
	// RFC 6578 §6.4 orders the sync-token after the responses.
	if tl := syncTokenRe.FindIndex(b); tl != nil && tl[0] < loc[0] {
		loc = tl
	}
	out := append([]byte{}, b[:loc[0]]...)
	out = append(out, self...)
	return append(out, b[loc[0]:]...)
}

// echoSyncToken empties a sync-collection answer and puts token in it as
// the new sync-token; without a token it returns the answer unchanged.
func echoSyncToken(b []byte, token string) []byte {
	if token == "" {
		return b
	}
	b = responseRe.ReplaceAll(b, nil)
	return syncTokenRe.ReplaceAll(b, []byte("${1}"+strings.ReplaceAll(escapeText(token), "$", "$$")+"${3}"))
}

func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
