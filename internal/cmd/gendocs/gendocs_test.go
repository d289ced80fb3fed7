package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// copyTree copies the files gendocs writes from the repository to dir.
func copyTree(t *testing.T, repo, dir string) {
	t.Helper()
	for _, sub := range []string{manDir, completionDir} {
		entries, err := os.ReadDir(filepath.Join(repo, sub))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(repo, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestGenerate_CheckedInManPagesAndCompletionsAreUpToDate regenerates over
// a copy of the checked-in files: a change to a command, flag or help text
// without `go run ./internal/cmd/gendocs` fails here.
func TestGenerate_CheckedInManPagesAndCompletionsAreUpToDate(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "../../..", dir)
	changed, err := generate(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) > 0 {
		t.Fatalf("out of date: %s\nrun: go run ./internal/cmd/gendocs", strings.Join(changed, ", "))
	}
}

func TestGenerate_UnchangedPageKeepsItsDateAChangedOneIsDatedToday(t *testing.T) {
	dir := t.TempDir()
	first := time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)
	changed, err := generate(dir, first)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"docs/man/vdird.1", "docs/man/vdird-sync.1", "completions/vdird.bash", "completions/vdird.zsh", "completions/vdird.fish"} {
		if !slices.Contains(changed, want) {
			t.Errorf("first run wrote %v, not %s", changed, want)
		}
	}
	sync := filepath.Join(dir, "docs/man/vdird-sync.1")
	page, _ := os.ReadFile(sync)
	if !strings.Contains(string(page), `"Mar 2025"`) || !strings.Contains(string(page), `--dry-run`) {
		t.Fatalf("vdird-sync.1 lacks the date or --dry-run:\n%s", page)
	}

	later := first.AddDate(0, 5, 0)
	if changed, err := generate(dir, later); err != nil || len(changed) > 0 {
		t.Fatalf("second run over unchanged text changed %v (%v)", changed, err)
	}
	os.WriteFile(sync, []byte(strings.Replace(string(page), "dry", "wet", 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "docs/man/vdird-gone.1"), []byte("old"), 0o644)
	changed, err = generate(dir, later)
	if err != nil || !slices.Equal(changed, []string{"docs/man/vdird-sync.1", "docs/man/vdird-gone.1"}) {
		t.Fatalf("after an edit and a stale page: changed %v (%v)", changed, err)
	}
	page, _ = os.ReadFile(sync)
	if !strings.Contains(string(page), `"Aug 2025"`) {
		t.Fatalf("rewritten page not dated Aug 2025:\n%.200s", page)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs/man/vdird-gone.1")); !os.IsNotExist(err) {
		t.Fatalf("stale page kept: %v", err)
	}
}
