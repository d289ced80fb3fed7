package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vdird/vdird/internal/testserver"
)

// tool is one sync client under test, configured for one account.
type tool interface {
	Name() string
	// Sync runs one sync pass.
	Sync() (measure, error)
	// CalDir is the local folder of the calendar with the given href segment.
	CalDir(cal string) string
}

// account is what a tool is configured with: the URL it syncs with (the
// counter's) and the server's credentials.
type account struct {
	URL, User, Password string
}

// through is s's account for one user, reached through ctr.
func through(ctr counter, s *testserver.Server) account {
	return account{URL: ctr.URL, User: s.User, Password: s.Password}
}

// vdirdTool runs "vdird sync" with its own config and state.
type vdirdTool struct {
	bin, dir, cfg, root string
	acct                account
}

func newVdird(bin, dir string, acct account, interval string) (*vdirdTool, error) {
	t := &vdirdTool{bin: bin, dir: dir, cfg: filepath.Join(dir, "config.toml"), root: filepath.Join(dir, "calendars"), acct: acct}
	return t, t.setInterval(interval)
}

// setInterval rewrites the config with another daemon poll interval.
func (t *vdirdTool) setInterval(interval string) error {
	if err := os.MkdirAll(t.root, 0o700); err != nil {
		return err
	}
	c := testserver.VdirdConfig{Dir: t.dir, Name: "bench", URL: t.acct.URL, User: t.acct.User, Password: t.acct.Password, LocalRoot: t.root,
		Settings: []string{`log_level = "warn"`, fmt.Sprintf("interval = %q", interval)}}
	_, err := c.Write()
	return err
}

func (t *vdirdTool) Name() string             { return "vdird" }
func (t *vdirdTool) CalDir(cal string) string { return filepath.Join(t.root, cal) }
func (t *vdirdTool) env() []string {
	// Keep the control socket (XDG_RUNTIME_DIR) and any stray config private.
	return []string{"XDG_RUNTIME_DIR=" + t.dir, "HOME=" + t.dir, "XDG_CONFIG_HOME=" + t.dir, "XDG_STATE_HOME=" + t.dir}
}
func (t *vdirdTool) Sync() (measure, error) {
	m, _, err := timed(t.dir, t.env(), "", t.bin, "--config", t.cfg, "sync")
	return m, err
}

// vdirsyncerTool runs "vdirsyncer sync" with a caldav (or carddav)
// storage (a) and a filesystem storage (b), collections from both sides, a
// wins conflicts.
type vdirsyncerTool struct {
	dir, cfg, root string
}

func newVdirsyncer(dir string, acct account) (*vdirsyncerTool, error) {
	return newVdirsyncerOf(dir, acct, "caldav", ".ics")
}

// newVdirsyncerOf is newVdirsyncer with a storage of the given type
// ("caldav", "carddav") and the files' extension.
func newVdirsyncerOf(dir string, acct account, storage, ext string) (*vdirsyncerTool, error) {
	t := &vdirsyncerTool{dir: dir, cfg: filepath.Join(dir, "config"), root: filepath.Join(dir, "collections")}
	if err := os.MkdirAll(t.root, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`[general]
status_path = %q

[pair bench]
a = "bench_remote"
b = "bench_local"
collections = ["from a", "from b"]
conflict_resolution = "a wins"

[storage bench_remote]
type = %q
url = %q
username = %q
password = %q

[storage bench_local]
type = "filesystem"
path = %q
fileext = %q
`, filepath.Join(dir, "status")+"/", storage, acct.URL, acct.User, acct.Password, t.root+"/", ext)
	if err := os.WriteFile(t.cfg, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	// Discovery is set-up, not part of the timed sync; "yes" answers its
	// questions about creating collections on the other side.
	if _, out, err := timed(dir, t.env(), strings.Repeat("y\n", 100), "vdirsyncer", "-c", t.cfg, "discover"); err != nil {
		return nil, fmt.Errorf("vdirsyncer discover: %w\n%s", err, out)
	}
	return t, nil
}

func (t *vdirsyncerTool) Name() string             { return "vdirsyncer" }
func (t *vdirsyncerTool) CalDir(cal string) string { return filepath.Join(t.root, cal) }
func (t *vdirsyncerTool) env() []string            { return []string{"HOME=" + t.dir} }
func (t *vdirsyncerTool) Sync() (measure, error) {
	m, _, err := timed(t.dir, t.env(), "", "vdirsyncer", "-c", t.cfg, "sync")
	return m, err
}
