package webdav

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/vdird/vdird/davclient/webdav/transport"
)

// Canonical returns the canonical form of an href (RFC 4918 §8.3): resolved
// against base, same scheme and host required (a default port written out
// or not), the decoded path re-escaped, so "%40" and "@" spellings compare
// equal. ErrOutsideCollection if it leaves the origin.
func Canonical(base *url.URL, href string) (string, error) {
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("%w: bad href %q", ErrMalformed, href)
	}
	if !transport.SameOrigin(u, base) {
		return "", fmt.Errorf("%w: href %q is on another origin", ErrOutsideCollection, href)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	return (&url.URL{Path: p}).EscapedPath(), nil
}

// Inside reports whether member (canonical) is strictly inside coll
// (canonical, trailing slash): same prefix and no dot segments that could
// climb out after cleaning.
func Inside(coll, member string) bool {
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

func redact(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}
