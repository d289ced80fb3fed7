package config

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Defaults and bounds of a subscription's keys.
const (
	DefaultSubscriptionInterval = time.Hour
	// MinSubscriptionInterval keeps a daemon from asking a feed's server
	// more often than its owner would welcome.
	MinSubscriptionInterval = 5 * time.Minute
)

// DefaultSubscriptionRoot is where a subscription's folder goes without
// local_root: a root of its own, apart from the accounts' roots (which
// are synced to a server), that khal can list as read-only.
const DefaultSubscriptionRoot = "~/.subscriptions"

// Subscription is one read-only iCalendar feed (webcal) kept in a folder
// of its own, one file per item.
type Subscription struct {
	Name string
	// URL is the feed as configured: https://, http://, or webcal:// and
	// webcals:// for https://. Empty when URLCommand gives it.
	URL string
	// URLCommand prints the URL of a feed whose address is its secret;
	// it is run for every fetch and its output is never logged.
	URLCommand string

	Username        string
	PasswordCommand string
	PasswordFile    string
	PasswordEnv     string

	Interval  time.Duration // how often the daemon fetches it
	LocalRoot string
	Dir       string // LocalRoot/Name: the folder kept equal to the feed
	// StateFile holds what the last fetch saw:
	// subscriptions/NAME.json beside the state file.
	StateFile string

	CAFile             string
	TLSFingerprint     []byte
	InsecureSkipVerify bool
	ConnectTimeout     time.Duration
	ResponseTimeout    time.Duration
}

// fileSubscriptions is the part of the file's layout that holds the
// [[subscription]] tables.
type fileSubscriptions struct {
	Subscriptions []fileSubscription `toml:"subscription"`
}

