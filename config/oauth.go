package config

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"

	"golang.org/x/oauth2/endpoints"
)

// The defaults of an account with auth = "oauth2": Google's endpoints and
// the scope its CalDAV server asks for.
var (
	DefaultOAuthAuthURL  = endpoints.Google.AuthURL
	DefaultOAuthTokenURL = endpoints.Google.TokenURL
	DefaultOAuthScopes   = []string{"https://www.googleapis.com/auth/calendar"}
)

// OAuth is the OAuth2 client of an account with auth = "oauth2": the
// user's own client (for Google, a "Desktop app" client of their Cloud
// project), the endpoints and scopes, and the account's token file.
type OAuth struct {
	ClientID            string
	ClientSecret        string // in the file: Google does not treat a Desktop app's secret as one
	ClientSecretCommand string // prints the secret on its first line, instead
	AuthURL             string
	TokenURL            string
	Scopes              []string
	TokenFile           string // oauth-NAME.json beside the state file, written by `vdird authorize`
}

// oauth reads the oauth_* keys of the i-th account into a.OAuth; its
// token file goes into stateDir. The keys belong to auth = "oauth2", which
// oauth_client_id alone implies.
func (p parser) oauth(i int, fa fileAccount, a *Account, stateDir string) error {
	at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
	set := fa.OAuthClientID != "" || fa.OAuthClientSecret != "" || fa.OAuthClientSecretCommand != "" ||
		fa.OAuthAuthURL != "" || fa.OAuthTokenURL != "" || fa.OAuthScopes != nil
	switch {
	case a.Auth != "oauth2" && set:
		return p.bad(at(firstOAuthKey(fa)), "account %q: the oauth_* keys go with auth = \"oauth2\", not %q", a.Name, a.Auth)
	case a.Auth != "oauth2":
		return nil
	case fa.OAuthClientID == "":
		return p.bad(at("auth"), "account %q: auth = \"oauth2\" needs oauth_client_id, the client ID of your own OAuth client (see config.example.toml)", a.Name)
	case fa.OAuthClientSecret != "" && fa.OAuthClientSecretCommand != "":
		return p.bad(at("oauth_client_secret_command"), "account %q: set only one of oauth_client_secret and oauth_client_secret_command", a.Name)
	case a.passwordSources() > 0 || a.TokenCommand != "":
		return p.bad(at("auth"), "account %q: auth = \"oauth2\" gets its tokens from `vdird authorize %s`: drop password_command, password_file, password_env and token_command", a.Name, a.Name)
	case fa.OAuthScopes != nil && (len(fa.OAuthScopes) == 0 || slices.Contains(fa.OAuthScopes, "")):
		return p.bad(at("oauth_scopes"), "account %q: oauth_scopes: want at least one scope, none empty", a.Name)
	}
	o := OAuth{ClientID: fa.OAuthClientID, ClientSecret: fa.OAuthClientSecret, ClientSecretCommand: fa.OAuthClientSecretCommand,
		AuthURL: DefaultOAuthAuthURL, TokenURL: DefaultOAuthTokenURL, Scopes: slices.Clone(DefaultOAuthScopes),
		TokenFile: filepath.Join(stateDir, "oauth-"+a.Name+".json")}
	for _, u := range []struct {
		key, raw string
		to       *string
	}{{"oauth_auth_url", fa.OAuthAuthURL, &o.AuthURL}, {"oauth_token_url", fa.OAuthTokenURL, &o.TokenURL}} {
		if u.raw == "" {
			continue
		}
		if !endpointURL(u.raw) {
			return p.bad(at(u.key), "account %q: %s %q: want an https:// URL (http:// only to this machine)", a.Name, u.key, u.raw)
		}
		*u.to = u.raw
	}
	if fa.OAuthScopes != nil {
		o.Scopes = slices.Clone(fa.OAuthScopes)
	}
	a.OAuth = o
	return nil
}

// firstOAuthKey names an oauth_* key that is set, for the error's line.
func firstOAuthKey(fa fileAccount) string {
	for _, k := range []struct{ key, v string }{{"oauth_client_id", fa.OAuthClientID}, {"oauth_client_secret", fa.OAuthClientSecret},
		{"oauth_client_secret_command", fa.OAuthClientSecretCommand}, {"oauth_auth_url", fa.OAuthAuthURL}, {"oauth_token_url", fa.OAuthTokenURL}} {
		if k.v != "" {
			return k.key
		}
	}
	return "oauth_scopes"
}

// endpointURL tells whether raw may be an OAuth2 endpoint: https, or http
// to a loopback address.
func endpointURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback())
}

// OAuthClientSecret returns the OAuth2 client's secret: oauth_client_secret,
// or the first line oauth_client_secret_command prints ("" when neither is
// set: a client without a secret).
func (a *Account) OAuthClientSecret(ctx context.Context) (string, error) {
	if a.OAuth.ClientSecretCommand != "" {
		return a.run(ctx, "oauth_client_secret_command", a.OAuth.ClientSecretCommand)
	}
	return a.OAuth.ClientSecret, nil
}
