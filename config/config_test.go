package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/engine/plan"
)

func TestConfig_ExampleParses(t *testing.T) {
	cfg, err := Load("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].Name != "personal" || cfg.Interval != time.Minute ||
		cfg.ConflictPolicy != plan.ServerWins || cfg.MaxDeleteFraction != 0.5 || cfg.MaxDeleteMin != 5 {
		t.Fatalf("unexpected %+v", cfg)
	}
	home, _ := os.UserHomeDir()
	if cfg.Accounts[0].LocalRoot != filepath.Join(home, ".calendars") {
		t.Fatalf("local root %q", cfg.Accounts[0].LocalRoot)
	}
}

func TestConfig_ErrorsNameTheLine(t *testing.T) {
	for name, tc := range map[string]struct {
		text string
		line int
		want string
	}{
		"unknown top key":     {"interval = \"30s\"\nfrobnicate = 1\n[[account]]\nurl = \"https://x/\"\n", 2, "unknown key \"frobnicate\""},
		"unknown account key": {"[[account]]\nurl = \"https://x/\"\npasword_file = \"/x\"\n", 3, "unknown key"},
		"bad interval":        {"\n\ninterval = \"soon\"\n[[account]]\nurl = \"https://x/\"\n", 3, "interval"},
		"bad policy":          {"conflict_policy = \"coin-flip\"\n[[account]]\nurl = \"https://x/\"\n", 1, "coin-flip"},
		"plain password":      {"[[account]]\nurl = \"https://x/\"\npassword = \"hunter2\"\n", 3, "plain password"},
		"bad url":             {"[[account]]\nname = \"a\"\nurl = \"ftp://x/\"\n", 3, "url"},
		"second account bad":  {"[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/tmp/a\"\n[[account]]\nname = \"b\"\nurl = \"https://y/\"\nlocal_root = \"relative\"\n", 8, "absolute"},
		"syntax":              {"[[account]]\nurl = \"https://x/\n", 2, ""},
		"fraction":            {"max_delete_fraction = 2.0\n[[account]]\nurl = \"https://x/\"\n", 1, "max_delete_fraction"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want Error", err)
			}
			if ce.Line != tc.line || !strings.Contains(ce.Error(), tc.want) || !strings.HasPrefix(ce.Error(), "cfg.toml:") {
				t.Fatalf("got %q (line %d), want line %d containing %q", ce.Error(), ce.Line, tc.line, tc.want)
			}
			if strings.Contains(ce.Error(), "hunter2") {
				t.Fatal("password leaked into the error")
			}
		})
	}
}

func TestConfig_NoAccount(t *testing.T) {
	if _, err := Parse("c", []byte("interval = \"5m\"\n")); err == nil || !strings.Contains(err.Error(), "[[account]]") {
		t.Fatalf("got %v", err)
	}
}

func TestConfig_PasswordSources(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "pw")
	os.WriteFile(pf, []byte("s3cret\nignored\n"), 0o600)
	a := Account{Name: "a", PasswordFile: pf}
	if pw, err := a.Password(); err != nil || pw != "s3cret" {
		t.Fatalf("file: %q %v", pw, err)
	}
	os.Chmod(pf, 0o644)
	if _, err := a.Password(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable file accepted: %v", err)
	}
	a = Account{Name: "a", PasswordCommand: "printf 'from-cmd\\n'"}
	if pw, err := a.Password(); err != nil || pw != "from-cmd" {
		t.Fatalf("command: %q %v", pw, err)
	}
	a = Account{Name: "a", PasswordCommand: "exit 3"}
	if _, err := a.Password(); err == nil {
		t.Fatal("failing command accepted")
	}
	t.Setenv("VDIRD_TEST_PW", "env-pw")
	a = Account{Name: "a", PasswordEnv: "VDIRD_TEST_PW"}
	if pw, err := a.Password(); err != nil || pw != "env-pw" {
		t.Fatalf("env: %q %v", pw, err)
	}
}

func TestConfig_Merge_OnByDefault_OffPerAccount(t *testing.T) {
	cfg, err := Parse("cfg.toml", []byte("[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/tmp/a\"\n"+
		"[[account]]\nname = \"b\"\nurl = \"https://y/\"\nlocal_root = \"/tmp/b\"\nmerge = false\n"+
		"[[account]]\nname = \"c\"\nurl = \"https://z/\"\nlocal_root = \"/tmp/c\"\nmerge = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b, c := cfg.Accounts[0].Merge, cfg.Accounts[1].Merge, cfg.Accounts[2].Merge; !a || b || !c {
		t.Errorf("merge: a %v (unset), b %v (false), c %v (true)", a, b, c)
	}
	if _, err := Parse("cfg.toml", []byte("[[account]]\nurl = \"https://x/\"\nmerge = \"no\"\n")); err == nil {
		t.Error("merge = \"no\" accepted")
	}
}

func TestConfig_CreateCollections_OnByDefault_OffPerAccount(t *testing.T) {
	cfg, err := Parse("cfg.toml", []byte("[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/tmp/a\"\n"+
		"[[account]]\nname = \"b\"\nurl = \"https://y/\"\nlocal_root = \"/tmp/b\"\ncreate_collections = false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Accounts[0].CreateCollections || cfg.Accounts[1].CreateCollections {
		t.Fatalf("create_collections: a %v, b %v; want true, false", cfg.Accounts[0].CreateCollections, cfg.Accounts[1].CreateCollections)
	}
}
