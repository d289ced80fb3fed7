// Package transport is the HTTP layer under webdav: how a request reaches
// the server (TLS with a private CA, a client certificate or a pinned
// certificate; the proxy from the environment; a unix socket; connect and
// response timeouts) and how it proves who sends it (Basic, Digest of RFC
// 7616, Bearer), to the hosts credentials may go to (Scope) only, with at
// most one retry of a request after a 401.
package transport

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Sentinel errors; package webdav passes them on as its own.
var (
	ErrUnauthorized = errors.New("unauthorized")     // 401, or a challenge the mode cannot answer
	ErrBadArgument  = errors.New("invalid argument") // unusable options
)

// Options configures New.
type Options struct {
	Username, Password  string
	Auth                Auth        // default AuthAuto
	Token               TokenSource // the bearer tokens of AuthBearer
	InsecureSkipVerify  bool        // only when explicitly configured
	TLS                 TLSOptions
	ConnectTimeout      time.Duration // TCP connect and TLS handshake (default DefaultConnectTimeout)
	ResponseTimeout     time.Duration // longest silence of the server: from a request sent to its response headers, and within its body (default DefaultResponseTimeout)
	MaxIdleConnsPerHost int
	Socket              string // when set, every connection goes to this unix socket
}

// New returns the transport for a server whose configured URL has scope
// sc: base when it is not nil (tests; opts' network settings are then
// ignored), otherwise one built from opts, wrapped so that requests to
// hosts in scope carry credentials. It reads the TLS files in opts.
func New(opts Options, sc Scope, base http.RoundTripper) (http.RoundTripper, error) {
	if opts.Auth == "" {
		opts.Auth = AuthAuto
	}
	if opts.Auth == AuthBearer && opts.Token == nil {
		return nil, fmt.Errorf("bearer authentication needs a token source: %w", ErrBadArgument)
	}
	local := opts.Socket != "" || isLoopback(sc.hostname)
	if base == nil {
		tr, err := newHTTPTransport(opts, local)
		if err != nil {
			return nil, err
		}
		base = tr
	}
	// Basic goes out before any challenge only where nobody on the way can
	// read it.
	return newAuthTransport(base, opts, sc, sc.scheme == "https" || local), nil
}

// unixHost is the Host a request over a unix socket carries.
const unixHost = "localhost"

// ParseURL reads a configured URL: http(s)://host/path, or
// unix:///path/to.sock[/path] for a server on a unix socket, returned as
// http://localhost/path with the socket's path. Userinfo is left in u.
func ParseURL(raw string) (u *url.URL, socket string, err error) {
	u, err = url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("parse URL: %w", ErrBadArgument)
	}
	if u.Scheme == "unix" {
		var p string
		if socket, p, err = splitSocket(u); err != nil {
			return nil, "", err
		}
		u = &url.URL{Scheme: "http", Host: unixHost, Path: p}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("URL %q: want http(s)://host/... or unix:///path/to.sock: %w", u.Redacted(), ErrBadArgument)
	}
	return u, socket, nil
}
