package webdav

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vdird/vdird/davclient/webdav/internal/errbody"
	"github.com/vdird/vdird/davclient/webdav/transport"
)

// Sentinel errors. Every error returned by a Client that stems from one of
// these conditions matches it with errors.Is, so callers branch on type and
// never on message text.
var (
	ErrPreconditionFailed = errors.New("precondition failed")     // 412 (If-Match / If-None-Match)
	ErrNotFound           = errors.New("not found")               // 404
	ErrForbidden          = errors.New("forbidden")               // 403
	ErrUnauthorized       = transport.ErrUnauthorized             // 401, or a challenge the auth mode cannot answer
	ErrRateLimited        = errors.New("rate limited")            // 429, or 503 with Retry-After
	ErrServer             = errors.New("server error")            // 5xx
	ErrMalformed          = errors.New("malformed response")      // bad XML, unexpected body
	ErrInvalidSyncToken   = errors.New("invalid sync token")      // RFC 6578 §3.2 DAV:valid-sync-token
	ErrConflict           = errors.New("conflict")                // 409
	ErrTooLarge           = errors.New("too large")               // 413, CALDAV:max-resource-size, or over a size cap
	ErrOutsideCollection  = errors.New("href outside collection") // a listed href not inside the requested collection / origin
	ErrRedirect           = transport.ErrRedirect                 // a redirect we will not follow
	ErrStatus             = errors.New("unexpected HTTP status")  // any other non-success status (e.g. 400, 405)
	ErrBadArgument        = transport.ErrBadArgument              // caller passed something unusable (e.g. empty If-Match on Delete)
	ErrTimeout            = transport.ErrTimeout                  // no headers, or a body that stopped, for the response timeout
)

// Error describes a failed HTTP exchange. Err is the sentinel it matches.
// Condition and Href come from an RFC 4918 §16 DAV:error body.
type Error struct {
	Method, URL string        // URL never carries userinfo
	Status      int           // HTTP status code
	RetryAfter  time.Duration // from Retry-After (seconds or HTTP date), 0 if none
	Condition   string        // precondition/postcondition element from an RFC 4918 §16 DAV:error body, e.g. "no-uid-conflict"
	Href        string        // for CALDAV:no-uid-conflict (RFC 4791 §5.3.2.1): the existing href holding that UID (canonical)
	User        string        // for a 401: the user that was refused
	Hint        string        // for a 401: Options.AuthHint, e.g. "check password_command"
	// Message is the server's own explanation, e.g. "DTEND must occur
	// after DTSTART": from the DAV:error body (sabre's s:message, a
	// DAV:responsedescription, the precondition element's text) or a
	// plain-text body, on one line and shortened.
	Message string
	Err     error // the sentinel
}

// Error renders e.g. "PUT http://host/x.ics: 403 Forbidden
// (valid-calendar-data): DTEND must occur after DTSTART", or
// for a 401 "PROPFIND http://host/: authentication failed for alice (401
// Unauthorized; check password_command)". The URL is the request URL
// without userinfo, so no password can appear.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Status == http.StatusUnauthorized {
		fmt.Fprintf(&b, "%s %s: authentication failed", e.Method, e.URL)
		if e.User != "" {
			fmt.Fprintf(&b, " for %s", e.User)
		}
		fmt.Fprintf(&b, " (401 %s", http.StatusText(e.Status))
		if e.Hint != "" {
			fmt.Fprintf(&b, "; %s", e.Hint)
		}
		b.WriteString(")")
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Condition != "" {
		fmt.Fprintf(&b, " (%s", e.Condition)
		if e.Href != "" {
			fmt.Fprintf(&b, " %s", e.Href)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " retry after %v", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// Refused tells whether the server refused a request for its body as such
// (400, 413, 415, 422, or a 403 or 412 with a precondition about the content),
// so that the same bytes sent again get the same answer. A 403 without a
// precondition, or for a missing privilege, a sync token or a UID held
// elsewhere (a condition with a sentinel of its own), is not.
func (e *Error) Refused() bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	case http.StatusForbidden, http.StatusPreconditionFailed: // Xandikos refuses with a 412 inside a 207
		return e.Condition != "" && e.Condition != "need-privileges" && (e.Err == ErrForbidden || e.Err == ErrTooLarge || e.Err == ErrPreconditionFailed)
	}
	return false
}

// statusSentinel is the sentinel of each HTTP status that has its own.
var statusSentinel = map[int]error{
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusPreconditionFailed:    ErrPreconditionFailed,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusTooManyRequests:       ErrRateLimited,
}

// sentinelFor maps an HTTP status to its sentinel. hasRetryAfter separates a
// 503 that asks us to come back later (rate limiting) from a plain outage.
func sentinelFor(status int, hasRetryAfter bool) error {
	if err, ok := statusSentinel[status]; ok {
		return err
	}
	switch {
	case status == http.StatusServiceUnavailable && hasRetryAfter:
		return ErrRateLimited
	case status >= 500:
		return ErrServer
	case status >= 300 && status < 400:
		return ErrRedirect
	default:
		return ErrStatus
	}
}

// StatusError turns a non-success response into an *Error, reading an RFC
// 4918 §16 error body for the precondition name (for a 207, the status and
// error of the multistatus's first response): DAV:valid-sync-token (RFC
// 6578 §3.2) is ErrInvalidSyncToken, the conditions in Options.Conditions
// their sentinel. It closes the body.
func (c *Client) StatusError(method string, resp *http.Response) *Error {
	defer Discard(resp)
	ra, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	e := &Error{
		Method:     method,
		URL:        redact(resp.Request.URL),
		Status:     resp.StatusCode,
		RetryAfter: ra,
		Err:        sentinelFor(resp.StatusCode, hasRA),
	}
	if resp.StatusCode == http.StatusUnauthorized {
		e.User, e.Hint = c.user, c.opts.AuthHint
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyCap))
	eb := errbody.Read(body, resp.Header.Get("Content-Type"), resp.StatusCode)
	if resp.StatusCode == http.StatusMultiStatus && eb.Status != 0 {
		e.Status, e.Err = eb.Status, sentinelFor(eb.Status, hasRA)
	}
	e.Condition, e.Message = eb.Condition, eb.Message
	if eb.Href != "" {
		if h, err := Canonical(resp.Request.URL, eb.Href); err == nil {
			e.Href = h
		}
	}
	if eb.Condition == "valid-sync-token" {
		e.Err = ErrInvalidSyncToken
	} else if err, ok := c.opts.Conditions[eb.Condition]; ok && eb.Condition != "" {
		e.Err = err
	}
	return e
}

// parseRetryAfter reads Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		// More seconds than a Duration holds: the longest wait there is,
		// not a product that wrapped around to a negative or short one.
		return time.Duration(min(n, int64(math.MaxInt64/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
