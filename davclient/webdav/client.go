// Package webdav is the WebDAV transport under davclient (RFC 4918): HTTP
// exchanges with Basic credentials that never follow a redirect off the
// configured origin, request tracing, typed errors (HTTP status,
// Retry-After, RFC 4918 §16 DAV:error bodies) and a streaming
// DAV:multistatus decoder (RFC 4918 §14.16, with the top-level
// DAV:sync-token of RFC 6578 §6.2) bounded in size and nesting depth.
//
// Every href it accepts or returns is a canonical absolute path (see
// Canonical), resolved against the URL of the request it came with, and a
// listing yields only the members inside the collection asked about.
// Property text reaches the caller exactly as the server sent it
// (XML-unescaped, CRLF kept); nothing is re-encoded.
package webdav

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options configures a Client.
type Options struct {
	URL                string       // configured URL: its origin is the only one requests go to
	Username, Password string       // HTTP Basic credentials; userinfo in URL is used if these are empty
	HTTPClient         *http.Client // optional; its CheckRedirect is replaced by a safe one
	InsecureSkipVerify bool         // only when explicitly configured (ignored if HTTPClient is set)
	MaxResponseBytes   int64        // cap on one buffered response body (default 64 MiB)
	MaxResourceBytes   int64        // cap on one resource: a GET body or the Content property's text (default 16 MiB)
	// Content is the property whose text is a whole resource, such as
	// CalDAV's calendar-data (RFC 4791 §9.6): its text may reach
	// MaxResourceBytes, and its first text run bypasses the XML decoder's
	// byte-at-a-time reading (see guardReader). Zero: no such property.
	Content             xml.Name
	MaxIdleConnsPerHost int // idle connections kept per host (default 6)
	UserAgent           string
	// Conditions maps the local name of an RFC 4918 §16 precondition
	// element to the sentinel an error carrying it matches, e.g. CalDAV's
	// max-resource-size to ErrTooLarge.
	Conditions map[string]error
	// Trace, when set, is called once per request when its response
	// headers arrive (or it fails): method, URL without credentials, status
	// (0 on error), time to the headers.
	Trace func(method, url string, status int, d time.Duration, err error)
}

// Client sends WebDAV requests to one server. It is safe for concurrent use.
type Client struct {
	base       *url.URL // configured URL without userinfo
	user, pass string
	hc         *http.Client
	opts       Options // with defaults filled in
}

const (
	defaultMaxResponse = 64 << 20
	defaultMaxResource = 16 << 20
	defaultIdleConns   = 6
	errBodyCap         = 64 << 10
)

// New validates opts and builds a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", ErrBadArgument)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL %q: want http(s)://host/...: %w", u.Redacted(), ErrBadArgument)
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
	if opts.MaxResourceBytes <= 0 {
		opts.MaxResourceBytes = defaultMaxResource
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = defaultIdleConns
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
// costs both sides CPU.
func newTransport(opts Options, loopback bool) *http.Transport {
	return &http.Transport{
		DisableCompression:    loopback,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Radicale reads a whole big calendar before it answers a listing;
		// a stalled server must still not hang a poller forever.
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

// Canonical resolves an href against the configured URL (see the function
// Canonical).
func (c *Client) Canonical(href string) (string, error) { return Canonical(c.base, href) }

// BaseHref is the canonical path of the configured URL.
func (c *Client) BaseHref() (string, error) { return c.Canonical(c.base.EscapedPath()) }

// CollectionHref canonicalises a collection href and gives it a trailing
// slash.
func (c *Client) CollectionHref(href string) (string, error) {
	h, err := c.Canonical(href)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(h, "/") {
		h += "/"
	}
	return h, nil
}

// URL is the absolute URL of a canonical href on the configured origin.
func (c *Client) URL(href string) string {
	u := url.URL{Scheme: c.base.Scheme, Host: c.base.Host}
	return u.String() + href
}

// Request is one HTTP exchange.
type Request struct {
	Method      string
	Href        string // canonical path
	Depth       string // the Depth header (RFC 4918 §10.2); "" sends none
	Body        []byte
	ContentType string
	Header      map[string]string // further headers, e.g. If-Match
}

// Send performs the request with the credentials and returns the response
// whatever its status. The caller must close the body (use Discard).
func (c *Client) Send(ctx context.Context, r Request) (*http.Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	target := c.URL(r.Href)
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.Method, target, err)
	}
	if c.user != "" || c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if r.Depth != "" {
		req.Header.Set("Depth", r.Depth)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if c.opts.Trace != nil {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		c.opts.Trace(r.Method, target, status, time.Since(start), err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.Method, target, err)
	}
	return resp, nil
}

// Discard drains (a bounded amount) and closes a body so the connection can
// be reused.
func Discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, errBodyCap)
	_ = resp.Body.Close()
}

// ReadResource reads the body of a GET, up to MaxResourceBytes; more is
// ErrTooLarge. The bytes are the server's, untouched.
func (c *Client) ReadResource(resp *http.Response) ([]byte, error) {
	return readCapped(resp.Body, c.opts.MaxResourceBytes, resp.Request.Method+" "+redact(resp.Request.URL))
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
