// Package config reads vdird's TOML configuration: accounts, password
// sources, XDG default paths and the defaults of every key. A mistake is an
// *Error naming the file and line.
package config

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/window"
)

// Defaults of the timing keys; the mass-delete guard's defaults are the
// planner's (plan.DefaultMaxDeleteFraction, plan.DefaultMaxDeleteMin).
const (
	DefaultInterval       = 60 * time.Second
	DefaultRescanInterval = 15 * time.Minute
)

// Config is the whole vdird configuration (config.example.toml documents every key).
type Config struct {
	Path string // file it was loaded from ("" for built-in)

	StatePath         string
	ConflictPolicy    plan.Policy
	Interval          time.Duration
	RescanInterval    time.Duration
	MaxDeleteFraction float64
	MaxDeleteMin      int
	LogLevel          string
	Accounts          []Account
	Subscriptions     []Subscription

	// The versions store (keep_versions, versions_max_size).
	VersionsDir     string        // beside the state file
	KeepVersions    time.Duration // 0: no versions are kept
	VersionsMaxSize int64         // bytes, the whole store; 0: no cap
}

// Account is one CalDAV / CardDAV account and the local roots its
// calendars and address books sync into.
type Account struct {
	Name               string
	URL                string
	Username           string
	PasswordCommand    string
	PasswordFile       string
	PasswordEnv        string
	LocalRoot          string
	Calendars          []string // empty = every calendar discovered
	ConflictPolicy     plan.Policy
	InsecureSkipVerify bool
	// Merge: an item changed on both sides is merged property by property
	// (merge, default true); ConflictPolicy then decides only the
	// properties both sides changed.
	Merge bool

	Auth            string // "auto" (default), "basic", "digest", "bearer" or "oauth2"
	TokenCommand    string // prints the bearer token (Auth "bearer")
	CAFile          string // PEM bundle replacing the system CAs for this account
	CertFile        string // PEM client certificate, with KeyFile
	KeyFile         string
	TLSFingerprint  []byte        // SHA-256 of the server's certificate: pinned
	ConnectTimeout  time.Duration // TCP connect and TLS handshake
	ResponseTimeout time.Duration // longest silence of the server: before its answer, and within it

	OAuth OAuth // auth = "oauth2" only: the OAuth2 client and the token file

	// Sync is what the account syncs (the sync key): SyncCalendars into
	// LocalRoot, SyncAddressBooks into ContactsRoot, or both; nil is
	// calendars only.
	Sync         []string
	ContactsRoot string   // one folder per address book (khard's convention)
	AddressBooks []string // empty = every address book discovered
	VCardVersion string   // "3.0" or "4.0": the version asked of servers that convert cards

	// The versions store (keep_versions, versions_max_size).
	KeepVersions    time.Duration // the global keep_versions unless set
	VersionsMaxSize int64         // bytes of this account's versions; 0: only the global cap

	// CreateCollections: a new folder under LocalRoot or ContactsRoot is
	// made into a collection on the server (create_collections, default
	// true).
	CreateCollections bool

	// What of its calendars the account syncs (window, components), and
	// per calendar from its [account.calendar.NAME] table (ScopeOf).
	Scope          window.Scope
	CalendarScopes []CalendarScope

	// DeleteCollections (delete_collections) is what becomes of the folder
	// of a collection deleted on the server: DeleteNever or DeleteEmpty.
	DeleteCollections string
}

// The values of delete_collections.
const (
	// DeleteNever keeps the folder of a collection gone from the server,
	// reported at every pass (the default).
	DeleteNever = "never"
	// DeleteEmpty removes it when it holds no item, only metadata files.
	DeleteEmpty = "empty"
)

// fileConfig mirrors the TOML layout; durations are strings so errors can name them.
type fileConfig struct {
	StatePath         string        `toml:"state_path"`
	ConflictPolicy    string        `toml:"conflict_policy"`
	Interval          string        `toml:"interval"`
	RescanInterval    string        `toml:"rescan_interval"`
	MaxDeleteFraction *float64      `toml:"max_delete_fraction"`
	MaxDeleteMin      *int          `toml:"max_delete_min"`
	LogLevel          string        `toml:"log_level"`
	Accounts          []fileAccount `toml:"account"`
	fileSubscriptions

	KeepVersions    string `toml:"keep_versions"`
	VersionsMaxSize string `toml:"versions_max_size"`
}

