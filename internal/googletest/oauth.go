// Package googletest fakes Google for tests, on loopback: its OAuth2
// endpoints (consent with a loopback redirect, code exchange with PKCE,
// refresh, invalid_grant for a revoked grant) and its CalDAV server with
// the shapes Google gives it (see CalDAV). Google itself cannot be reached
// from tests.
package googletest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The client the fake knows. A test configures vdird with these.
const (
	ClientID     = "1234-test.apps.googleusercontent.com"
	ClientSecret = "GOCSPX-test-client-secret"
	Scope        = "https://www.googleapis.com/auth/calendar"
)

// OAuth is the fake authorization server.
type OAuth struct {
	URL      string // the server's root
	AuthURL  string // the consent page: redirects at once, as after a click on "Allow"
	TokenURL string

	// ExpiresIn is the lifetime of the access tokens it issues (default
	// one hour, as Google's).
	ExpiresIn time.Duration
	// Delay holds each refresh answer back, to let a concurrent refresh
	// meet this one.
	Delay time.Duration

	mu      sync.Mutex
	codes   map[string]grant     // authorization code → what it was issued for
	refresh map[string]bool      // refresh token → still valid
	access  map[string]time.Time // access token → expiry

	refreshes atomic.Int32
}

type grant struct{ challenge, redirect string }

// NewOAuth starts the fake; it stops when t ends.
func NewOAuth(t testing.TB) *OAuth {
	o := &OAuth{ExpiresIn: time.Hour, codes: map[string]grant{}, refresh: map[string]bool{}, access: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth", o.consent)
	mux.HandleFunc("POST /token", o.token)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o.URL, o.AuthURL, o.TokenURL = srv.URL, srv.URL+"/auth", srv.URL+"/token"
	return o
}

// Refreshes is how many refresh requests reached the token endpoint.
func (o *OAuth) Refreshes() int { return int(o.refreshes.Load()) }

// Issue grants a token pair as a finished authorization would, with the
// access token expiring after expiresIn.
func (o *OAuth) Issue(expiresIn time.Duration) (access, refresh string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	access, refresh = "ya29.test-"+rand.Text(), "1//test-"+rand.Text()
	o.access[access] = time.Now().Add(expiresIn)
	o.refresh[refresh] = true
	return access, refresh
}

// Revoke ends every grant, as a user removing the app's access or a
// Testing-mode project after 7 days: refreshes answer invalid_grant and
// access tokens are refused.
func (o *OAuth) Revoke() {
	o.mu.Lock()
	defer o.mu.Unlock()
	clear(o.refresh)
	clear(o.access)
}

// Valid tells whether an Authorization header carries a live access token.
func (o *OAuth) Valid(authorization string) bool {
	tok, ok := strings.CutPrefix(authorization, "Bearer ")
	o.mu.Lock()
	defer o.mu.Unlock()
	exp, known := o.access[tok]
	return ok && known && time.Now().Before(exp)
}

// consent checks the request the way Google's consent page does and sends
// the browser back to the loopback redirect with a code and the state.
func (o *OAuth) consent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != ClientID, q.Get("response_type") != "code", q.Get("scope") == "":
		http.Error(w, "invalid_request", http.StatusBadRequest)
		return
	case !strings.HasPrefix(redirect, "http://127.0.0.1:"):
		http.Error(w, "redirect_uri_mismatch", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("access_type") != "offline":
		http.Error(w, "invalid_request: PKCE S256 and offline access expected", http.StatusBadRequest)
		return
	}
	code := "4/test-" + rand.Text()
	o.mu.Lock()
	o.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: redirect}
	o.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}, "scope": {q.Get("scope")}}
	http.Redirect(w, r, redirect+"?"+back.Encode(), http.StatusFound)
}

// token is the token endpoint: the client's secret in the form, a code
// with its PKCE verifier, or a refresh token.
func (o *OAuth) token(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("client_id") != ClientID || r.PostFormValue("client_secret") != ClientSecret {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		o.exchange(w, r)
	case "refresh_token":
		o.refreshes.Add(1)
		time.Sleep(o.Delay)
		o.mu.Lock()
		ok := o.refresh[r.PostFormValue("refresh_token")]
		o.mu.Unlock()
		if !ok {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		o.issue(w, "")
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (o *OAuth) exchange(w http.ResponseWriter, r *http.Request) {
	code := r.PostFormValue("code")
	o.mu.Lock()
	g, ok := o.codes[code]
	delete(o.codes, code)
	o.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if !ok || g.redirect != r.PostFormValue("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
		return
	}
	o.mu.Lock()
	refresh := "1//test-" + rand.Text()
	o.refresh[refresh] = true
	o.mu.Unlock()
	o.issue(w, refresh)
}

// issue answers with a new access token (and refresh, unless ""), as
// Google does: a refresh answer carries no new refresh token.
func (o *OAuth) issue(w http.ResponseWriter, refresh string) {
	access := "ya29.test-" + rand.Text()
	o.mu.Lock()
	o.access[access] = time.Now().Add(o.ExpiresIn)
	o.mu.Unlock()
	body := map[string]any{"access_token": access, "token_type": "Bearer", "scope": Scope,
		"expires_in": int(o.ExpiresIn / time.Second)}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
