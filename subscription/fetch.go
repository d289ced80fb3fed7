package subscription

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient/webdav/transport"
	"github.com/vdird/vdird/internal/version"
)

// MaxFeedBytes bounds a feed's size: a larger answer is refused unread.
const MaxFeedBytes = 64 << 20

// maxRedirects bounds the redirects a fetch follows.
const maxRedirects = 5

// HTTPError is an answer of the feed's server other than 200 or 304.
type HTTPError struct {
	Status int
	// RetryAfter is the server's Retry-After on a 429 or 503, 0 if none.
	RetryAfter time.Duration
	hint       string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %v", e.RetryAfter)
	}
	return s
}

// RetryAfter is how long the feed's server asked to wait before the next
// fetch (Retry-After on a 429 or 503), 0 when err carries no such wish.
func RetryAfter(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// fetched is what one conditional GET gave.
type fetched struct {
	notModified        bool
	body               []byte
	etag, lastModified string
}

// validators are what the previous fetch's answer said about its version.
type validators struct{ etag, lastModified string }

// feedURL reads the URL to fetch: webcal:// and webcals:// are https://.
// User info in the URL is taken out, as the login of the fetch when the
// config gives none.
func feedURL(raw string) (u *url.URL, user, pass string, err error) {
	u, err = url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, "", "", errors.New("not a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "webcal", "webcals", "https":
		u.Scheme = "https"
	case "http":
		u.Scheme = "http"
	default:
		return nil, "", "", fmt.Errorf("scheme %q: want https, http or webcal", u.Scheme)
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	u.Fragment = ""
	return u, user, pass, nil
}

// display names the feed in messages: its URL without user info, or, for
// a URL that url_command printed (a secret), only its scheme and host.
func display(sub *config.Subscription, u *url.URL) string {
	if sub.URLCommand != "" {
		return u.Scheme + "://" + u.Host + "/… (from url_command)"
	}
	return u.String()
}

// newClient is the HTTP client of a feed at u: the subscription's login
// (sent only to u's host, see transport.Scope), TLS settings, proxy and
// timeouts.
func newClient(sub *config.Subscription, u *url.URL, user, pass string) (*http.Client, error) {
	if sub.Username != "" || sub.PasswordCommand != "" || sub.PasswordFile != "" || sub.PasswordEnv != "" {
		pw, err := sub.Password()
		if err != nil {
			return nil, err
		}
		user, pass = sub.Username, pw
	}
	rt, err := transport.New(transport.Options{
		Username: user, Password: pass, Auth: transport.AuthAuto,
		InsecureSkipVerify: sub.InsecureSkipVerify,
		TLS:                transport.TLSOptions{CAFile: sub.CAFile, Pin: sub.TLSFingerprint},
		ConnectTimeout:     sub.ConnectTimeout, ResponseTimeout: sub.ResponseTimeout,
	}, transport.NewScope(u), nil)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt, CheckRedirect: checkRedirect}, nil
}

// checkRedirect follows a few redirects, never from https to http. The
// error names no URL: the feed's may be a secret.
func checkRedirect(req *http.Request, via []*http.Request) error {
	switch {
	case len(via) >= maxRedirects:
		return fmt.Errorf("more than %d redirects", maxRedirects)
	case via[0].URL.Scheme == "https" && req.URL.Scheme != "https":
		return errors.New("redirected from https to plain http: refused")
	}
	return nil
}

// fetch GETs the feed, conditionally on the previous answer's validators
// (RFC 9110 §13.1): a 304 means the feed is as it was.
func fetch(ctx context.Context, hc *http.Client, u *url.URL, prev validators, hasLogin bool) (*fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errors.New("cannot make the request")
	}
	req.Header.Set("User-Agent", "vdird/"+version.String())
	req.Header.Set("Accept", "text/calendar, */*;q=0.1")
	if prev.etag != "" {
		req.Header.Set("If-None-Match", prev.etag)
	}
	if prev.lastModified != "" {
		req.Header.Set("If-Modified-Since", prev.lastModified)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the URL
		}
		return nil, transport.Explain(err, u)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return &fetched{notModified: true, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
	case http.StatusOK:
	default:
		return nil, statusError(resp, hasLogin)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the feed: %w", err)
	}
	if len(body) > MaxFeedBytes {
		return nil, fmt.Errorf("the feed is larger than %d MiB: refused", MaxFeedBytes>>20)
	}
	return &fetched{body: body, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
}

// statusError describes an answer other than 200 or 304.
func statusError(resp *http.Response, hasLogin bool) *HTTPError {
	e := &HTTPError{Status: resp.StatusCode}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.hint = "the feed wants a login: set username and password_command, password_file or password_env"
		if hasLogin {
			e.hint = "login refused: check username and the password source"
		}
	case http.StatusNotFound, http.StatusGone:
		e.hint = "no feed at this address"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
			e.RetryAfter = time.Duration(min(s, 24*3600)) * time.Second
		} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil && time.Until(t) > 0 {
			e.RetryAfter = min(time.Until(t), 24*time.Hour)
		}
	}
	return e
}
