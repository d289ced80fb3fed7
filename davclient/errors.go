package davclient

import (
	"context"
	"fmt"

	"github.com/vdird/vdird/davclient/webdav"
	"github.com/vdird/vdird/davclient/webdav/transport"
)

// Sentinel errors, shared with the transport (package webdav). Every error
// returned by a Client that stems from one of these conditions matches it
// with errors.Is, so callers branch on type and never on message text.
var (
	ErrPreconditionFailed = webdav.ErrPreconditionFailed // 412 (If-Match / If-None-Match)
	ErrNotFound           = webdav.ErrNotFound           // 404
	ErrForbidden          = webdav.ErrForbidden          // 403
	ErrUnauthorized       = webdav.ErrUnauthorized       // 401
	ErrRateLimited        = webdav.ErrRateLimited        // 429, or 503 with Retry-After
	ErrServer             = webdav.ErrServer             // 5xx
	ErrMalformed          = webdav.ErrMalformed          // bad XML, unexpected body
	ErrInvalidSyncToken   = webdav.ErrInvalidSyncToken   // RFC 6578 §3.2 DAV:valid-sync-token
	ErrConflict           = webdav.ErrConflict           // 409
	ErrTooLarge           = webdav.ErrTooLarge           // 413, CALDAV:max-resource-size, or over a size cap
	ErrOutsideCollection  = webdav.ErrOutsideCollection  // a listed href not inside the requested collection / origin
	ErrRedirect           = webdav.ErrRedirect           // a redirect we will not follow
	ErrStatus             = webdav.ErrStatus             // any other non-success status (e.g. 400, 405)
	ErrBadArgument        = webdav.ErrBadArgument        // caller passed something unusable (e.g. empty If-Match on Delete)
	ErrTimeout            = webdav.ErrTimeout            // no headers, or a body that stopped, for the response timeout
)

// ErrPin is a server certificate other than the pinned one (TLSOptions.Pin).
var ErrPin = transport.ErrPin

// Auth selects how credentials are sent (see transport.Auth).
type Auth = transport.Auth

// The authentication modes (see transport.AuthAuto and the others).
const (
	AuthAuto   = transport.AuthAuto
	AuthBasic  = transport.AuthBasic
	AuthDigest = transport.AuthDigest
	AuthBearer = transport.AuthBearer
)

// TokenSource gives the bearer tokens of AuthBearer (see
// transport.TokenSource): an OAuth2 token store, or ReuseToken around a
// command.
type TokenSource = transport.TokenSource

// ReuseToken is the TokenSource of a token that holds until the server
// refuses it (see transport.ReuseToken).
func ReuseToken(get func(ctx context.Context) (string, error)) TokenSource {
	return transport.ReuseToken(get)
}

// TLSOptions tighten or replace the system's certificate checks: a CA
// file, a client certificate, a pinned certificate.
type TLSOptions = transport.TLSOptions

// ErrUIDInUse is a 403 refusing a new item because its UID already lives at
// another href of the account, which Error.Href names (RFC 6638 §3.2.4.1
// CALDAV:unique-scheduling-object-resource; Cyrus checks every calendar of
// the user). It also matches ErrForbidden.
var ErrUIDInUse = fmt.Errorf("uid in use at another href: %w", ErrForbidden)

// ErrUIDConflict refuses a new item because the collection holds its UID
// at another href (RFC 4791 §5.3.2.1 CALDAV:no-uid-conflict, RFC 6352
// §6.3.2.1 CARDDAV:no-uid-conflict), which Error.Href names when the
// server says. Radicale answers it with 409, Xandikos with a 412 inside a
// 207. It also matches ErrConflict.
var ErrUIDConflict = fmt.Errorf("uid already in the collection: %w", ErrConflict)

// Error describes a failed HTTP exchange (see webdav.Error); Err is the
// sentinel it matches. For CALDAV:no-uid-conflict (RFC 4791 §5.3.2.1) Href
// is the existing href holding that UID.
type Error = webdav.Error
