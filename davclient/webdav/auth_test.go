package webdav

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/icholy/digest"

	"github.com/vdird/vdird/davclient/webdav/transport"
	"github.com/vdird/vdird/internal/davtest"
)

// digestServer is a Digest server written from RFC 7616 for these tests:
// it offers the algorithms in algs (in that order, one field each, plus
// Basic when basic is set), checks every answer and logs each request.
type digestServer struct {
	algs  []string
	basic bool

	mu     sync.Mutex
	nonce  int             // last nonce issued
	stale  map[string]bool // nonces expired by expire
	lastNC map[string]int  // highest nc seen per nonce
	log    []string        // "STATUS WHAT" per request
}

const testRealm = "vdird test"

func newDigestServer(t *testing.T, basic bool, algs ...string) (*digestServer, *httptest.Server) {
	d := &digestServer{algs: algs, basic: basic, stale: map[string]bool{}, lastNC: map[string]int{}}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

// expire marks every nonce issued so far stale.
func (d *digestServer) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := 1; i <= d.nonce; i++ {
		d.stale[fmt.Sprint("nonce-", i)] = true
	}
}

func (d *digestServer) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.log...)
}

func hashOf(alg string) hash.Hash {
	if alg == "SHA-256" {
		return sha256.New()
	}
	return md5.New()
}

func hexHash(alg string, parts ...string) string {
	h := hashOf(alg)
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

func (d *digestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	what, ok, stale := d.check(r)
	if ok {
		d.log = append(d.log, "200 "+what)
		w.WriteHeader(http.StatusOK)
		return
	}
	d.nonce++
	for _, alg := range d.algs {
		f := fmt.Sprintf(`Digest realm="%s", nonce="nonce-%d", qop="auth", algorithm=%s`, testRealm, d.nonce, alg)
		if stale {
			f += ", stale=true"
		}
		w.Header().Add("WWW-Authenticate", f)
	}
	if d.basic {
		w.Header().Add("WWW-Authenticate", `Basic realm="`+testRealm+`"`)
	}
	d.log = append(d.log, "401 "+what)
	w.WriteHeader(http.StatusUnauthorized)
}

// check verifies the Authorization of r: what it was ("none", "basic",
// "digest ALG nc=N"), whether it is right, and whether it failed only for
// a stale nonce.
func (d *digestServer) check(r *http.Request) (what string, ok, stale bool) {
	v := r.Header.Get("Authorization")
	if user, pass, isBasic := r.BasicAuth(); isBasic {
		return "basic", d.basic && user == "alice" && pass == davtest.Password, false
	}
	if v == "" {
		return "none", false, false
	}
	p, err := digest.ParseCredentials(v)
	if err != nil {
		return "garbage", false, false
	}
	alg := cmp.Or(p.Algorithm, "MD5")
	nc := fmt.Sprintf("%08x", p.Nc)
	what = fmt.Sprintf("digest %s nc=%s", alg, nc)
	if p.Nc <= d.lastNC[p.Nonce] {
		return what + " replayed", false, false
	}
	d.lastNC[p.Nonce] = p.Nc
	ha1 := hexHash(alg, p.Username, testRealm, davtest.Password)
	want := hexHash(alg, ha1, p.Nonce, nc, p.Cnonce, p.QOP, hexHash(alg, r.Method, r.URL.RequestURI()))
	if p.Response != want || p.URI != r.URL.RequestURI() || p.Username != "alice" || p.Realm != testRealm {
		return what + " wrong", false, false
	}
	if d.stale[p.Nonce] {
		return what + " stale", false, true
	}
	return what, true, false
}

// authClient is a Client for srv as alice with password pw.
func authClient(t *testing.T, srv *httptest.Server, pw string, mode transport.Auth) *Client {
	t.Helper()
	c, err := New(Options{URL: srv.URL + "/", Username: "alice", Password: pw, Auth: mode, AuthHint: "check password_command"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get sends a GET of href and returns its status (0 and the error on failure).
func get(c *Client, href string) (int, error) {
	resp, err := c.Send(bg(), Request{Method: http.MethodGet, Href: href})
	if err != nil {
		return 0, err
	}
	Discard(resp)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, c.StatusError(http.MethodGet, resp)
	}
	return resp.StatusCode, nil
}

func TestDigest_StrongestOfferedAndNonceReusedWithCountedNC(t *testing.T) {
	d, srv := newDigestServer(t, true, "MD5", "SHA-256")
	c := remote(t, srv, Options{Username: "alice", Password: davtest.Password})
	for i := 0; i < 3; i++ {
		if st, err := get(c, "/cal/"); err != nil {
			t.Fatalf("GET %d: %d %v", i, st, err)
		}
	}
	// Plain http: nothing goes out before the challenge; Digest wins over
	// Basic, SHA-256 over MD5; the nonce is then reused with nc counting up.
	want := []string{"401 none", "200 digest SHA-256 nc=00000001", "200 digest SHA-256 nc=00000002", "200 digest SHA-256 nc=00000003"}
	if got := d.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests %q,\nwant %q", got, want)
	}
}

func TestDigest_StaleNonce_RetriedOnceWithTheNewOne(t *testing.T) {
	d, srv := newDigestServer(t, false, "MD5")
	c := authClient(t, srv, davtest.Password, transport.AuthDigest)
	if _, err := get(c, "/a"); err != nil {
		t.Fatal(err)
	}
	d.expire()
	if _, err := get(c, "/b"); err != nil {
		t.Fatalf("after the nonce went stale: %v", err)
	}
	want := []string{"401 none", "200 digest MD5 nc=00000001", "401 digest MD5 nc=00000002 stale", "200 digest MD5 nc=00000001"}
	if got := d.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests %q,\nwant %q", got, want)
	}
}

func TestDigest_WrongPassword_OneRetryAndAnErrorNamingUserURLAndHint(t *testing.T) {
	d, srv := newDigestServer(t, false, "SHA-256")
	c := authClient(t, srv, "wrong", transport.AuthAuto)
	st, err := get(c, "/cal/")
	var e *Error
	if st != http.StatusUnauthorized || !errors.Is(err, ErrUnauthorized) || !errors.As(err, &e) {
		t.Fatalf("GET: %d %v, want a 401 *Error", st, err)
	}
	msg := err.Error()
	for _, part := range []string{"authentication failed for alice", srv.URL + "/cal/", "check password_command", "401"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not contain %q", msg, part)
		}
	}
	if got := d.requests(); len(got) != 2 {
		t.Errorf("requests %q, want the Basic first try and one Digest answer", got)
	}
}

