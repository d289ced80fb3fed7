// Package davclient is a small CalDAV client (RFC 4791, RFC 4918, RFC 6578,
// RFC 6764) over net/http and encoding/xml, with exactly what vdird needs:
// discovery, collection properties (ctag, sync-token, privileges), etag
// listings, streamed downloads, calendar-multiget, sync-collection and
// conditional PUT/DELETE with typed errors.
//
// iCalendar data is never parsed or re-serialised here: calendar-data bytes
// reach the caller exactly as the server sent them (XML-unescaped, CRLF
// kept). Every href the API accepts or returns is a canonical absolute path
// (see Canonical), so different spellings of one resource compare equal.
// Responses are parsed streaming with size and depth caps; credentials are
// sent with each request and never follow a redirect.
package davclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Client.
type Options struct {
	URL                string       // configured URL: server root, a principal, or a calendar home
	Username, Password string       // HTTP Basic credentials; userinfo in URL is used if these are empty
	HTTPClient         *http.Client // optional; its CheckRedirect is replaced by a safe one
	InsecureSkipVerify bool         // only when explicitly configured (ignored if HTTPClient is set)
	MaxResponseBytes   int64        // cap on one buffered response body (default 64 MiB)
	MaxObjectBytes     int64        // cap on one calendar object (calendar-data element or GET body), default 16 MiB
	MultigetBatch      int          // hrefs per calendar-multiget (default 100)
	MultigetParallel   int          // batches in flight (default 4)
	UserAgent          string
	// Trace, when set, is called once per request when its response
	// headers arrive (or it fails): method, URL without credentials, status
	// (0 on error), time to the headers. vdird logs it at debug level.
	Trace func(method, url string, status int, d time.Duration, err error)
}

// Client talks to one CalDAV server. It is safe for concurrent use.
type Client struct {
	base       *url.URL // configured URL without userinfo
	user, pass string
	hc         *http.Client
	opts       Options

	mu   sync.Mutex
	home string // cached calendar-home-set

	listCTag atomic.Bool // a listing gave a calendar without sync-token: ask getctag too
}

const (
	defaultMaxResponse = 64 << 20
	defaultMaxObject   = 16 << 20
	defaultBatch       = 100
	defaultParallel    = 4
	errBodyCap         = 64 << 10
)

// New validates opts and builds a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("davclient: parse URL: %w", ErrBadArgument)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("davclient: URL %q: want http(s)://host/...: %w", u.Redacted(), ErrBadArgument)
	}
	c := &Client{user: opts.Username, pass: opts.Password}
	if u.User != nil {
		// Credentials belong in the Authorization header, never in URLs that
		// end up in logs and error messages.
		if c.user == "" {
			c.user = u.User.Username()
			c.pass, _ = u.User.Password()
		}
		u.User = nil
	}
	u.RawQuery, u.Fragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	c.base = u
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = defaultMaxResponse
	}
	if opts.MaxObjectBytes <= 0 {
		opts.MaxObjectBytes = defaultMaxObject
	}
	if opts.MultigetBatch <= 0 {
		opts.MultigetBatch = defaultBatch
	}
	if opts.MultigetParallel <= 0 {
		opts.MultigetParallel = defaultParallel
	}
	c.opts = opts
	if opts.HTTPClient != nil {
		hc := *opts.HTTPClient // shallow copy: share the Transport, own the redirect policy
		c.hc = &hc
	} else {
		c.hc = &http.Client{Transport: newTransport(opts, isLoopback(u.Hostname()))}
	}
	c.hc.CheckRedirect = c.checkRedirect
	return c, nil
}

// isLoopback tells a server on this machine: "localhost" or a loopback
// address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newTransport builds the HTTP transport. Compression (net/http asks for
// gzip by default) is left off for a server on this machine: there it only
// costs both sides CPU. Measured with Radicale at 10k items, a
// calendar-query with all data took 0.56 s plain and 0.68 s with gzip.
func newTransport(opts Options, loopback bool) *http.Transport {
	return &http.Transport{
		DisableCompression:    loopback,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   opts.MultigetParallel + 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Radicale needs seconds to start answering a big listing; a stalled
		// server must still not hang a poller forever.
		ResponseHeaderTimeout: 2 * time.Minute,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: opts.InsecureSkipVerify, //nolint:gosec // only when explicitly configured
		},
	}
}

// checkRedirect never lets net/http follow a redirect for a WebDAV method
// (it would turn PROPFIND into GET on 301, or replay a PUT), and never leaves
// the configured origin. Returning ErrUseLastResponse hands the 3xx to the
// caller, where it becomes ErrRedirect.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || via[0].Method != http.MethodGet || !c.sameOrigin(req.URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// Canonical returns the canonical form of an href: resolved against base,
// same scheme and host required, the decoded path re-escaped, so "%40" and
// "@" spellings compare equal. ErrOutsideCollection if it leaves the origin.
func Canonical(base *url.URL, href string) (string, error) {
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("%w: bad href %q", ErrMalformed, href)
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return "", fmt.Errorf("%w: href %q is on another origin", ErrOutsideCollection, href)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	return (&url.URL{Path: p}).EscapedPath(), nil
}

