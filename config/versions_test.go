package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/versions"
)

const day = 24 * time.Hour

func TestConfig_VersionsKeys_GlobalDefaultsAndPerAccount(t *testing.T) {
	for name, tc := range map[string]struct {
		text     string
		dir      string // "" = beside the default state file
		keep     time.Duration
		size     int64
		acctKeep time.Duration
		acctSize int64
	}{
		"defaults": {"[[account]]\nurl = \"https://x/\"\n", "", 30 * day, 200_000_000, 30 * day, 0},
		"global keys apply to accounts": {"keep_versions = \"7d\"\nversions_max_size = \"1GiB\"\n[[account]]\nurl = \"https://x/\"\n",
			"", 7 * day, 1 << 30, 7 * day, 0},
		"account keys": {"[[account]]\nurl = \"https://x/\"\nkeep_versions = \"0\"\nversions_max_size = \"50 MB\"\n",
			"", 30 * day, 200_000_000, 0, 50_000_000},
		"off globally, kept for one account": {"keep_versions = \"0\"\nversions_max_size = \"0\"\n[[account]]\nurl = \"https://x/\"\nkeep_versions = \"12h\"\n",
			"", 0, 0, 12 * time.Hour, 0},
		"beside a configured state file": {"state_path = \"/var/lib/me/vdird.db\"\n[[account]]\nurl = \"https://x/\"\n",
			"/var/lib/me/versions", 30 * day, 200_000_000, 30 * day, 0},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse("c.toml", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if tc.dir == "" {
				tc.dir = DefaultVersionsDir()
			}
			a := cfg.Accounts[0]
			if cfg.VersionsDir != tc.dir || cfg.KeepVersions != tc.keep || cfg.VersionsMaxSize != tc.size ||
				a.KeepVersions != tc.acctKeep || a.VersionsMaxSize != tc.acctSize {
				t.Fatalf("got %s %v %d, account %v %d; want %s %v %d, account %v %d",
					cfg.VersionsDir, cfg.KeepVersions, cfg.VersionsMaxSize, a.KeepVersions, a.VersionsMaxSize,
					tc.dir, tc.keep, tc.size, tc.acctKeep, tc.acctSize)
			}
		})
	}
}

func TestConfig_VersionsMistakes_NameTheLine(t *testing.T) {
	for name, tc := range map[string]struct {
		text string
		line int
		want string
	}{
		"keep not a duration":  {"keep_versions = \"soon\"\n[[account]]\nurl = \"https://x/\"\n", 1, `keep_versions "soon"`},
		"keep negative":        {"\nkeep_versions = \"-1h\"\n[[account]]\nurl = \"https://x/\"\n", 2, "keep_versions"},
		"size not a size":      {"versions_max_size = \"lots\"\n[[account]]\nurl = \"https://x/\"\n", 1, `versions_max_size "lots"`},
		"size negative":        {"versions_max_size = \"-5MB\"\n[[account]]\nurl = \"https://x/\"\n", 1, "versions_max_size"},
		"account keep":         {"[[account]]\nurl = \"https://x/\"\nkeep_versions = \"30 days\"\n", 3, "keep_versions"},
		"second account size":  {"[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/a\"\n[[account]]\nname = \"b\"\nurl = \"https://x/\"\nlocal_root = \"/b\"\nversions_max_size = \"big\"\n", 9, "versions_max_size"},
		"store inside folder":  {"state_path = \"/cal/.state/state.db\"\n[[account]]\nurl = \"https://x/\"\nlocal_root = \"/cal\"\n", 4, "holds vdird's versions store /cal/.state/versions"},
		"store is the folder":  {"state_path = \"/cal/state.db\"\n[[account]]\nurl = \"https://x/\"\nlocal_root = \"/cal/versions\"\n", 4, "versions store"},
		"keep given a number":  {"keep_versions = 30\n[[account]]\nurl = \"https://x/\"\n", 0, "keep_versions"},
		"size given a number ": {"[[account]]\nurl = \"https://x/\"\nversions_max_size = 200\n", 0, "versions_max_size"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want Error", err)
			}
			if (tc.line > 0 && ce.Line != tc.line) || !strings.Contains(ce.Error(), tc.want) {
				t.Fatalf("got %q (line %d), want line %d containing %q", ce.Error(), ce.Line, tc.line, tc.want)
			}
		})
	}
}

