package config

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestConfig_OAuth2_GoogleByDefaultTokenBesideTheState(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	cfg, err := Parse("c.toml", []byte(`
[[account]]
name = "google"
url = "https://apidata.googleusercontent.com/caldav/v2/"
local_root = "/cal/google"
oauth_client_id = "1234.apps.googleusercontent.com"
oauth_client_secret = "GOCSPX-x"
[[account]]
name = "other"
url = "https://dav.example.org/"
local_root = "/cal/other"
auth = "OAuth2"
oauth_client_id = "cid"
oauth_client_secret_command = "pass show cid"
oauth_auth_url = "http://127.0.0.1:8080/auth"
oauth_token_url = "https://sso.example.org/token"
oauth_scopes = ["caldav", "offline"]
`))
	if err != nil {
		t.Fatal(err)
	}
	g, o := cfg.Accounts[0], cfg.Accounts[1]
	want := OAuth{ClientID: "1234.apps.googleusercontent.com", ClientSecret: "GOCSPX-x",
		AuthURL: "https://accounts.google.com/o/oauth2/auth", TokenURL: "https://oauth2.googleapis.com/token",
		Scopes: []string{"https://www.googleapis.com/auth/calendar"}, TokenFile: "/xdg/state/vdird/oauth-google.json"}
	if g.Auth != "oauth2" || !reflect.DeepEqual(g.OAuth, want) {
		t.Errorf("oauth_client_id alone: auth %q, %+v\nwant %+v", g.Auth, g.OAuth, want)
	}
	if o.Auth != "oauth2" || o.OAuth.ClientSecretCommand != "pass show cid" || o.OAuth.AuthURL != "http://127.0.0.1:8080/auth" ||
		o.OAuth.TokenURL != "https://sso.example.org/token" || !slices.Equal(o.OAuth.Scopes, []string{"caldav", "offline"}) {
		t.Errorf("explicit keys: %+v", o.OAuth)
	}
	cfg, err = Parse("c.toml", []byte("state_path = \"/srv/vdird/state.db\"\n[[account]]\nname = \"g\"\nurl = \"https://x/\"\noauth_client_id = \"c\"\n"))
	if err != nil || cfg.Accounts[0].OAuth.TokenFile != filepath.Join("/srv/vdird", "oauth-g.json") {
		t.Errorf("with state_path: %v, %+v", err, cfg)
	}
}

func TestAccount_OAuthClientSecret_FromTheKeyOrTheCommand(t *testing.T) {
	a := Account{Name: "g", Auth: "oauth2", OAuth: OAuth{ClientSecret: "in-file"}}
	if s, err := a.OAuthClientSecret(context.Background()); s != "in-file" || err != nil {
		t.Errorf("key: %q, %v", s, err)
	}
	a.OAuth = OAuth{ClientSecretCommand: "printf 'from-cmd\\nmore\\n'"}
	if s, err := a.OAuthClientSecret(context.Background()); s != "from-cmd" || err != nil {
		t.Errorf("command: %q, %v", s, err)
	}
	if hint := a.CredentialHint(); !strings.Contains(hint, "vdird authorize g") {
		t.Errorf("hint %q", hint)
	}
}
