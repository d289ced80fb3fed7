package transport

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/icholy/digest"
)

// Auth selects how a Client proves who it is.
type Auth string

// The authentication modes.
const (
	// AuthAuto sends Basic before any challenge only where nobody can
	// read it on the way (https, a unix socket, loopback); otherwise, and
	// whenever the server answers 401, it answers with the strongest
	// scheme the server offers: Digest (SHA-512-256, SHA-256, then MD5)
	// before Basic. The scheme a server asked for is then sent up front.
	AuthAuto Auth = "auto"
	// AuthBasic sends Basic on every request (RFC 7617), for servers
	// that never send a challenge.
	AuthBasic Auth = "basic"
	// AuthDigest answers only Digest challenges (RFC 7616): the password
	// never goes out as Basic.
	AuthDigest Auth = "digest"
	// AuthBearer sends the token of Options.Token (RFC 6750) and asks it
	// once for another when the server answers 401.
	AuthBearer Auth = "bearer"
)

// ParseAuth reads a mode by name; "" is AuthAuto.
func ParseAuth(s string) (Auth, error) {
	switch a := Auth(strings.ToLower(s)); a {
	case "":
		return AuthAuto, nil
	case AuthAuto, AuthBasic, AuthDigest, AuthBearer:
		return a, nil
	}
	return "", fmt.Errorf("auth %q: want one of auto, basic, digest, bearer: %w", s, ErrBadArgument)
}

// authTransport adds credentials to the requests for hosts in scope and
// answers a 401 at most once per request, so a wrong password costs one
// extra request, never a storm.
type authTransport struct {
	next       http.RoundTripper
	mode       Auth
	user, pass string
	token      TokenSource
	scope      Scope
	eager      bool // Basic before any challenge

	mu      sync.Mutex
	learned string            // "basic" or "digest": what the server asked for, sent up front
	chal    *digest.Challenge // the last Digest challenge, reused with a counted nc
	nc      int               // nonce count sent with chal so far
}

func newAuthTransport(next http.RoundTripper, opts Options, sc Scope, secure bool) *authTransport {
	mode := opts.Auth
	return &authTransport{
		next: next, mode: mode, user: opts.Username, pass: opts.Password, token: opts.Token, scope: sc,
		eager: mode == AuthBasic || mode == AuthAuto && secure,
	}
}

func (t *authTransport) hasCredentials() bool { return t.user != "" || t.pass != "" || t.token != nil }

// RoundTrip sends req with credentials when its host is in scope and
// retries once after a 401 when the challenge allows different ones.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	first := req.Clone(req.Context())
	first.Header.Del("Authorization")
	if !t.scope.Allows(req.URL) || !t.hasCredentials() {
		return t.next.RoundTrip(first)
	}
	sent, err := t.authorize(first)
	if err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(first)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	retry, err := t.answer(req.Context(), resp, sent)
	if err != nil {
		discard(resp)
		return nil, err
	}
	if !retry || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, nil
	}
	discard(resp)
	second := req.Clone(req.Context())
	if req.GetBody != nil {
		if second.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	if _, err := t.authorize(second); err != nil {
		return nil, err
	}
	resp, err = t.next.RoundTrip(second)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && t.mode != AuthBearer {
		// No third try; keep a fresh challenge for the next request.
		_, _ = t.answer(req.Context(), resp, "")
	}
	return resp, err
}

