// Package oauth is OAuth2 for a CalDAV account that accepts only bearer
// tokens (Google Calendar): the account's token file, refreshed under a
// file lock so that the daemon and a command line run never refresh at
// once, and the authorization of `vdird authorize` through a loopback
// redirect or an address pasted back. It never logs, and no token ever
// appears in an error it returns.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Config is one account's OAuth2 client and where its token lives.
type Config struct {
	Account      string // the account's name, for messages
	ClientID     string
	ClientSecret string // "" for a client without one
	AuthURL      string
	TokenURL     string
	Scopes       []string
	// TokenFile holds the token as JSON, mode 0600; TokenFile+".lock" is
	// the lock around its refresh.
	TokenFile string
	// HTTPClient carries the requests to the token endpoint; nil: one
	// with the proxy from the environment and a one-minute timeout.
	HTTPClient *http.Client
}

// Errors a Source returns when only `vdird authorize` can help; both are
// worded for the user and name the command.
var (
	ErrNoToken = errors.New("no OAuth2 token") // the token file is missing
	ErrRevoked = errors.New("OAuth2 token revoked or expired")
)

// expiryMargin is how long before its expiry an access token is renewed,
// so that a request never goes out with one about to lapse.
const expiryMargin = time.Minute

// Source gives the account's access token (a davclient.TokenSource). It
// renews the token when it is about to expire or the server refused it,
// under the token file's lock: a second process that waited for the lock
// finds the token the first one wrote and sends no request of its own. It
// is safe for concurrent use.
type Source struct {
	cfg Config

	mu      sync.Mutex // one renewal at a time within the process
	tok     *oauth2.Token
	refused string // a refresh token the endpoint answered invalid_grant: not sent again
}

// NewSource returns the Source of cfg. It reads nothing until asked for a
// token.
func NewSource(cfg Config) *Source { return &Source{cfg: cfg} }

// Token returns an access token that is valid for at least a minute and is
// not refused (the token the server has just answered 401 to, or "").
func (s *Source) Token(ctx context.Context, refused string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if usable(s.tok, refused) {
		return s.tok.AccessToken, nil
	}
	unlock, err := lockFile(ctx, s.cfg.TokenFile+".lock")
	if err != nil {
		return "", fmt.Errorf("account %s: %w", s.cfg.Account, err)
	}
	defer unlock()
	tok, err := s.read()
	if err != nil {
		return "", err
	}
	if !usable(tok, refused) {
		if tok, err = s.refresh(ctx, tok); err != nil {
			return "", err
		}
	}
	s.tok = tok
	return tok.AccessToken, nil
}

// usable tells whether tok can be sent: it holds an access token other
// than refused that is not about to expire.
func usable(tok *oauth2.Token, refused string) bool {
	return tok != nil && tok.AccessToken != "" && tok.AccessToken != refused &&
		(tok.Expiry.IsZero() || time.Until(tok.Expiry) > expiryMargin)
}

// read loads the token file.
func (s *Source) read() (*oauth2.Token, error) {
	data, err := os.ReadFile(s.cfg.TokenFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, s.needAuthorize(ErrNoToken, "run `vdird authorize %s` first (no token at %s)", s.cfg.Account, s.cfg.TokenFile)
	}
	if err != nil {
		return nil, fmt.Errorf("account %s: OAuth2 token: %w", s.cfg.Account, err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(data, &tok); err != nil {
		// The decoder's message may quote the file: say only where it is.
		return nil, s.needAuthorize(ErrNoToken, "the token file %s is damaged: run `vdird authorize %s`", s.cfg.TokenFile, s.cfg.Account)
	}
	return &tok, nil
}

// refresh trades tok's refresh token for a new access token and writes the
// result to the token file.
func (s *Source) refresh(ctx context.Context, tok *oauth2.Token) (*oauth2.Token, error) {
	if tok.RefreshToken == "" || tok.RefreshToken == s.refused {
		// Only `vdird authorize` mends this; the endpoint is asked again
		// once the file holds another grant.
		return nil, s.revoked()
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.client())
	fresh, err := s.cfg.oauth2Config("").TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			s.refused = tok.RefreshToken
			return nil, s.revoked()
		}
		return nil, fmt.Errorf("account %s: renew the OAuth2 token: %w", s.cfg.Account, tokenError(err))
	}
	if err := writeToken(s.cfg.TokenFile, fresh); err != nil {
		return nil, fmt.Errorf("account %s: %w", s.cfg.Account, err)
	}
	return fresh, nil
}

func (s *Source) revoked() error {
	return s.needAuthorize(ErrRevoked, "re-authorise with `vdird authorize %s`: the token was revoked or expired "+
		"(a Testing-mode Google project's tokens last 7 days)", s.cfg.Account)
}

// needAuthorize is an error matching kind whose message is the account's
// name and the advice.
func (s *Source) needAuthorize(kind error, format string, args ...any) error {
	return &AuthorizeError{msg: fmt.Sprintf("account %s: ", s.cfg.Account) + fmt.Sprintf(format, args...), kind: kind}
}

// AuthorizeError is a token only `vdird authorize` can mend (ErrNoToken or
// ErrRevoked). Its message is whole: the account and what to run, so a
// caller shows it in place of the request it stopped.
type AuthorizeError struct {
	msg  string
	kind error
}

func (e *AuthorizeError) Error() string { return e.msg }
func (e *AuthorizeError) Unwrap() error { return e.kind }

// tokenError describes an error from the token endpoint by its status and
// RFC 6749 §5.2 error code and description only: the body it answered
// with is never repeated.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := "an error"
	if re.Response != nil {
		status = re.Response.Status
	}
	msg := "the token endpoint answered " + status
	if re.ErrorCode != "" {
		msg += ": " + re.ErrorCode
	}
	if re.ErrorDescription != "" {
		msg += " (" + re.ErrorDescription + ")"
	}
	return errors.New(msg)
}

func (c Config) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: time.Minute}
}

// oauth2Config is the library's view of c, redirecting to redirect.
func (c Config) oauth2Config(redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: c.Scopes, RedirectURL: redirect,
		// The secret in the form, as Google documents it; the library's
		// probing of both styles would send a refused grant twice.
		Endpoint: oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}
