package engine

import (
	"context"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/oauth"
)

// OAuthConfig is the OAuth2 client of account a (auth = "oauth2") as
// package oauth takes it, with the client secret read: this runs
// oauth_client_secret_command.
func OAuthConfig(ctx context.Context, a *config.Account) (oauth.Config, error) {
	secret, err := a.OAuthClientSecret(ctx)
	if err != nil {
		return oauth.Config{}, err
	}
	o := a.OAuth
	return oauth.Config{Account: a.Name, ClientID: o.ClientID, ClientSecret: secret,
		AuthURL: o.AuthURL, TokenURL: o.TokenURL, Scopes: o.Scopes, TokenFile: o.TokenFile}, nil
}
