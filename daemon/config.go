package daemon

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vdird/vdird/daemon/plan"
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
}

// Account is one CalDAV account and the local root its calendars sync into.
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
}

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
}

// ConfigError is a configuration mistake, located by file and line where possible.
type ConfigError struct {
	File string
	Line int // 0 = unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// DefaultConfigPath is $XDG_CONFIG_HOME/vdird/config.toml.
func DefaultConfigPath() string {
	return filepath.Join(xdgDir("XDG_CONFIG_HOME", ".config"), "vdird", "config.toml")
}

// DefaultStatePath is $XDG_STATE_HOME/vdird/state.db.
func DefaultStatePath() string {
	return filepath.Join(xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state")), "vdird", "state.db")
}

func xdgDir(env, fallback string) string {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, fallback)
}

// LoadConfig reads and validates a TOML config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig validates data as read from path. Unknown keys and bad values are
// errors naming the line.
func ParseConfig(path string, data []byte) (*Config, error) {
	var fc fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&fc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{File: path, Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	loc := newLocator(data)
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, &ConfigError{File: path, Line: loc.line(k), Msg: fmt.Sprintf("unknown key %q", k.String())}
	}
	bad := func(key []string, format string, args ...any) error {
		return &ConfigError{File: path, Line: loc.line(key), Msg: fmt.Sprintf(format, args...)}
	}

	c := &Config{
		Path:              path,
		StatePath:         DefaultStatePath(),
		ConflictPolicy:    plan.ServerWins,
		Interval:          60 * time.Second,
		RescanInterval:    15 * time.Minute,
		MaxDeleteFraction: 0.5,
		MaxDeleteMin:      5,
		LogLevel:          "info",
	}
	if fc.StatePath != "" {
		c.StatePath = expandHome(fc.StatePath)
	}
	if fc.ConflictPolicy != "" {
		p, err := plan.ParsePolicy(fc.ConflictPolicy)
		if err != nil {
			return nil, bad([]string{"conflict_policy"}, "%v", err)
		}
		c.ConflictPolicy = p
	}
	if fc.Interval != "" {
		d, err := time.ParseDuration(fc.Interval)
		if err != nil || d < time.Second {
			return nil, bad([]string{"interval"}, "interval %q: want a duration of at least 1s, like \"60s\" or \"5m\"", fc.Interval)
		}
		c.Interval = d
	}
	if fc.RescanInterval != "" {
		d, err := time.ParseDuration(fc.RescanInterval)
		if err != nil || d < time.Second {
			return nil, bad([]string{"rescan_interval"}, "rescan_interval %q: want a duration of at least 1s, like \"15m\"", fc.RescanInterval)
		}
		c.RescanInterval = d
	}
	if fc.MaxDeleteFraction != nil {
		if *fc.MaxDeleteFraction <= 0 || *fc.MaxDeleteFraction > 1 {
			return nil, bad([]string{"max_delete_fraction"}, "max_delete_fraction %v: want a number in (0, 1]", *fc.MaxDeleteFraction)
		}
		c.MaxDeleteFraction = *fc.MaxDeleteFraction
	}
	if fc.MaxDeleteMin != nil {
		if *fc.MaxDeleteMin < 0 {
			return nil, bad([]string{"max_delete_min"}, "max_delete_min %d: want 0 or more", *fc.MaxDeleteMin)
		}
		c.MaxDeleteMin = *fc.MaxDeleteMin
	}
	if fc.LogLevel != "" {
		switch fc.LogLevel {
		case "trace", "debug", "info", "warn", "error":
			c.LogLevel = fc.LogLevel
		default:
			return nil, bad([]string{"log_level"}, "log_level %q: want one of trace, debug, info, warn, error", fc.LogLevel)
		}
	}
	if len(fc.Accounts) == 0 {
		return nil, &ConfigError{File: path, Msg: "no [[account]] section: nothing to sync (see config.example.toml)"}
	}
	names := map[string]bool{}
	roots := map[string]string{}
	for i, fa := range fc.Accounts {
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
			ConflictPolicy:     c.ConflictPolicy,
			InsecureSkipVerify: fa.InsecureSkipVerify,
		}
		if fa.Password != "" {
			return nil, bad(at("password"), "a plain password in the config is not supported: use password_command, password_file or password_env")
		}
		if a.Name == "" {
			a.Name = fmt.Sprintf("account%d", i+1)
		}
		if !validName.MatchString(a.Name) {
			return nil, bad(at("name"), "account name %q: use letters, digits, '-', '_' or '.'", a.Name)
		}
		if names[a.Name] {
			return nil, bad(at("name"), "account name %q used twice", a.Name)
		}
		names[a.Name] = true
		if a.URL == "" {
			return nil, bad(at("name"), "account %q: url is required", a.Name)
		}
		if !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://") {
			return nil, bad(at("url"), "account %q: url %q must start with https:// or http://", a.Name, a.URL)
		}
		set := 0
		for _, s := range []string{a.PasswordCommand, a.PasswordFile, a.PasswordEnv} {
			if s != "" {
				set++
			}
		}
		if set > 1 {
			return nil, bad(at("password_command"), "account %q: set only one of password_command, password_file, password_env", a.Name)
		}
		if a.LocalRoot == "" {
			home, _ := os.UserHomeDir()
			a.LocalRoot = filepath.Join(home, ".calendars")
		}
		if !filepath.IsAbs(a.LocalRoot) {
			return nil, bad(at("local_root"), "account %q: local_root %q must be an absolute path (or start with ~/)", a.Name, fa.LocalRoot)
		}
		a.LocalRoot = filepath.Clean(a.LocalRoot)
		if other, ok := roots[a.LocalRoot]; ok {
			return nil, bad(at("local_root"), "accounts %q and %q share local_root %s: give each its own folder", other, a.Name, a.LocalRoot)
		}
		roots[a.LocalRoot] = a.Name
		if fa.ConflictPolicy != "" {
			p, err := plan.ParsePolicy(fa.ConflictPolicy)
			if err != nil {
				return nil, bad(at("conflict_policy"), "%v", err)
			}
			a.ConflictPolicy = p
		}
		c.Accounts = append(c.Accounts, a)
	}
	return c, nil
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
	switch {
	case a.PasswordCommand != "":
		cmd := exec.Command("/bin/sh", "-c", a.PasswordCommand)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("account %s: password_command failed: %w", a.Name, err)
		}
		return firstLine(out), nil
	case a.PasswordFile != "":
		fi, err := os.Stat(a.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("account %s: password_file: %w", a.Name, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("account %s: password_file %s is readable by others (mode %o): chmod 600 it", a.Name, a.PasswordFile, fi.Mode().Perm())
		}
		data, err := os.ReadFile(a.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("account %s: password_file: %w", a.Name, err)
		}
		return firstLine(data), nil
	case a.PasswordEnv != "":
		v, ok := os.LookupEnv(a.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("account %s: password_env: environment variable %s is not set", a.Name, a.PasswordEnv)
		}
		return v, nil
	}
	return "", nil
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
// element index as a trailing component (as built by ParseConfig) or as in
// toml.Key (table, index-less); the n-th "[[table]]" header is honoured.
func (l locator) line(key []string) int {
	if len(key) == 0 {
		return 0
	}
	leaf := key[len(key)-1]
	table := ""
	index := -1
	if len(key) >= 3 {
		// ParseConfig form: table, leaf, index.
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