func TestAuth_DigestModeAgainstBasicOnlyServer_RefusedWithoutSendingThePassword(t *testing.T) {
	d, srv := newDigestServer(t, true)
	c := authClient(t, srv, davtest.Password, transport.AuthDigest)
	_, err := get(c, "/cal/")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), `offers Basic, which auth = "digest" does not answer`) {
		t.Errorf("err = %v", err)
	}
	if got := d.requests(); fmt.Sprint(got) != "[401 none]" {
		t.Errorf("requests %q, want one without credentials", got)
	}
}

func TestAuth_BasicMode_SentBeforeAnyChallengeAndNotRetried(t *testing.T) {
	d, srv := newDigestServer(t, true)
	c := authClient(t, srv, davtest.Password, transport.AuthBasic)
	if _, err := get(c, "/a"); err != nil {
		t.Fatal(err)
	}
	wrong := authClient(t, srv, "wrong", transport.AuthBasic)
	if _, err := get(wrong, "/a"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong password: %v", err)
	}
	if got := d.requests(); fmt.Sprint(got) != "[200 basic 401 basic]" {
		t.Errorf("requests %q", got)
	}
}

// remote is a Client for "http://dav.example.test/" whose connections all
// go to srv: a plain-http server that is not on this machine.
func remote(t *testing.T, srv *httptest.Server, opts Options) *Client {
	t.Helper()
	addr := srv.Listener.Addr().String()
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	opts.URL = "http://dav.example.test/"
	opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: dial}}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuth_AutoOverPlainHTTP_WaitsForTheChallengeThenSendsBasicUpFront(t *testing.T) {
	d, srv := newDigestServer(t, true)
	c := remote(t, srv, Options{Username: "alice", Password: davtest.Password})
	for _, h := range []string{"/a", "/b"} {
		if _, err := get(c, h); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.requests(); fmt.Sprint(got) != "[401 none 200 basic 200 basic]" {
		t.Errorf("requests %q", got)
	}
}

func TestAuth_Bearer_TokenAskedOnceAndAgainAfterA401(t *testing.T) {
	var mu sync.Mutex
	tokens, asked := []string{"old", "new"}, 0
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer new" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="x", error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	token := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		return tokens[min(asked, len(tokens))-1], nil
	}
	c, err := New(Options{URL: srv.URL, Auth: transport.AuthBearer, Token: transport.ReuseToken(token), AuthHint: "check token_command"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"/a", "/b"} {
		if _, err := get(c, h); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(seen) != "[Bearer old Bearer new Bearer new]" || asked != 2 {
		t.Errorf("sent %q after %d token runs", seen, asked)
	}
	// A token the server keeps refusing: one new token, then the error.
	tokens = []string{"bad"}
	c, _ = New(Options{URL: srv.URL, Auth: transport.AuthBearer, Token: transport.ReuseToken(token), AuthHint: "check token_command"})
	seen, asked = nil, 0
	if _, err := get(c, "/a"); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "check token_command") {
		t.Errorf("refused token: %v", err)
	}
	if len(seen) != 1 || asked != 2 {
		t.Errorf("refused token: sent %q after %d token runs; want one request (the same token again is not retried)", seen, asked)
	}
}