type fileAccount struct {
	Name               string   `toml:"name"`
	URL                string   `toml:"url"`
	Username           string   `toml:"username"`
	Password           string   `toml:"password"`
	PasswordCommand    string   `toml:"password_command"`
	PasswordFile       string   `toml:"password_file"`
	PasswordEnv        string   `toml:"password_env"`
	LocalRoot          string   `toml:"local_root"`
	Calendars          []string `toml:"calendars"`
	ConflictPolicy     string   `toml:"conflict_policy"`
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
	Auth               string   `toml:"auth"`
	TokenCommand       string   `toml:"token_command"`
	CAFile             string   `toml:"ca_file"`
	CertFile           string   `toml:"cert_file"`
	KeyFile            string   `toml:"key_file"`
	TLSFingerprint     string   `toml:"tls_fingerprint"`
	ConnectTimeout     string   `toml:"connect_timeout"`
	ResponseTimeout    string   `toml:"response_timeout"`

	Sync         []string `toml:"sync"`
	ContactsRoot string   `toml:"contacts_root"`
	AddressBooks []string `toml:"addressbooks"`
	VCardVersion string   `toml:"vcard_version"`

	OAuthClientID            string   `toml:"oauth_client_id"`
	OAuthClientSecret        string   `toml:"oauth_client_secret"`
	OAuthClientSecretCommand string   `toml:"oauth_client_secret_command"`
	OAuthAuthURL             string   `toml:"oauth_auth_url"`
	OAuthTokenURL            string   `toml:"oauth_token_url"`
	OAuthScopes              []string `toml:"oauth_scopes"`
	KeepVersions             string   `toml:"keep_versions"`
	VersionsMaxSize          string   `toml:"versions_max_size"`
	Merge                    *bool    `toml:"merge"`

	CreateCollections *bool `toml:"create_collections"`
	fileScope
	Calendar          map[string]fileScope `toml:"calendar"`
	DeleteCollections string               `toml:"delete_collections"`
}

// Error is a configuration mistake, located by file and line where possible.
type Error struct {
	File string
	Line int // 0 = unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// DefaultPath is $XDG_CONFIG_HOME/vdird/config.toml.
func DefaultPath() string {
	return filepath.Join(xdgDir("XDG_CONFIG_HOME", ".config"), "vdird", "config.toml")
}

// DefaultStatePath is $XDG_STATE_HOME/vdird/state.db.
func DefaultStatePath() string {
	return filepath.Join(xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state")), "vdird", "state.db")
}

// DefaultVersionsDir is $XDG_STATE_HOME/vdird/versions, beside the default
// state file.
func DefaultVersionsDir() string {
	return filepath.Join(filepath.Dir(DefaultStatePath()), "versions")
}

func xdgDir(env, fallback string) string {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, fallback)
}

// Load reads and validates a TOML config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse validates data as read from path. Unknown keys and bad values are
// errors naming the line.
func Parse(path string, data []byte) (*Config, error) {
	var fc fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&fc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: path, Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &Error{File: path, Msg: err.Error()}
	}
	p := parser{path: path, loc: newLocator(data)}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, &Error{File: path, Line: p.loc.line(k), Msg: fmt.Sprintf("unknown key %q", k.String())}
	}
	c, err := p.global(fc)
	if err != nil {
		return nil, err
	}
	p.stateDir = filepath.Dir(c.StatePath)
	if len(fc.Accounts) == 0 && len(fc.Subscriptions) == 0 {
		return nil, &Error{File: path, Msg: "no [[account]] or [[subscription]] section: nothing to sync (see config.example.toml)"}
	}
	names := map[string]bool{}
	roots := map[string]string{}
	for i, fa := range fc.Accounts {
		a, err := p.account(i, fa, c.ConflictPolicy)
		if err == nil {
			err = p.accountVersions(i, fa, c, &a)
		}
		if err != nil {
			return nil, err
		}
		at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
		if names[a.Name] {
			return nil, p.bad(at("name"), "account name %q used twice", a.Name)
		}
		names[a.Name] = true
		for _, r := range a.roots() {
			if other, ok := roots[r.dir]; ok {
				return nil, p.bad(at(r.key), "%s and account %q's %s share the folder %s: give each its own", other, a.Name, r.key, r.dir)
			}
			roots[r.dir] = fmt.Sprintf("account %q's %s", a.Name, r.key)
		}
		c.Accounts = append(c.Accounts, a)
	}
	if err := p.subscriptions(fc.Subscriptions, c); err != nil {
		return nil, err
	}
	return c, nil
}

