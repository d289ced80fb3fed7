package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// VdirdConfig is a vdird config file with one account, for tests and the
// benchmark that run the vdird binary against a server.
type VdirdConfig struct {
	Dir                 string // holds the config file and the password file
	Name                string // the account's name
	URL, User, Password string
	LocalRoot           string // "" writes no local_root (an account of address books only)
	StatePath           string // "" is state.db in Dir
	// Settings are extra top-level lines (e.g. `log_level = "warn"`),
	// AccountSettings extra lines of the account (e.g. `calendars = ["a"]`).
	Settings, AccountSettings []string
}

// VdirdConfig is a config in dir for s's account, named name, with its
// calendars' folders under root.
func (s *Server) VdirdConfig(dir, name, root string) VdirdConfig {
	return VdirdConfig{Dir: dir, Name: name, URL: s.URL, User: s.User, Password: s.Password, LocalRoot: root}
}

// WriteVdirdConfig writes a config in a temp directory of t for s's
// account, named name, with its calendars' folders under root, and returns
// its path.
func (s *Server) WriteVdirdConfig(t testing.TB, name, root string) string {
	t.Helper()
	return s.VdirdConfig(t.TempDir(), name, root).MustWrite(t)
}

// MustWrite is Write that fails t on an error.
func (c VdirdConfig) MustWrite(t testing.TB) string {
	t.Helper()
	path, err := c.Write()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Write writes the password file (mode 0600) and config.toml into Dir,
// replacing earlier ones, and returns the config's path.
func (c VdirdConfig) Write() (string, error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return "", err
	}
	pw := filepath.Join(c.Dir, "password")
	if err := os.WriteFile(pw, []byte(c.Password+"\n"), 0o600); err != nil {
		return "", err
	}
	state := c.StatePath
	if state == "" {
		state = filepath.Join(c.Dir, "state.db")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "state_path = %q\n", state)
	for _, s := range c.Settings {
		b.WriteString(s + "\n")
	}
	fmt.Fprintf(&b, "\n[[account]]\nname = %q\nurl = %q\nusername = %q\npassword_file = %q\n",
		c.Name, c.URL, c.User, pw)
	if c.LocalRoot != "" {
		fmt.Fprintf(&b, "local_root = %q\n", c.LocalRoot)
	}
	for _, s := range c.AccountSettings {
		b.WriteString(s + "\n")
	}
	path := filepath.Join(c.Dir, "config.toml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
