// Package davclient is a small CalDAV (RFC 4791) and CardDAV (RFC 6352)
// client with exactly what vdird needs: discovery of the calendar and
// address book homes (RFC 6764 well-known URIs, RFC 5397 principal, RFC
// 4791 §6.2.1 calendar-home-set, RFC 6352 §7.1.1 addressbook-home-set),
// collection properties (ctag, DAV:sync-token, privileges, supported
// vCard versions, size limit), etag listings and streamed downloads with
// calendar-query / addressbook-query (RFC 4791 §7.8, RFC 6352 §8.6),
// calendar-multiget / addressbook-multiget (RFC 4791 §7.9, RFC 6352 §8.7),
// sync-collection (RFC 6578) and conditional PUT/DELETE with typed errors.
// A collection's Kind picks the request bodies, so callers treat
// calendars and address books alike.
//
// The WebDAV transport under it (RFC 4918: requests, redirects, errors,
// multistatus decoding, href checks) is package webdav. iCalendar and
// vCard data is never parsed or re-serialised here: calendar-data and
// address-data bytes reach the caller exactly as the server sent them
// (XML-unescaped, CRLF kept), ETags verbatim. Every href the API accepts or returns is a canonical absolute
// path (see Canonical), so different spellings of one resource compare
// equal. Responses are parsed streaming with size and depth caps;
// credentials (Basic, Digest or Bearer) go only to the configured host or,
// over https, to hosts of its registrable domain.
package davclient

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vdird/vdird/davclient/webdav"
)

// Options configures a Client.
type Options struct {
	// URL is the server root, a principal, or a calendar home:
	// http(s)://host/path, or unix:///path/to.sock[/path] for a server on
	// a unix socket.
	URL                string
	Username, Password string        // credentials; userinfo in URL is used if these are empty
	Auth               Auth          // how they are sent (default AuthAuto)
	Token              TokenSource   // the bearer tokens of AuthBearer
	AuthHint           string        // ends an authentication failure's message, e.g. "check password_command"
	HTTPClient         *http.Client  // optional; its CheckRedirect is replaced by a safe one
	InsecureSkipVerify bool          // only when explicitly configured (ignored if HTTPClient is set)
	TLS                TLSOptions    // CA file, client certificate, pin (ignored if HTTPClient is set)
	ConnectTimeout     time.Duration // TCP connect and TLS handshake (default 30 s)
	ResponseTimeout    time.Duration // a request to its response headers (default 2 min)
	MaxResponseBytes   int64         // cap on one buffered response body (default 64 MiB)
	MaxObjectBytes     int64         // cap on one object (calendar-data or address-data element, or GET body), default 16 MiB
	MultigetBatch      int           // most hrefs per multiget (default 100)
	MultigetBytes      int64         // data one multiget should bring, from the sizes seen so far (default 4 MiB)
	MultigetParallel   int           // batches in flight (default 4)
	UserAgent          string
	// Kinds are the kinds of collection discovery and listings look for;
	// empty: both.
	Kinds []Kind
	// VCardVersion is the vCard version ("3.0" or "4.0") to ask an address
	// book for where its supported-address-data offers it (RFC 6352
	// §10.4.1), so that servers that convert cards (sabre/dav) serve the
	// user's version; "" asks for the server's default.
	VCardVersion string
	// Trace, when set, is called once per request when its response
	// headers arrive (or it fails): method, URL without credentials, status
	// (0 on error), time to the headers. vdird logs it at debug level.
	Trace func(method, url string, status int, d time.Duration, err error)
}

// Client talks to one CalDAV server. It is safe for concurrent use.
type Client struct {
	dav  *webdav.Client
	opts Options

	mu         sync.Mutex
	homes      Homes // found by discovery
	homesKnown bool

	listCTag atomic.Bool // a listing gave a calendar without sync-token: ask getctag too
}

// XML namespaces of the properties read here.
const (
	nsDAV     = webdav.Namespace
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"  // RFC 4791
	nsCardDAV = "urn:ietf:params:xml:ns:carddav" // RFC 6352
	nsCS      = "http://calendarserver.org/ns/"  // getctag
	nsICal    = "http://apple.com/ns/ical/"      // calendar-color
)

const (
	defaultBatch    = 100
	defaultBytes    = 4 << 20
	defaultParallel = 4
)

// New validates opts and builds a Client. It reads the TLS files named in
// opts and does no network I/O.
func New(opts Options) (*Client, error) {
	if opts.MultigetBatch <= 0 {
		opts.MultigetBatch = defaultBatch
	}
	if opts.MultigetBytes <= 0 {
		opts.MultigetBytes = defaultBytes
	}
	if opts.MultigetParallel <= 0 {
		opts.MultigetParallel = defaultParallel
	}
	dav, err := webdav.New(webdav.Options{
		URL:                 opts.URL,
		Username:            opts.Username,
		Password:            opts.Password,
		Auth:                opts.Auth,
		Token:               opts.Token,
		AuthHint:            opts.AuthHint,
		HTTPClient:          opts.HTTPClient,
		InsecureSkipVerify:  opts.InsecureSkipVerify,
		TLS:                 opts.TLS,
		ConnectTimeout:      opts.ConnectTimeout,
		ResponseTimeout:     opts.ResponseTimeout,
		MaxResponseBytes:    opts.MaxResponseBytes,
		MaxResourceBytes:    opts.MaxObjectBytes,
		Content:             []xml.Name{dataProp(KindCalendar), dataProp(KindAddressBook)},
		MaxIdleConnsPerHost: opts.MultigetParallel + 2,
		UserAgent:           opts.UserAgent,
		Conditions: map[string]error{
			"max-resource-size":                 ErrTooLarge,    // RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1: over the server's size limit
			"unique-scheduling-object-resource": ErrUIDInUse,    // RFC 6638 §3.2.4.1: the UID lives at another href
			"no-uid-conflict":                   ErrUIDConflict, // RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1: the UID lives at another href of the collection
		},
		Trace: opts.Trace,
	})
	if err != nil {
		return nil, fmt.Errorf("davclient: %w", err)
	}
	return &Client{dav: dav, opts: opts}, nil
}

// Canonical returns the canonical form of an href: resolved against base,
// same scheme and host required, the decoded path re-escaped, so "%40" and
// "@" spellings compare equal. ErrOutsideCollection if it leaves the origin.
func Canonical(base *url.URL, href string) (string, error) { return webdav.Canonical(base, href) }