func TestConfig_VersionsStoreBesideAFolderNamedAlike_Accepted(t *testing.T) {
	// /cal-versions is not inside /cal.
	if _, err := Parse("c", []byte("state_path = \"/cal-x/state.db\"\n[[account]]\nurl = \"https://x/\"\nlocal_root = \"/cal\"\n")); err != nil {
		t.Fatal(err)
	}
}

func TestParseDuration_DaysAndWeeks(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * day, "2w": 14 * day, "1d12h": 36 * time.Hour, "0": 0, "0d": 0,
		"90m": 90 * time.Minute, "1.5h": 90 * time.Minute, "1w2d3h": 9*day + 3*time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "30x", "1d-5h", "1dd", "99999999999999d", "106751d23h47m16.854775808s", " 3d"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("%q: accepted as %v", in, got)
		}
	}
}

func TestDefaultVersionsDir_UnderXDGStateHome(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if got := DefaultVersionsDir(); got != filepath.FromSlash("/x/state/vdird/versions") {
		t.Fatalf("got %s", got)
	}
}

// checkVersions holds the rules of the versions keys for an account that
// parsed (FuzzParseConfig).
func checkVersions(t *testing.T, c *Config, a Account) {
	t.Helper()
	if c.KeepVersions < 0 || c.VersionsMaxSize < 0 || a.KeepVersions < 0 || a.VersionsMaxSize < 0 {
		t.Fatalf("negative retention: %v %d, account %v %d", c.KeepVersions, c.VersionsMaxSize, a.KeepVersions, a.VersionsMaxSize)
	}
	if filepath.IsAbs(c.VersionsDir) && (a.LocalRoot == "/" || strings.HasPrefix(c.VersionsDir+"/", a.LocalRoot+"/")) {
		t.Fatalf("versions store %s inside local_root %s", c.VersionsDir, a.LocalRoot)
	}
}

func TestConfig_ExampleVersionsKeys_ParseWhenUncommented(t *testing.T) {
	data, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, key := range []string{"keep_versions", "versions_max_size"} {
		if strings.Count(text, "# "+key+" = ") != 2 {
			t.Fatalf("the example should show %s globally and per account", key)
		}
		text = strings.ReplaceAll(text, "# "+key+" = ", key+" = ")
	}
	cfg, err := Parse("example", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Accounts[0]
	if cfg.KeepVersions != 30*day || cfg.VersionsMaxSize != 200_000_000 || a.KeepVersions != 30*day || a.VersionsMaxSize != 50_000_000 {
		t.Fatalf("got %v %d, account %v %d", cfg.KeepVersions, cfg.VersionsMaxSize, a.KeepVersions, a.VersionsMaxSize)
	}
}

func TestConfig_VersionsOptions_GlobalForTheStoreEachAccountForItsOwn(t *testing.T) {
	cfg, err := Parse("c", []byte("keep_versions = \"2w\"\nversions_max_size = \"1GB\"\n"+
		"[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/a\"\n"+
		"[[account]]\nname = \"b\"\nurl = \"https://x/\"\nlocal_root = \"/b\"\nkeep_versions = \"0\"\nversions_max_size = \"10MB\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := versions.Options{
		Retention: versions.Retention{KeepFor: 14 * day, MaxBytes: 1_000_000_000},
		Accounts: map[string]versions.Retention{
			"a": {KeepFor: 14 * day},
			"b": {KeepFor: 0, MaxBytes: 10_000_000},
		},
	}
	if got := cfg.VersionsOptions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
