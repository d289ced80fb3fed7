// Package webdav is the WebDAV layer under davclient (RFC 4918): HTTP
// exchanges over package transport (credentials, TLS, proxy, sockets),
// redirects that never take credentials off their scope, request tracing,
// typed errors (HTTP status, Retry-After, RFC 4918 §16 DAV:error bodies)
// and a streaming DAV:multistatus decoder (RFC 4918 §14.16, with the
// top-level DAV:sync-token of RFC 6578 §6.2) bounded in size and depth.
//
// Every href it accepts or returns is a canonical absolute path (see
// Canonical), resolved against the URL of the request it came with, and a
// listing yields only the members inside the collection asked about (or,
// with EachResource, only resources on the same origin).
// Property text reaches the caller exactly as the server sent it
// (XML-unescaped, CRLF kept); nothing is re-encoded.
package webdav

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vdird/vdird/davclient/webdav/transport"
)

// Options configures a Client.
type Options struct {
	// URL is the configured URL (see transport.ParseURL); credentials go
	// to its host or its registrable domain only (see transport.Scope).
	URL                string
	Username, Password string                // credentials; userinfo in URL is used if these are empty
	Auth               transport.Auth        // how they are sent (default transport.AuthAuto)
	Token              transport.TokenSource // the bearer tokens of AuthBearer
	AuthHint           string                // ends an authentication failure's message, e.g. "check password_command"
	HTTPClient         *http.Client          // optional; its CheckRedirect is replaced by a safe one, its Transport wrapped for credentials
	InsecureSkipVerify bool                  // only when explicitly configured (ignored if HTTPClient is set)
	TLS                transport.TLSOptions  // ignored if HTTPClient is set
	ConnectTimeout     time.Duration         // TCP connect and TLS handshake (default 30 s; ignored if HTTPClient is set)
	ResponseTimeout    time.Duration         // a request to its response headers (default 2 min; ignored if HTTPClient is set)
	MaxResponseBytes   int64                 // cap on one buffered response body (default 64 MiB)
	MaxResourceBytes   int64                 // cap on one resource: a GET body or the Content property's text (default 16 MiB)
	// Content are the properties whose text is a whole resource, such as
	// CalDAV's calendar-data (RFC 4791 §9.6) and CardDAV's address-data
	// (RFC 6352 §10.4): their text may reach MaxResourceBytes, and its
	// first run bypasses the XML decoder's byte-at-a-time reading (see
	// guardReader). Empty: no such property.
	Content             []xml.Name
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
	base  atomic.Pointer[url.URL] // configured URL without userinfo; its origin may move (see Move)
	scope transport.Scope         // where credentials may go
	user  string
	hc    *http.Client
	opts  Options // with defaults filled in
}

const (
	defaultMaxResponse = 64 << 20
	defaultMaxResource = 16 << 20
	defaultIdleConns   = 6
	errBodyCap         = 64 << 10
)

// New validates opts and builds a Client. It reads the TLS files it is
// given and does no network I/O.
func New(opts Options) (*Client, error) {
	u, socket, err := transport.ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if u.User != nil {
		// Credentials belong in the Authorization header, never in URLs that
		// end up in logs and error messages.
		if opts.Username == "" {
			opts.Username = u.User.Username()
			opts.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	u.RawQuery, u.Fragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	c := &Client{user: opts.Username, scope: transport.NewScope(u)}
	c.base.Store(u)
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
	c.hc = &http.Client{}
	var base http.RoundTripper
	if opts.HTTPClient != nil {
		*c.hc = *opts.HTTPClient // shallow copy: share the Transport, own the redirect policy
		base = cmp.Or[http.RoundTripper](c.hc.Transport, http.DefaultTransport)
	}
	c.hc.Transport, err = transport.New(transport.Options{
		Username: opts.Username, Password: opts.Password, Auth: opts.Auth, Token: opts.Token,
		InsecureSkipVerify: opts.InsecureSkipVerify, TLS: opts.TLS,
		ConnectTimeout: opts.ConnectTimeout, ResponseTimeout: opts.ResponseTimeout,
		MaxIdleConnsPerHost: opts.MaxIdleConnsPerHost, Socket: socket,
	}, c.scope, base)
	if err != nil {
		return nil, err
	}
	c.hc.CheckRedirect = c.scope.CheckRedirect
	return c, nil
}

// Canonical resolves an href against the configured URL (see the function
// Canonical).
func (c *Client) Canonical(href string) (string, error) { return Canonical(c.base.Load(), href) }

// BaseHref is the canonical path of the configured URL.
func (c *Client) BaseHref() (string, error) { return c.Canonical(c.base.Load().EscapedPath()) }

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

// URL is the absolute URL of a canonical href on the configured origin
// (or the one the client moved to).
func (c *Client) URL(href string) string {
	base := c.base.Load()
	u := url.URL{Scheme: base.Scheme, Host: base.Host}
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

// Send performs the request (the transport adds the credentials) and
// returns the response whatever its status. The caller must close the body (use Discard).
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
		// The method and URL lead the message already.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", r.Method, target, transport.Explain(err, req.URL))
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