// parser turns the decoded file into a Config, locating each error.
type parser struct {
	path     string
	loc      locator
	stateDir string // where the state file is, and the accounts' OAuth2 tokens
}

func (p parser) bad(key []string, format string, args ...any) error {
	return &Error{File: p.path, Line: p.loc.line(key), Msg: fmt.Sprintf(format, args...)}
}

// global reads the top-level keys over the defaults.
func (p parser) global(fc fileConfig) (*Config, error) {
	c := &Config{
		Path:              p.path,
		StatePath:         DefaultStatePath(),
		ConflictPolicy:    plan.ServerWins,
		Interval:          DefaultInterval,
		RescanInterval:    DefaultRescanInterval,
		MaxDeleteFraction: plan.DefaultMaxDeleteFraction,
		MaxDeleteMin:      plan.DefaultMaxDeleteMin,
		LogLevel:          "info",
	}
	if fc.StatePath != "" {
		c.StatePath = expandHome(fc.StatePath)
	}
	if fc.ConflictPolicy != "" {
		pol, err := plan.ParsePolicy(fc.ConflictPolicy)
		if err != nil {
			return nil, p.bad([]string{"conflict_policy"}, "%v", err)
		}
		c.ConflictPolicy = pol
	}
	var err error
	if c.Interval, err = p.duration("interval", []string{"interval"}, fc.Interval, c.Interval, `"60s" or "5m"`); err != nil {
		return nil, err
	}
	if c.RescanInterval, err = p.duration("rescan_interval", []string{"rescan_interval"}, fc.RescanInterval, c.RescanInterval, `"15m"`); err != nil {
		return nil, err
	}
	if fc.MaxDeleteFraction != nil {
		if *fc.MaxDeleteFraction <= 0 || *fc.MaxDeleteFraction > 1 {
			return nil, p.bad([]string{"max_delete_fraction"}, "max_delete_fraction %v: want a number in (0, 1]", *fc.MaxDeleteFraction)
		}
		c.MaxDeleteFraction = *fc.MaxDeleteFraction
	}
	if fc.MaxDeleteMin != nil {
		if *fc.MaxDeleteMin < 0 {
			return nil, p.bad([]string{"max_delete_min"}, "max_delete_min %d: want 0 or more", *fc.MaxDeleteMin)
		}
		c.MaxDeleteMin = *fc.MaxDeleteMin
	}
	if fc.LogLevel != "" {
		switch fc.LogLevel {
		case "trace", "debug", "info", "warn", "error":
			c.LogLevel = fc.LogLevel
		default:
			return nil, p.bad([]string{"log_level"}, "log_level %q: want one of trace, debug, info, warn, error", fc.LogLevel)
		}
	}
	if err := p.globalVersions(fc, c); err != nil {
		return nil, err
	}
	return c, nil
}

// duration parses the value of key (found in the file at at), at least a
// second; "" keeps def.
func (p parser) duration(key string, at []string, value string, def time.Duration, example string) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < time.Second {
		return 0, p.bad(at, "%s %q: want a duration of at least 1s, like %s", key, value, example)
	}
	return d, nil
}