// canonical resolves an href against the client's base URL.
func (c *Client) canonical(href string) (string, error) { return Canonical(c.base, href) }

// collHref canonicalises a collection href and gives it a trailing slash.
func (c *Client) collHref(href string) (string, error) {
	h, err := c.canonical(href)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(h, "/") {
		h += "/"
	}
	return h, nil
}

// inside reports whether member (canonical) is strictly inside coll
// (canonical, trailing slash): same prefix and no dot segments that could
// climb out after cleaning.
func inside(coll, member string) bool {
	if !strings.HasPrefix(member, coll) || len(member) == len(coll) {
		return false
	}
	rest := strings.TrimSuffix(member[len(coll):], "/")
	if rest == "" {
		return false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	// A ".." hidden as %2e%2e survives URL resolution but is decoded in the
	// canonical path, so the segment check above catches it.
	return true
}

// sameColl compares two collection hrefs ignoring a trailing slash.
func sameColl(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

func (c *Client) urlFor(href string) string {
	u := url.URL{Scheme: c.base.Scheme, Host: c.base.Host}
	return u.String() + href
}

// request is one HTTP exchange.
type request struct {
	method string
	href   string // canonical path
	depth  string
	body   []byte
	ctype  string
	hdr    map[string]string
}

// send performs the request and returns the response whatever its status.
// The caller must close the body (use discard).
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	target := c.urlFor(r.href)
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, target, err)
	}
	if c.user != "" || c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if r.depth != "" {
		req.Header.Set("Depth", r.depth)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	for k, v := range r.hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if c.opts.Trace != nil {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		c.opts.Trace(r.method, target, status, time.Since(start), err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, target, err)
	}
	return resp, nil
}

// discard drains (a bounded amount) and closes a body so the connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, errBodyCap)
	_ = resp.Body.Close()
}

// statusError turns a non-success response into an *Error, reading an RFC
// 4918 §16 error body for the precondition name. It closes the body.
func (c *Client) statusError(method string, resp *http.Response) *Error {
	defer discard(resp)
	ra, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	e := &Error{
		Method:     method,
		URL:        redact(resp.Request.URL),
		Status:     resp.StatusCode,
		RetryAfter: ra,
		Err:        sentinelFor(resp.StatusCode, hasRA),
	}
	if de, ok := parseDAVError(io.LimitReader(resp.Body, errBodyCap)); ok {
		e.Condition = de.Condition
		if de.Href != "" {
			if h, err := Canonical(resp.Request.URL, de.Href); err == nil {
				e.Href = h
			}
		}
		switch de.Condition {
		case "max-resource-size": // RFC 4791 §5.3.2.1
			e.Err = ErrTooLarge
		case "valid-sync-token": // RFC 6578 §3.2
			e.Err = ErrInvalidSyncToken
		case "unique-scheduling-object-resource": // RFC 6638 §3.2.4.1
			e.Err = ErrUIDInUse
		}
	}
	return e
}

func redact(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}

// readCapped buffers a body up to limit bytes; more is ErrTooLarge.
func readCapped(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s body over %d bytes", ErrTooLarge, what, limit)
	}
	return b, nil
}

// cappedReader fails with ErrTooLarge once more than n bytes were read, so a
// buffered listing cannot exhaust memory.
type cappedReader struct {
	r io.Reader
	n int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, fmt.Errorf("%w: response body over the cap", ErrTooLarge)
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return 0, fmt.Errorf("%w: response body over the cap", ErrTooLarge)
	}
	return n, err
}

// multistatus sends a PROPFIND/REPORT and returns a streaming parser over the
// 207 body. A non-207 status becomes an *Error. capped limits the body to
// MaxResponseBytes (for listings that are collected in memory).
func (c *Client) multistatus(ctx context.Context, r request, capped bool) (*msParser, *http.Response, error) {
	r.ctype = "application/xml; charset=utf-8"
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	// 207 is the rule; a few old servers say 200 with a multistatus body,
	// which the parser then checks for its DAV:multistatus root.
	if resp.StatusCode != http.StatusMultiStatus && resp.StatusCode != http.StatusOK {
		return nil, nil, c.statusError(r.method, resp)
	}
	var body io.Reader = resp.Body
	if capped {
		body = &cappedReader{r: resp.Body, n: c.opts.MaxResponseBytes}
	}
	return newMSParser(body, c.opts.MaxObjectBytes), resp, nil
}

// parseErr wraps a body-parsing error with the request it came from.
func parseErr(method string, resp *http.Response, err error) error {
	return fmt.Errorf("%s %s: %w", method, redact(resp.Request.URL), err)
}

// outsideErr collects skipped hrefs into one ErrOutsideCollection error.
func outsideErr(method string, resp *http.Response, hrefs []string) error {
	if len(hrefs) == 0 {
		return nil
	}
	if len(hrefs) > 5 {
		hrefs = append(hrefs[:5:5], "...")
	}
	return fmt.Errorf("%s %s: %w: %s", method, redact(resp.Request.URL), ErrOutsideCollection, strings.Join(hrefs, ", "))
}
