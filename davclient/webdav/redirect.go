package webdav

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// scope is where credentials may go: the configured host, and over https
// every host of its registrable domain (publicsuffix.EffectiveTLDPlusOne),
// so iCloud's partition hosts (pNN-caldav.icloud.com) get them while a
// sibling under a public suffix such as github.io does not.
type scope struct {
	scheme   string // the configured URL's
	host     string // the configured URL's, normalised by hostPort
	hostname string // the same without the port
	domain   string // registrable domain; "" for an IP address or a single-label name
}

func newScope(u *url.URL) scope {
	return scope{scheme: strings.ToLower(u.Scheme), host: hostPort(u),
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

// hostPort is the lower-cased host of u with its port, the scheme's
// default port left out, so "h:443" and "h" compare equal over https.
func hostPort(u *url.URL) string {
	h, p := strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), u.Port()
	if p == "" || (p == "443" && strings.EqualFold(u.Scheme, "https")) || (p == "80" && strings.EqualFold(u.Scheme, "http")) {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return net.JoinHostPort(h, p)
}

// sameOrigin compares scheme and normalised host.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && hostPort(a) == hostPort(b)
}

// allows tells whether credentials may go to u: the configured host (also
// upgraded from http to https), or over https a host of the configured
// registrable domain. Plain http never leaves the configured host, and
// https never falls back to http.
func (s scope) allows(u *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	if hostPort(u) == s.host {
		return scheme == s.scheme || scheme == "https"
	}
	if s.scheme == "http" && scheme == "https" && strings.EqualFold(u.Hostname(), s.hostname) {
		return true
	}
	return s.scheme == "https" && scheme == "https" && s.domain != "" && registrable(u.Hostname()) == s.domain
}

// String names the hosts for error messages.
func (s scope) String() string {
	if s.scheme == "https" && s.domain != "" {
		return fmt.Sprintf("%s and the hosts of %s over https", s.host, s.domain)
	}
	return s.host
}

// checkRedirect never lets net/http follow a redirect for a WebDAV method
// (it would turn PROPFIND into GET on 301, or replay a PUT): returning
// ErrUseLastResponse hands the 3xx to the caller, where it becomes
// ErrRedirect or is followed by hand (see Redirect). A GET follows at most
// five redirects, and only to hosts credentials may go to.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || via[0].Method != http.MethodGet {
		return http.ErrUseLastResponse
	}
	if !c.scope.allows(req.URL) {
		return c.refused(via[len(via)-1].URL, req.URL, ErrRedirect)
	}
	return nil
}

// refused is the error for a move from one URL to another that leaves the
// scope of the credentials.
func (c *Client) refused(from, to *url.URL, sentinel error) error {
	return fmt.Errorf("%w: %s leads to %s, but credentials go only to %s", sentinel, redact(from), redact(to), c.scope)
}

// Move resolves href, a place a server sent the client on to (a
// principal, a calendar home), to a canonical href. When it names another
// host that credentials may go to, every later request goes to that
// origin: iCloud names the calendar home on a partition host of the domain
// it was asked on. Another origin is ErrOutsideCollection.
func (c *Client) Move(href string) (string, error) {
	base := c.base.Load()
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("%w: bad href %q", ErrMalformed, href)
	}
	if !sameOrigin(u, base) {
		if !c.scope.allows(u) {
			return "", c.refused(base, u, ErrOutsideCollection)
		}
		moved := *base
		moved.Scheme, moved.Host = strings.ToLower(u.Scheme), hostPort(u)
		c.base.Store(&moved)
		base = &moved
	}
	return Canonical(base, href)
}

// Redirect reads the Location of a 3xx answer to method on href as a
// canonical href, for a caller that follows a redirect by hand; a
// Location on another host in scope moves the client there (see Move).
// No Location is ErrMalformed; a Location out of scope is ErrRedirect.
func (c *Client) Redirect(method, href string, resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("%s %s: %d without Location: %w", method, href, resp.StatusCode, ErrMalformed)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("%s %s: bad Location: %w", method, href, ErrMalformed)
	}
	if !c.scope.allows(u) {
		return "", fmt.Errorf("%s %s: %w", method, href, c.refused(resp.Request.URL, u, ErrRedirect))
	}
	next, err := c.Move(u.String())
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, href, err)
	}
	return next, nil
}
