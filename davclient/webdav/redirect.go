package webdav

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vdird/vdird/davclient/webdav/transport"
)

// Move resolves href, a place a server sent the client on to (a
// principal, a calendar home), to a canonical href. When it names another
// host that credentials may go to, every later request goes to that
// origin: iCloud names the calendar home on a partition host of the domain
// it was asked on. Another origin is ErrOutsideCollection.
func (c *Client) Move(href string) (string, error) {
	u, err := c.base.Load().Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("%w: bad href %q", ErrMalformed, href)
	}
	return c.move(u, ErrOutsideCollection)
}

// move makes u's origin the client's when credentials may go there, and
// returns u's canonical href; another origin is sentinel.
func (c *Client) move(u *url.URL, sentinel error) (string, error) {
	base := c.base.Load()
	if !transport.SameOrigin(u, base) {
		if !c.scope.Allows(u) {
			return "", c.scope.Refused(base, u, sentinel)
		}
		moved := *base
		moved.Scheme, moved.Host = strings.ToLower(u.Scheme), transport.HostPort(u)
		c.base.Store(&moved)
		base = &moved
	}
	return Canonical(base, u.String())
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
	next, err := c.move(u, ErrRedirect)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, href, err)
	}
	return next, nil
}
