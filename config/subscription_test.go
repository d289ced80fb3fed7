package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSubscription_KeysAndDefaults(t *testing.T) {
	home, _ := os.UserHomeDir()
	cfg, err := Parse("c.toml", []byte(`state_path = "/var/lib/v/state.db"
[[subscription]]
name = "holidays"
url = "webcal://example.org/holidays.ics"

[[subscription]]
name = "team"
url_command = "pass show feeds/team"
username = "ana"
password_env = "TEAM_FEED_PW"
interval = "15m"
local_root = "/srv/feeds"
ca_file = "~/ca.pem"
connect_timeout = "5s"
response_timeout = "20s"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 0 || len(cfg.Subscriptions) != 2 {
		t.Fatalf("accounts %d, subscriptions %d: want 0 and 2", len(cfg.Accounts), len(cfg.Subscriptions))
	}
	h, team := cfg.Subscriptions[0], cfg.Subscriptions[1]
	if h.Interval != time.Hour || h.Dir != filepath.Join(home, ".subscriptions", "holidays") ||
		h.StateFile != "/var/lib/v/subscriptions/holidays.json" || h.ConnectTimeout != DefaultConnectTimeout || h.ResponseTimeout != DefaultResponseTimeout {
		t.Errorf("defaults: %+v", h)
	}
	if team.Interval != 15*time.Minute || team.Dir != "/srv/feeds/team" || team.URLCommand != "pass show feeds/team" ||
		team.Username != "ana" || team.PasswordEnv != "TEAM_FEED_PW" || team.CAFile != filepath.Join(home, "ca.pem") ||
		team.ConnectTimeout != 5*time.Second || team.ResponseTimeout != 20*time.Second {
		t.Errorf("keys: %+v", team)
	}
}

func TestSubscription_ErrorsNameTheLine(t *testing.T) {
	acct := "[[account]]\nurl = \"https://dav/\"\nlocal_root = \"/cal\"\n"
	for name, tc := range map[string]struct {
		text string
		line int
		want string
	}{
		"unknown key":        {"[[subscription]]\nname = \"h\"\nurl = \"https://x/h.ics\"\ncolour = \"red\"\n", 4, `unknown key "subscription.colour"`},
		"no name":            {"[[subscription]]\nurl = \"https://x/h.ics\"\n", 2, "name is required"},
		"bad scheme":         {"[[subscription]]\nname = \"h\"\nurl = \"ftp://x/h.ics\"\n", 3, "webcal://"},
		"url and command":    {"[[subscription]]\nname = \"h\"\nurl = \"https://x/h.ics\"\nurl_command = \"echo\"\n", 3, "exactly one of url and url_command"},
		"neither url":        {"[[subscription]]\nname = \"h\"\n", 1, "exactly one of url and url_command"},
		"interval too low":   {"[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\ninterval = \"1m\"\n", 4, "at least 5m0s"},
		"plain password":     {"[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\npassword = \"hunter2\"\n", 4, "plain password"},
		"two sources":        {"[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\npassword_env = \"A\"\npassword_command = \"b\"\n", 5, "only one of"},
		"name twice":         {"[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\n[[subscription]]\nname = \"h\"\nurl = \"https://y/\"\n", 5, "used twice"},
		"in an account root": {acct + "[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\nlocal_root = \"/cal\"\n", 7, "synced to the server"},
		"holds an account":   {acct + "[[subscription]]\nname = \"cal\"\nurl = \"https://x/\"\nlocal_root = \"/\"\n", 7, "local_root /cal"},
		"relative root":      {"[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\nlocal_root = \"feeds\"\n", 4, "absolute"},
		"pin and insecure":   {"[[subscription]]\nname = \"h\"\nurl = \"https://x/\"\ninsecure_skip_verify = true\ntls_fingerprint = \"" + strings.Repeat("ab", 32) + "\"\n", 5, "set only one"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want Error", err)
			}
			if ce.Line != tc.line || !strings.Contains(ce.Error(), tc.want) {
				t.Fatalf("got %q (line %d), want line %d containing %q", ce.Error(), ce.Line, tc.line, tc.want)
			}
			if strings.Contains(ce.Error(), "hunter2") {
				t.Fatal("password leaked into the error")
			}
		})
	}
}

func TestSubscription_PasswordAndURLCommand(t *testing.T) {
	t.Setenv("VDIRD_TEST_FEED_PW", "feed-pw")
	s := Subscription{Name: "h", PasswordEnv: "VDIRD_TEST_FEED_PW", URLCommand: "printf 'webcal://example.org/secret-123.ics\\nignored\\n'"}
	if pw, err := s.Password(); err != nil || pw != "feed-pw" {
		t.Fatalf("password: %q %v", pw, err)
	}
	if u, err := s.FeedURL(context.Background()); err != nil || u != "webcal://example.org/secret-123.ics" {
		t.Fatalf("url_command: %q %v", u, err)
	}
	s.URLCommand = "echo not-a-url-secret-456"
	_, err := s.FeedURL(context.Background())
	if err == nil || strings.Contains(err.Error(), "secret-456") || !strings.Contains(err.Error(), "subscription h: url_command") {
		t.Fatalf("a command printing no URL: %v; want an error naming the key, without the output", err)
	}
	s.URLCommand = "exit 3"
	if _, err := s.FeedURL(context.Background()); err == nil || !strings.Contains(err.Error(), "url_command failed") {
		t.Fatalf("a failing command: %v", err)
	}
	s = Subscription{Name: "h", URL: "https://example.org/h.ics", PasswordFile: filepath.Join(t.TempDir(), "missing")}
	if _, err := s.Password(); err == nil || !strings.Contains(err.Error(), "subscription h: password_file") {
		t.Fatalf("missing password file: %v", err)
	}
}

// TestSubscription_ExampleBlockParses uncomments the [[subscription]]
// section of config.example.toml (its key lines, not the prose) and
// parses it with the example's account.
func TestSubscription_ExampleBlockParses(t *testing.T) {
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "# [[subscription]]\n")
	if i < 0 {
		t.Fatal("config.example.toml has no [[subscription]] section")
	}
	key := regexp.MustCompile(`(?m)^# ((\[\[subscription\]\])|([a-z_]+ = .*))$`)
	block := key.ReplaceAllString(text[i:], "$1")
	cfg, err := Parse("example", []byte(text[:i]+block))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Subscriptions[0]
	if s.Name != "holidays" || s.URL != "webcal://www.gov.uk/bank-holidays/england-and-wales.ics" || s.Interval != time.Hour ||
		s.Username != "alice" || s.TLSFingerprint == nil || s.ResponseTimeout != 2*time.Minute || filepath.Base(s.LocalRoot) != ".subscriptions" {
		t.Fatalf("%+v", s)
	}
}
