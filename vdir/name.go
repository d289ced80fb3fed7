package vdir

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSafeName bounds names taken from hrefs, leaving room under NAME_MAX
// for the ".conflict-..." suffix of conflict copies.
const maxSafeName = 200

// NameForHref maps a remote href (the canonical escaped path, RFC 3986
// section 3.3) to a safe local file name ending in ext.
//
// The unescaped last path segment is used as is when it is safe: it ends
// in ext, is valid printable UTF-8, has no '/', '\\' or control
// characters, is not "." or "..", does not start with '.', is at most 200
// bytes, is not a conflict-copy name and is not of the hashed form below.
// It must also be canonically escaped (escaping it again gives back the
// exact segment): otherwise "a.ics" and "%61.ics" would share a name.
// An href with "." or ".." segments is never canonical and is hashed too.
// Every other href maps to "h" + the first 40 hex digits of sha256(href)
// + ext.
//
// The mapping is deterministic and, for hrefs inside one collection (same
// parent path), injective: safe names are the segment itself, hashed names
// can never be safe names, and two hashed names collide only on a 160-bit
// hash collision.
func NameForHref(href, ext string) string {
	seg := href
	if i := strings.LastIndexByte(href, '/'); i >= 0 {
		seg = href[i+1:]
	}
	if hasDotSegment(href) {
		// Not a canonical path: which collection it names is unclear.
		return hashedName(href, ext)
	}
	if name, err := url.PathUnescape(seg); err == nil && url.PathEscape(name) == seg && safeName(name, ext) {
		return name
	}
	return hashedName(href, ext)
}

// hasDotSegment reports whether href has a "." or ".." path segment
// (RFC 3986 section 5.2.4), which a canonical href never has.
func hasDotSegment(href string) bool {
	for _, seg := range strings.Split(href, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func hashedName(href, ext string) string {
	return "h" + Hash([]byte(href))[:40] + ext
}

// isHashedForm reports whether name looks like "h" + 40 lowercase hex + ext.
func isHashedForm(name, ext string) bool {
	if len(name) != 1+40+len(ext) || name[0] != 'h' || !strings.HasSuffix(name, ext) {
		return false
	}
	for _, c := range name[1:41] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func safeName(name, ext string) bool {
	if len(name) > maxSafeName || len(name) <= len(ext) {
		return false
	}
	if !isItemName(name, ext) || isHashedForm(name, ext) || !utf8.ValidString(name) {
		return false
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return false
	}
	for _, r := range name {
		// IsPrint also rejects format characters such as bidi overrides
		// and non-ASCII spaces, which make names look like other names.
		if !unicode.IsPrint(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