type fileSubscription struct {
	Name               string `toml:"name"`
	URL                string `toml:"url"`
	URLCommand         string `toml:"url_command"`
	Username           string `toml:"username"`
	Password           string `toml:"password"`
	PasswordCommand    string `toml:"password_command"`
	PasswordFile       string `toml:"password_file"`
	PasswordEnv        string `toml:"password_env"`
	Interval           string `toml:"interval"`
	LocalRoot          string `toml:"local_root"`
	CAFile             string `toml:"ca_file"`
	TLSFingerprint     string `toml:"tls_fingerprint"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
	ConnectTimeout     string `toml:"connect_timeout"`
	ResponseTimeout    string `toml:"response_timeout"`
}

// subscriptions reads the [[subscription]] tables into c, after the
// accounts: a subscription's folder may not lie in an account's root,
// where the account would take it for one of its calendars.
func (p parser) subscriptions(fs []fileSubscription, c *Config) error {
	for i, fs := range fs {
		at := func(key string) []string { return []string{"subscription", key, fmt.Sprint(i)} }
		s, err := p.subscription(i, fs)
		if err != nil {
			return err
		}
		for _, o := range c.Subscriptions {
			if o.Name == s.Name {
				return p.bad(at("name"), "subscription name %q used twice", s.Name)
			}
			if nested(o.Dir, s.Dir) {
				return p.bad(at("local_root"), "subscriptions %q and %q have nested folders %s and %s", o.Name, s.Name, o.Dir, s.Dir)
			}
		}
		for _, a := range c.Accounts {
			if nested(a.LocalRoot, s.Dir) {
				return p.bad(at("local_root"), "subscription %q: its folder %s is in account %q's local_root %s, whose folders are synced to the server: give the subscription a local_root of its own", s.Name, s.Dir, a.Name, a.LocalRoot)
			}
		}
		c.Subscriptions = append(c.Subscriptions, s)
	}
	return nil
}

// nested tells whether one of two clean absolute paths is the other or
// lies inside it.
func nested(a, b string) bool {
	inside := func(x, y string) bool { return x == y || strings.HasPrefix(y, strings.TrimSuffix(x, "/")+"/") }
	return inside(a, b) || inside(b, a)
}

// subscription reads the i-th [[subscription]] table.
func (p parser) subscription(i int, fs fileSubscription) (Subscription, error) {
	at := func(key string) []string { return []string{"subscription", key, fmt.Sprint(i)} }
	s := Subscription{Name: fs.Name, URL: fs.URL, URLCommand: fs.URLCommand, Username: fs.Username,
		PasswordCommand: fs.PasswordCommand, PasswordFile: expandHome(fs.PasswordFile), PasswordEnv: fs.PasswordEnv,
		LocalRoot: expandHome(cmp.Or(fs.LocalRoot, DefaultSubscriptionRoot)), CAFile: expandHome(fs.CAFile),
		InsecureSkipVerify: fs.InsecureSkipVerify}
	switch {
	case s.Name == "":
		return s, p.bad(at("url"), "subscription %d: name is required (it names the folder)", i+1)
	case !validName.MatchString(s.Name):
		return s, p.bad(at("name"), "subscription name %q: use letters, digits, '-', '_' or '.'", s.Name)
	case fs.Password != "":
		return s, p.bad(at("password"), "a plain password in the config is not supported: use password_command, password_file or password_env")
	case (s.URL == "") == (s.URLCommand == ""):
		return s, p.bad(at("url"), "subscription %q: set exactly one of url and url_command", s.Name)
	case s.URL != "" && !FeedScheme(s.URL):
		return s, p.bad(at("url"), "subscription %q: url %q must start with https://, http://, webcal:// or webcals://", s.Name, s.URL)
	case countSet(s.PasswordCommand, s.PasswordFile, s.PasswordEnv) > 1:
		return s, p.bad(at("password_command"), "subscription %q: set only one of password_command, password_file, password_env", s.Name)
	case !filepath.IsAbs(s.LocalRoot):
		return s, p.bad(at("local_root"), "subscription %q: local_root %q must be an absolute path (or start with ~/)", s.Name, fs.LocalRoot)
	case s.CAFile != "" && !filepath.IsAbs(s.CAFile):
		return s, p.bad(at("ca_file"), "subscription %q: ca_file %q must be an absolute path (or start with ~/)", s.Name, fs.CAFile)
	}
	s.LocalRoot = filepath.Clean(s.LocalRoot)
	s.Dir = filepath.Join(s.LocalRoot, s.Name)
	s.StateFile = filepath.Join(p.stateDir, "subscriptions", s.Name+".json")
	if fs.TLSFingerprint != "" {
		fp, err := ParseFingerprint(fs.TLSFingerprint)
		if err != nil {
			return s, p.bad(at("tls_fingerprint"), "subscription %q: tls_fingerprint %q: %v", s.Name, fs.TLSFingerprint, err)
		}
		if s.InsecureSkipVerify {
			return s, p.bad(at("tls_fingerprint"), "subscription %q: tls_fingerprint checks the certificate, insecure_skip_verify skips the check: set only one", s.Name)
		}
		s.TLSFingerprint = fp
	}
	var err error
	if s.Interval, err = p.duration("interval", at("interval"), fs.Interval, DefaultSubscriptionInterval, `"1h"`); err != nil {
		return s, err
	}
	if s.Interval < MinSubscriptionInterval {
		return s, p.bad(at("interval"), "subscription %q: interval %q: want at least %v, to spare the feed's server", s.Name, fs.Interval, MinSubscriptionInterval)
	}
	if s.ConnectTimeout, err = p.duration("connect_timeout", at("connect_timeout"), fs.ConnectTimeout, DefaultConnectTimeout, `"30s"`); err != nil {
		return s, err
	}
	s.ResponseTimeout, err = p.duration("response_timeout", at("response_timeout"), fs.ResponseTimeout, DefaultResponseTimeout, `"2m"`)
	return s, err
}

// FeedScheme tells whether raw is a URL a feed may have: https://,
// http://, or webcal:// and webcals://, which mean https://.
func FeedScheme(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "http", "webcal", "webcals":
		return true
	}
	return false
}

// Password returns the feed's password from password_command,
// password_file or password_env ("" when none is configured).
func (s *Subscription) Password() (string, error) {
	return password("subscription "+s.Name, s.PasswordCommand, s.PasswordFile, s.PasswordEnv)
}

// FeedURL returns the URL to fetch: url, or the first line url_command
// prints, which must be a feed URL too. The command's output is a secret
// and appears in no error.
func (s *Subscription) FeedURL(ctx context.Context) (string, error) {
	if s.URLCommand == "" {
		return s.URL, nil
	}
	u, err := runFirstLine(ctx, "subscription "+s.Name, "url_command", s.URLCommand)
	if err != nil {
		return "", err
	}
	u = strings.TrimSpace(u)
	if !FeedScheme(u) {
		return "", fmt.Errorf("subscription %s: url_command printed no https://, http:// or webcal:// URL on its first line", s.Name)
	}
	return u, nil
}
