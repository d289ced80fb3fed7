package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/engine/plan"
)

// FuzzParseConfig feeds arbitrary bytes to Parse. Whatever the input:
// no panic; an error is a *Error whose line lies inside the file; a
// config that parses satisfies every rule the daemon relies on (absolute,
// distinct local roots; http(s) URLs; valid names, intervals, guards and
// policies; at most one password source and never a plain password; the
// connection rules of checkConnection); and parsing is deterministic. Seeds: config.example.toml, the cases of
// TestConfig_ErrorsNameTheLine and testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	if ex, err := os.ReadFile("../config.example.toml"); err == nil {
		f.Add(ex)
	}
	for _, s := range []string{
		"[[account]]\nurl = \"https://x/\"\n",
		"interval = \"30s\"\nfrobnicate = 1\n[[account]]\nurl = \"https://x/\"\n",
		"[[account]]\nurl = \"https://x/\"\npassword = \"hunter2\"\n",
		"[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/r\"\n[[account]]\nname = \"b\"\nurl = \"http://y/\"\nlocal_root = \"/r/\"\n",
		"max_delete_fraction = 1.0\nmax_delete_min = 0\nconflict_policy = \"keep-both\"\n[[account]]\nurl = \"https://x/\"\nlocal_root = \"~/c\"\ncalendars = [\"a\", \"b\"]\n",
		"[[account]]\nurl = \"https://u:p@x/\"\npassword_env = \"A\"\npassword_file = \"/f\"\n",
		"[account]\nurl = 1\n",
		"\xff\xfe[[account]]",
		"[[account]]\nurl = \"unix:///run/d.sock\"\ntoken_command = \"t\"\ntls_fingerprint = \"sha256:ab\"\nconnect_timeout = \"3s\"\n",
		"[[account]]\nurl = \"https://x/\"\nauth = \"digest\"\ncert_file = \"~/c\"\nkey_file = \"/k\"\nresponse_timeout = \"1h\"\n",
		"[[subscription]]\nname = \"h\"\nurl = \"webcal://x/h.ics\"\ninterval = \"2h\"\n[[account]]\nurl = \"https://y/\"\nlocal_root = \"/c\"\n",
		"[[account]]\nurl = \"https://x/\"\noauth_client_id = \"c\"\noauth_scopes = [\"s\"]\noauth_token_url = \"http://127.0.0.1:1/t\"\n",
		"keep_versions = \"2w\"\nversions_max_size = \"1GB\"\nstate_path = \"/c/s.db\"\n[[account]]\nurl = \"https://x/\"\nlocal_root = \"/c\"\nkeep_versions = \"0\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *Error: %T %v", err, err)
			}
			if ce.Line < 0 || ce.Line > strings.Count(string(data), "\n")+1 {
				t.Fatalf("error line %d outside a %d-line file: %v", ce.Line, strings.Count(string(data), "\n")+1, err)
			}
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if len(cfg.Accounts) == 0 && len(cfg.Subscriptions) == 0 {
			t.Fatal("config without accounts or subscriptions accepted")
		}
		if cfg.Interval < time.Second || cfg.RescanInterval < time.Second {
			t.Fatalf("intervals %v %v", cfg.Interval, cfg.RescanInterval)
		}
		if cfg.MaxDeleteFraction <= 0 || cfg.MaxDeleteFraction > 1 || cfg.MaxDeleteMin < 0 {
			t.Fatalf("guard %v %d", cfg.MaxDeleteFraction, cfg.MaxDeleteMin)
		}
		validPolicy := func(p plan.Policy) bool {
			_, err := plan.ParsePolicy(string(p))
			return err == nil
		}
		if !validPolicy(cfg.ConflictPolicy) {
			t.Fatalf("policy %q", cfg.ConflictPolicy)
		}
		names, roots := map[string]bool{}, map[string]bool{}
		for _, a := range cfg.Accounts {
			if !validName.MatchString(a.Name) || names[a.Name] {
				t.Fatalf("account name %q invalid or repeated", a.Name)
			}
			names[a.Name] = true
			if !filepath.IsAbs(a.LocalRoot) || filepath.Clean(a.LocalRoot) != a.LocalRoot || roots[a.LocalRoot] {
				t.Fatalf("local root %q not absolute, not clean or shared", a.LocalRoot)
			}
			roots[a.LocalRoot] = true
			if !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "unix:///") {
				t.Fatalf("url %q", a.URL)
			}
			checkConnection(t, a)
			checkVersions(t, cfg, a)
			n := 0
			for _, s := range []string{a.PasswordCommand, a.PasswordFile, a.PasswordEnv} {
				if s != "" {
					n++
				}
			}
			if n > 1 || !validPolicy(a.ConflictPolicy) {
				t.Fatalf("account %+v", a)
			}
		}
		for _, sub := range cfg.Subscriptions {
			checkSubscription(t, sub, cfg.Accounts)
		}
		again, err := Parse("fuzz.toml", data)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

// checkConnection holds the rules of the connection keys for an account
// that parsed.
func checkConnection(t *testing.T, a Account) {
	t.Helper()
	switch {
	case !slices.Contains([]string{"auto", "basic", "digest", "bearer", "oauth2"}, a.Auth),
		(a.Auth == "bearer") != (a.TokenCommand != ""),
		(a.Auth == "oauth2") != (a.OAuth.ClientID != ""),
		a.Auth == "oauth2" && (a.passwordSources() > 0 || len(a.OAuth.Scopes) == 0 || !filepath.IsAbs(a.OAuth.TokenFile) ||
			!endpointURL(a.OAuth.AuthURL) || !endpointURL(a.OAuth.TokenURL)),
		a.TokenCommand != "" && a.passwordSources() > 0,
		(a.CertFile == "") != (a.KeyFile == ""),
		a.TLSFingerprint != nil && (len(a.TLSFingerprint) != 32 || a.InsecureSkipVerify),
		a.ConnectTimeout < time.Second || a.ResponseTimeout < time.Second:
		t.Fatalf("connection keys break a rule: %+v", a)
	}
	for _, f := range []string{a.CAFile, a.CertFile, a.KeyFile} {
		if f != "" && !filepath.IsAbs(f) {
			t.Fatalf("relative TLS file %q", f)
		}
	}
}

// checkSubscription holds the rules of a subscription that parsed.
func checkSubscription(t *testing.T, s Subscription, accounts []Account) {
	t.Helper()
	if !validName.MatchString(s.Name) || (s.URL == "") == (s.URLCommand == "") || s.URL != "" && !FeedScheme(s.URL) ||
		s.Interval < MinSubscriptionInterval || !filepath.IsAbs(s.Dir) || filepath.Base(s.Dir) != s.Name ||
		countSet(s.PasswordCommand, s.PasswordFile, s.PasswordEnv) > 1 {
		t.Fatalf("subscription breaks a rule: %+v", s)
	}
	for _, a := range accounts {
		if nested(a.LocalRoot, s.Dir) {
			t.Fatalf("subscription folder %s nested with account root %s", s.Dir, a.LocalRoot)
		}
	}
}
