package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const pinHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestConfig_ConnectionKeys_ParsedWithDefaults(t *testing.T) {
	home, _ := os.UserHomeDir()
	cfg, err := Parse("c.toml", []byte(`
[[account]]
name = "plain"
url = "https://dav.example.org/"
[[account]]
name = "tuned"
url = "unix:///run/radicale/dav.sock/alice/"
local_root = "/cal/tuned"
auth = "Digest"
password_env = "PW"
ca_file = "~/ca.pem"
cert_file = "/etc/vdird/me.pem"
key_file = "/etc/vdird/me.key"
tls_fingerprint = "sha256:`+strings.ToUpper(pinHex)+`"
connect_timeout = "5s"
response_timeout = "10m"
[[account]]
name = "token"
url = "https://dav.example.com/"
local_root = "/cal/token"
token_command = "oauth2-token dav"
`))
	if err != nil {
		t.Fatal(err)
	}
	plain, tuned, token := cfg.Accounts[0], cfg.Accounts[1], cfg.Accounts[2]
	if plain.Auth != "auto" || plain.ConnectTimeout != DefaultConnectTimeout || plain.ResponseTimeout != DefaultResponseTimeout || plain.TLSFingerprint != nil {
		t.Errorf("defaults: %+v", plain)
	}
	if tuned.Auth != "digest" || tuned.CAFile != filepath.Join(home, "ca.pem") || tuned.CertFile != "/etc/vdird/me.pem" ||
		len(tuned.TLSFingerprint) != 32 || tuned.TLSFingerprint[0] != 0x01 || tuned.ConnectTimeout != 5*time.Second || tuned.ResponseTimeout != 10*time.Minute {
		t.Errorf("tuned: %+v", tuned)
	}
	if token.Auth != "bearer" || token.TokenCommand != "oauth2-token dav" {
		t.Errorf("token_command alone must mean bearer: %+v", token)
	}
}

func TestConfig_ConnectionMistakes_NameTheLine(t *testing.T) {
	const head = "[[account]]\nurl = \"https://x/\"\n"
	for name, tc := range map[string]struct {
		text string
		line int
		want string
	}{
		"unknown auth":         {head + "auth = \"ntlm\"\n", 3, "auth \"ntlm\""},
		"bearer without token": {head + "password_env = \"P\"\nauth = \"bearer\"\n", 4, "needs token_command"},
		"token with digest":    {head + "auth = \"digest\"\ntoken_command = \"t\"\n", 4, "goes with auth = \"bearer\""},
		"token and password":   {head + "token_command = \"t\"\npassword_command = \"p\"\n", 3, "replaces the password"},
		"cert without key":     {head + "cert_file = \"/c.pem\"\n", 3, "cert_file and key_file go together"},
		"relative ca_file":     {head + "ca_file = \"ca.pem\"\n", 3, "absolute"},
		"short fingerprint":    {head + "tls_fingerprint = \"AB:CD\"\n", 3, "64 hex digits"},
		"pin and skip":         {head + "insecure_skip_verify = true\ntls_fingerprint = \"" + pinHex + "\"\n", 4, "set only one"},
		"bad timeout":          {head + "connect_timeout = \"soon\"\n", 3, "connect_timeout \"soon\""},
		"sub-second timeout":   {head + "\nresponse_timeout = \"500ms\"\n", 4, "at least 1s"},
		"unix with a host":     {"[[account]]\nurl = \"unix://host/x.sock\"\n", 2, "unix:///"},
		"no client id":         {head + "auth = \"oauth2\"\n", 3, "needs oauth_client_id"},
		"keys without oauth2":  {head + "auth = \"basic\"\noauth_token_url = \"https://t/\"\n", 4, "go with auth = \"oauth2\""},
		"two secrets":          {head + "oauth_client_id = \"c\"\noauth_client_secret = \"s\"\noauth_client_secret_command = \"p\"\n", 5, "only one of"},
		"with a password":      {head + "oauth_client_id = \"c\"\npassword_env = \"P\"\nauth = \"oauth2\"\n", 5, "drop password_command"},
		"with token_command":   {head + "auth = \"oauth2\"\noauth_client_id = \"c\"\ntoken_command = \"t\"\n", 5, "token_command goes with auth = \"bearer\""},
		"plain http endpoint":  {head + "oauth_client_id = \"c\"\noauth_token_url = \"http://sso.example.org/t\"\n", 4, "want an https:// URL"},
		"empty scopes":         {head + "oauth_client_id = \"c\"\noauth_scopes = []\n", 4, "at least one scope"},
		"unknown auth mention": {head + "auth = \"oauth\"\n", 3, "bearer or oauth2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) || ce.Line != tc.line || !strings.Contains(ce.Error(), tc.want) {
				t.Fatalf("got %v, want line %d containing %q", err, tc.line, tc.want)
			}
		})
	}
}

func TestParseFingerprint_AcceptedSpellings(t *testing.T) {
	want, _ := ParseFingerprint(pinHex)
	colons := strings.ToUpper(pinHex[0:2])
	for i := 2; i < 64; i += 2 {
		colons += ":" + strings.ToUpper(pinHex[i:i+2])
	}
	for _, s := range []string{pinHex, strings.ToUpper(pinHex), colons, "sha256:" + colons, "SHA256:" + pinHex,
		"sha256 Fingerprint=" + colons, "  " + colons + "\n"} {
		if got, err := ParseFingerprint(s); err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseFingerprint(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", pinHex[:62], pinHex + "00", "md5:" + pinHex, colons[:len(colons)-3], "A:B" + colons[3:], "sha256:" + strings.ReplaceAll(colons, ":", "-")} {
		if got, err := ParseFingerprint(s); err == nil {
			t.Errorf("ParseFingerprint(%q) = %x, want an error", s, got)
		}
	}
}

func TestAccount_TokenCommand_FirstLineAndEmptyRefused(t *testing.T) {
	a := Account{Name: "a", TokenCommand: "printf 'tok-1\\nrest\\n'"}
	if tok, err := a.Token(context.Background()); err != nil || tok != "tok-1" {
		t.Errorf("Token = %q, %v", tok, err)
	}
	a.TokenCommand = "true"
	if _, err := a.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "token_command printed no token") {
		t.Errorf("empty token: %v", err)
	}
}

func TestAccount_CredentialHint_NamesTheKeyToCheck(t *testing.T) {
	for a, want := range map[*Account]string{
		{TokenCommand: "t"}:    "check token_command",
		{PasswordCommand: "p"}: "check username and password_command",
		{PasswordFile: "/f"}:   "check username and password_file",
		{PasswordEnv: "E"}:     "check username and password_env",
		{}:                     "no password configured: set password_command, password_file or password_env",
	} {
		if got := a.CredentialHint(); got != want {
			t.Errorf("%+v: %q, want %q", *a, got, want)
		}
	}
}