// authorize sets the Authorization header of r and returns what it sent
// ("" nothing, "basic", "digest NONCE" or "bearer TOKEN") for answer.
func (t *authTransport) authorize(r *http.Request) (string, error) {
	if t.mode == AuthBearer {
		tok, err := t.bearer(r.Context(), "")
		if err != nil {
			return "", err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		return "bearer " + tok, nil
	}
	t.mu.Lock()
	chal, learned := t.chal, t.learned
	if chal != nil {
		t.nc++
	}
	nc := t.nc
	t.mu.Unlock()
	switch {
	case chal != nil:
		cred, err := digest.Digest(chal, digest.Options{
			Method: r.Method, URI: r.URL.RequestURI(), GetBody: r.GetBody, Count: nc,
			Username: t.user, Password: t.pass,
		})
		if err != nil {
			return "", fmt.Errorf("digest: %w", err)
		}
		r.Header.Set("Authorization", cred.String())
		return "digest " + chal.Nonce, nil
	case learned == "basic" || t.eager:
		r.SetBasicAuth(t.user, t.pass)
		return "basic", nil
	}
	return "", nil
}

// bearer asks the token source for the token to send; refused is the one
// a 401 just answered, or "".
func (t *authTransport) bearer(ctx context.Context, refused string) (string, error) {
	if t.token == nil {
		return "", fmt.Errorf("bearer authentication without a token source: %w", ErrBadArgument)
	}
	tok, err := t.token.Token(ctx, refused)
	if err != nil {
		return "", fmt.Errorf("bearer token: %w", err)
	}
	if tok == "" {
		return "", fmt.Errorf("bearer token: empty: %w", ErrUnauthorized)
	}
	return tok, nil
}

// answer learns from a 401 what to send from now on and tells whether a
// second try would carry different credentials than sent. An error means
// the server offers nothing the mode may answer.
func (t *authTransport) answer(ctx context.Context, resp *http.Response, sent string) (bool, error) {
	switch t.mode {
	case AuthBasic:
		return false, nil
	case AuthBearer:
		refused := strings.TrimPrefix(sent, "bearer ")
		tok, err := t.bearer(ctx, refused)
		if err != nil {
			return false, err
		}
		return tok != refused, nil
	}
	chals := challengesOf(resp.Header)
	if len(chals) == 0 {
		return false, nil // a plain refusal: the 401 stands
	}
	best, ok := strongest(chals, t.mode == AuthAuto)
	if !ok {
		return false, fmt.Errorf("%s: %w", offered(chals, t.mode), ErrUnauthorized)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if best == nil {
		t.learned, t.chal = "basic", nil
		return sent != "basic", nil
	}
	t.learned, t.chal, t.nc = "digest", best, 0
	return best.Stale || sent != "digest "+best.Nonce, nil
}

// digestRank orders the Digest algorithms this client answers, weakest
// first; the -sess variants are not offered by the servers vdird meets.
var digestRank = []string{"MD5", "SHA-256", "SHA-512-256"}

// strongest picks the challenge to answer: the Digest challenge with the
// strongest algorithm and qop "auth" (or none, RFC 2069), else Basic when
// allowed (returned as nil, true).
func strongest(chals []challenge, basicOK bool) (*digest.Challenge, bool) {
	var best *digest.Challenge
	rank, basic := -1, false
	for _, c := range chals {
		switch {
		case strings.EqualFold(c.Scheme, "Basic"):
			basic = true
		case strings.EqualFold(c.Scheme, "Digest"):
			d, r := digestChallenge(c)
			if d != nil && r > rank {
				best, rank = d, r
			}
		}
	}
	if best != nil {
		return best, true
	}
	return nil, basic && basicOK
}

// digestChallenge converts a parsed Digest challenge for the digest
// library, with its algorithm's rank; nil when it cannot be answered.
func digestChallenge(c challenge) (*digest.Challenge, int) {
	alg := strings.ToUpper(c.param("algorithm"))
	rank := slices.Index(digestRank, cmp.Or(alg, "MD5"))
	if rank < 0 || c.param("nonce") == "" {
		return nil, -1
	}
	var qop []string
	for q := range strings.SplitSeq(c.param("qop"), ",") {
		if q = strings.TrimSpace(q); q != "" {
			qop = append(qop, q)
		}
	}
	if len(qop) > 0 && !slices.Contains(qop, "auth") {
		return nil, -1 // auth-int only: the body would have to be hashed
	}
	if len(qop) > 0 {
		qop = []string{"auth"}
	}
	return &digest.Challenge{
		Realm: c.param("realm"), Nonce: c.param("nonce"), Opaque: c.param("opaque"),
		Algorithm: c.param("algorithm"), QOP: qop, Charset: c.param("charset"),
		Stale:    strings.EqualFold(c.param("stale"), "true"),
		Userhash: strings.EqualFold(c.param("userhash"), "true"),
	}, rank
}

// offered describes a 401 that the mode cannot answer.
func offered(chals []challenge, mode Auth) string {
	var names []string
	for _, c := range chals {
		n := c.Scheme
		if strings.EqualFold(n, "Digest") && c.param("algorithm") != "" {
			n += " " + c.param("algorithm")
		}
		names = append(names, n)
	}
	return fmt.Sprintf("the server offers %s, which auth = %q does not answer", strings.Join(names, ", "), mode)
}

// CloseIdleConnections passes on to the wrapped transport.
func (t *authTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// discard drains a little of a refused answer and closes it, so the
// connection can carry the retry.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}
