package transport

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Scope is where credentials may go: the configured host, and over https
// every host of its registrable domain (publicsuffix.EffectiveTLDPlusOne),
// so iCloud's partition hosts (pNN-caldav.icloud.com) get them while a
// sibling under a public suffix such as github.io does not.
type Scope struct {
	scheme   string // the configured URL's
	host     string // the configured URL's, normalised by HostPort
	hostname string // the same without the port
	domain   string // registrable domain; "" for an IP address or a single-label name
}

// NewScope is the scope of credentials for the configured URL u.
func NewScope(u *url.URL) Scope {
	return Scope{scheme: strings.ToLower(u.Scheme), host: HostPort(u),
		hostname: strings.ToLower(u.Hostname()), domain: registrable(u.Hostname())}
}

// registrable returns the registrable domain of a DNS name, "" when there
// is none (an IP address, localhost, a public suffix itself).
func registrable(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || net.ParseIP(host) != nil || !strings.Contains(host, ".") {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return d
}

// HostPort is the lower-cased host of u with its port, the scheme's
// default port left out, so "h:443" and "h" compare equal over https.
func HostPort(u *url.URL) string {
	h, p := strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), u.Port()
	if p == "" || (p == "443" && strings.EqualFold(u.Scheme, "https")) || (p == "80" && strings.EqualFold(u.Scheme, "http")) {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return net.JoinHostPort(h, p)
}

// SameOrigin compares scheme and host, a default port written out or not.
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && HostPort(a) == HostPort(b)
}

// Allows tells whether credentials may go to u: the configured host (also
// upgraded from http to https), or over https a host of the configured
// registrable domain. Plain http never leaves the configured host, and
// https never falls back to http.
func (s Scope) Allows(u *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	if HostPort(u) == s.host {
		return scheme == s.scheme || scheme == "https"
	}
	if s.scheme == "http" && scheme == "https" && strings.EqualFold(u.Hostname(), s.hostname) {
		return true
	}
	return s.scheme == "https" && scheme == "https" && s.domain != "" && registrable(u.Hostname()) == s.domain
}

// String names the hosts for error messages.
func (s Scope) String() string {
	if s.scheme == "https" && s.domain != "" {
		return fmt.Sprintf("%s and the hosts of %s over https", s.host, s.domain)
	}
	return s.host
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

// ErrRedirect is a redirect that would take the credentials off their
// scope, or one net/http must not follow.
var ErrRedirect = errors.New("redirect refused")

// CheckRedirect is the http.Client redirect policy: a WebDAV method is
// never followed (net/http would turn PROPFIND into GET on 301, or replay a
// PUT): ErrUseLastResponse hands the 3xx to the caller, who may follow it
// by hand. A GET follows at most five redirects, each to a host in scope.
func (s Scope) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || via[0].Method != http.MethodGet {
		return http.ErrUseLastResponse
	}
	if !s.Allows(req.URL) {
		return s.Refused(via[len(via)-1].URL, req.URL, ErrRedirect)
	}
	return nil
}

// Refused is the error, matching sentinel, for a move from one URL to
// another out of scope.
func (s Scope) Refused(from, to *url.URL, sentinel error) error {
	return fmt.Errorf("%w: %s leads to %s, but credentials go only to %s", sentinel, withoutUser(from), withoutUser(to), s)
}

func withoutUser(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}
