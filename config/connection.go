package config

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of the network timeouts of an account.
const (
	DefaultConnectTimeout  = 30 * time.Second
	DefaultResponseTimeout = 2 * time.Minute
)

// connection reads the keys that say how an account reaches its server:
// auth and token_command, the TLS files and pin, the timeouts. The oauth_*
// keys of auth = "oauth2" are read by oauth.
func (p parser) connection(i int, fa fileAccount, a *Account) error {
	at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
	a.Auth, a.TokenCommand = strings.ToLower(fa.Auth), fa.TokenCommand
	switch a.Auth {
	case "":
		a.Auth = "auto"
		switch {
		case a.TokenCommand != "":
			a.Auth = "bearer"
		case fa.OAuthClientID != "":
			a.Auth = "oauth2"
		}
	case "auto", "basic", "digest", "bearer", "oauth2":
	default:
		return p.bad(at("auth"), "account %q: auth %q: want auto, basic, digest, bearer or oauth2", a.Name, fa.Auth)
	}
	switch {
	case a.Auth == "bearer" && a.TokenCommand == "":
		return p.bad(at("auth"), "account %q: auth = \"bearer\" needs token_command", a.Name)
	case a.TokenCommand != "" && a.Auth != "bearer":
		return p.bad(at("token_command"), "account %q: token_command goes with auth = \"bearer\", not %q", a.Name, a.Auth)
	case a.TokenCommand != "" && a.passwordSources() > 0:
		return p.bad(at("token_command"), "account %q: token_command replaces the password: drop password_command, password_file and password_env", a.Name)
	}
	a.CAFile, a.CertFile, a.KeyFile = expandHome(fa.CAFile), expandHome(fa.CertFile), expandHome(fa.KeyFile)
	for _, f := range []struct{ key, raw, path string }{
		{"ca_file", fa.CAFile, a.CAFile}, {"cert_file", fa.CertFile, a.CertFile}, {"key_file", fa.KeyFile, a.KeyFile},
	} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			return p.bad(at(f.key), "account %q: %s %q must be an absolute path (or start with ~/)", a.Name, f.key, f.raw)
		}
	}
	if (a.CertFile == "") != (a.KeyFile == "") {
		return p.bad(at("cert_file"), "account %q: cert_file and key_file go together", a.Name)
	}
	if fa.TLSFingerprint != "" {
		fp, err := ParseFingerprint(fa.TLSFingerprint)
		if err != nil {
			return p.bad(at("tls_fingerprint"), "account %q: tls_fingerprint %q: %v", a.Name, fa.TLSFingerprint, err)
		}
		if a.InsecureSkipVerify {
			return p.bad(at("tls_fingerprint"), "account %q: tls_fingerprint checks the certificate, insecure_skip_verify skips the check: set only one", a.Name)
		}
		a.TLSFingerprint = fp
	}
	var err error
	if a.ConnectTimeout, err = p.duration("connect_timeout", at("connect_timeout"), fa.ConnectTimeout, DefaultConnectTimeout, `"30s"`); err != nil {
		return err
	}
	a.ResponseTimeout, err = p.duration("response_timeout", at("response_timeout"), fa.ResponseTimeout, DefaultResponseTimeout, `"2m"`)
	return err
}

func (a *Account) passwordSources() int {
	return countSet(a.PasswordCommand, a.PasswordFile, a.PasswordEnv)
}

// countSet counts the values that are not empty.
func countSet(values ...string) int {
	n := 0
	for _, s := range values {
		if s != "" {
			n++
		}
	}
	return n
}

var errFingerprint = errors.New(`want the SHA-256 of the certificate as 64 hex digits, bare or in colon-separated pairs, optionally after "sha256:"`)

// ParseFingerprint reads a SHA-256 certificate fingerprint: 64 hex digits
// (either case), bare or as 32 colon-separated pairs, optionally after
// "sha256:" or after "SHA256 Fingerprint=" as openssl prints it
// (openssl x509 -noout -fingerprint -sha256).
func ParseFingerprint(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	for _, prefix := range []string{"sha256 fingerprint=", "sha256:"} {
		if len(t) >= len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) {
			t = t[len(prefix):]
			break
		}
	}
	if strings.Contains(t, ":") {
		pairs := strings.Split(t, ":")
		for _, p := range pairs {
			if len(p) != 2 {
				return nil, errFingerprint
			}
		}
		t = strings.Join(pairs, "")
	}
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != 32 {
		return nil, errFingerprint
	}
	return b, nil
}

// Token runs token_command and returns the first line it prints.
func (a *Account) Token(ctx context.Context) (string, error) {
	tok, err := a.run(ctx, "token_command", a.TokenCommand)
	if err == nil && tok == "" {
		err = fmt.Errorf("account %s: token_command printed no token", a.Name)
	}
	return tok, err
}

// CredentialHint says which keys to check when the server refuses the
// credentials.
func (a *Account) CredentialHint() string {
	switch {
	case a.Auth == "oauth2":
		return fmt.Sprintf("run `vdird authorize %s` again, as the Google user whose calendars these are", a.Name)
	case a.TokenCommand != "":
		return "check token_command"
	case a.PasswordCommand != "":
		return "check username and password_command"
	case a.PasswordFile != "":
		return "check username and password_file"
	case a.PasswordEnv != "":
		return "check username and password_env"
	}
	return "no password configured: set password_command, password_file or password_env"
}