// account reads the i-th [[account]] table.
func (p parser) account(i int, fa fileAccount, policy plan.Policy) (Account, error) {
	at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
	a := Account{
		Name:               fa.Name,
		URL:                fa.URL,
		Username:           fa.Username,
		PasswordCommand:    fa.PasswordCommand,
		PasswordFile:       expandHome(fa.PasswordFile),
		PasswordEnv:        fa.PasswordEnv,
		LocalRoot:          expandHome(fa.LocalRoot),
		Calendars:          fa.Calendars,
		ConflictPolicy:     policy,
		InsecureSkipVerify: fa.InsecureSkipVerify,
		Merge:              fa.Merge == nil || *fa.Merge,
		CreateCollections:  fa.CreateCollections == nil || *fa.CreateCollections,
	}
	if fa.Password != "" {
		return a, p.bad(at("password"), "a plain password in the config is not supported: use password_command, password_file or password_env")
	}
	if a.Name == "" {
		a.Name = fmt.Sprintf("account%d", i+1)
	}
	if !validName.MatchString(a.Name) {
		return a, p.bad(at("name"), "account name %q: use letters, digits, '-', '_' or '.'", a.Name)
	}
	if a.URL == "" {
		return a, p.bad(at("name"), "account %q: url is required", a.Name)
	}
	if !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "unix:///") {
		return a, p.bad(at("url"), "account %q: url %q must start with https://, http:// or unix:///", a.Name, a.URL)
	}
	if a.passwordSources() > 1 {
		return a, p.bad(at("password_command"), "account %q: set only one of password_command, password_file, password_env", a.Name)
	}
	if err := p.connection(i, fa, &a); err != nil {
		return a, err
	}
	if err := p.oauth(i, fa, &a, p.stateDir); err != nil {
		return a, err
	}
	if err := p.kinds(i, fa, &a); err != nil {
		return a, err
	}
	if err := p.scopes(i, fa, &a); err != nil {
		return a, err
	}
	switch a.DeleteCollections = fa.DeleteCollections; a.DeleteCollections {
	case "":
		a.DeleteCollections = DeleteNever
	case DeleteNever, DeleteEmpty:
	default:
		return a, p.bad(at("delete_collections"), "delete_collections %q: want %q or %q", fa.DeleteCollections, DeleteNever, DeleteEmpty)
	}
	if fa.ConflictPolicy != "" {
		pol, err := plan.ParsePolicy(fa.ConflictPolicy)
		if err != nil {
			return a, p.bad(at("conflict_policy"), "%v", err)
		}
		a.ConflictPolicy = pol
	}
	return a, nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, _ := os.UserHomeDir()
		return filepath.Join(home, p[1:])
	}
	return p
}

// Password returns the account's password from password_command, password_file
// or password_env ("" when none is configured: the server may need none).
func (a *Account) Password() (string, error) {
	return password("account "+a.Name, a.PasswordCommand, a.PasswordFile, a.PasswordEnv)
}

// password reads the password of owner ("account NAME") from the one
// source that is set: a command, a file of mode 0600 or an environment
// variable; "" when none is.
func password(owner, command, file, env string) (string, error) {
	switch {
	case command != "":
		return runFirstLine(context.Background(), owner, "password_command", command)
	case file != "":
		fi, err := os.Stat(file)
		if err != nil {
			return "", fmt.Errorf("%s: password_file: %w", owner, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("%s: password_file %s is readable by others (mode %o): chmod 600 it", owner, file, fi.Mode().Perm())
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: password_file: %w", owner, err)
		}
		return firstLine(data), nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s: password_env: environment variable %s is not set", owner, env)
		}
		return v, nil
	}
	return "", nil
}

// run runs a command of the account's key with /bin/sh and returns the
// first line it prints; its stderr goes to ours.
func (a *Account) run(ctx context.Context, key, command string) (string, error) {
	return runFirstLine(ctx, "account "+a.Name, key, command)
}

// runFirstLine runs command, the value of owner's key, with /bin/sh and
// returns the first line it prints; its stderr goes to ours.
func runFirstLine(ctx context.Context, owner, key, command string) (string, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %s failed: %w", owner, key, err)
	}
	return firstLine(out), nil
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// locator finds the line of a TOML key so errors can point at it. The TOML
// library reports lines for syntax errors only.
type locator struct{ lines []string }

func newLocator(data []byte) locator {
	var l locator
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l.lines = append(l.lines, sc.Text())
	}
	return l
}

// line returns the 1-based line of key. Keys under an array of tables carry the
// element index as a trailing component (as built by Parse) or as in
// toml.Key (table, index-less); the n-th "[[table]]" header is honoured.
func (l locator) line(key []string) int {
	if len(key) == 0 {
		return 0
	}
	leaf := key[len(key)-1]
	table := ""
	index := -1
	if len(key) >= 3 {
		// Parse form: table, leaf, index.
		var n int
		if _, err := fmt.Sscan(key[2], &n); err == nil {
			table, leaf, index = key[0], key[1], n
		}
	}
	if table == "" && len(key) >= 2 {
		table = strings.Join(key[:len(key)-1], ".")
	}
	curTable, seen := "", -1
	keyRe := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(leaf) + `"?\s*=`)
	firstInTable := 0
	for i, ln := range l.lines {
		t := strings.TrimSpace(ln)
		if strings.HasPrefix(t, "[") {
			name := strings.Trim(strings.SplitN(t, "#", 2)[0], "[] \t")
			curTable = name
			if name == table {
				seen++
				if firstInTable == 0 && (index < 0 || seen == index) {
					firstInTable = i + 1
				}
			}
			continue
		}
		if curTable == table && (index < 0 || seen == index) && keyRe.MatchString(ln) {
			return i + 1
		}
	}
	return firstInTable
}
