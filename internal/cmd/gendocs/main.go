// Command gendocs writes vdird's man pages (docs/man/*.1) and shell
// completion scripts (completions/vdird.bash, .zsh, .fish) from the command
// tree in internal/cli, so they say what the flags are. Run it from the
// repository root after changing a command, flag or help text:
//
//	go run ./internal/cmd/gendocs
//
// A test fails while the checked-in files differ from what it writes.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/vdird/vdird/internal/cli"
)

const (
	manDir        = "docs/man"
	completionDir = "completions"
)

func main() {
	root := flag.String("root", ".", "the repository `DIR` to write into")
	flag.Parse()
	changed, err := generate(*root, time.Now())
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
	for _, c := range changed {
		fmt.Println(c)
	}
}

// generate makes the files under root what the command tree says: it
// writes those that differ, removes man pages of commands that are gone,
// and returns what it changed (paths relative to root). A man page whose
// text did not change keeps its date, so an unchanged tree changes nothing;
// a changed one is dated today.
func generate(root string, today time.Time) ([]string, error) {
	want, err := render(root, today)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		path := filepath.Join(root, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, want[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return changed, err
		}
		if err := os.WriteFile(path, want[name], 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, name)
	}
	stale, err := filepath.Glob(filepath.Join(root, manDir, "*.1"))
	if err != nil {
		return changed, err
	}
	for _, path := range stale {
		name := filepath.ToSlash(filepath.Join(manDir, filepath.Base(path)))
		if _, ok := want[name]; ok {
			continue
		}
		if err := os.Remove(path); err != nil {
			return changed, err
		}
		changed = append(changed, name)
	}
	return changed, nil
}

// render returns every generated file by its path relative to root.
func render(root string, today time.Time) (map[string][]byte, error) {
	tree := cli.NewCommand(io.Discard, io.Discard)
	files := map[string][]byte{}
	for _, sh := range cli.Shells {
		var b bytes.Buffer
		if err := cli.WriteCompletion(tree, sh, &b); err != nil {
			return nil, fmt.Errorf("%s completion: %w", sh, err)
		}
		files[completionDir+"/vdird."+sh] = b.Bytes()
	}
	for _, c := range manCommands(tree) {
		name := manDir + "/" + strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		page, err := manPage(c, filepath.Join(root, name), today)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files[name] = page
	}
	return files, nil
}

// manCommands is every command that gets a man page: all but help and the
// hidden completion back end.
func manCommands(root *cobra.Command) []*cobra.Command {
	all := []*cobra.Command{root}
	for i := 0; i < len(all); i++ {
		for _, c := range all[i].Commands() {
			if c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() {
				all = append(all, c)
			}
		}
	}
	return all
}

// thDate is the date field of a man page's .TH line.
var thDate = regexp.MustCompile(`(?m)^\.TH "[^"]*" "[^"]*" "([^"]*)"`)

// manPage renders c's man page dated as the page at path when that gives
// the same text, else dated today.
func manPage(c *cobra.Command, path string, today time.Time) ([]byte, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if m := thDate.FindSubmatch(old); m != nil {
		if date, err := time.Parse("Jan 2006", string(m[1])); err == nil {
			page, err := renderMan(c, date)
			if err != nil || bytes.Equal(page, old) {
				return page, err
			}
		}
	}
	return renderMan(c, today)
}

func renderMan(c *cobra.Command, date time.Time) ([]byte, error) {
	var b bytes.Buffer
	header := &doc.GenManHeader{Section: "1", Date: &date, Source: "vdird", Manual: "vdird manual"}
	err := doc.GenMan(c, header, &b)
	return b.Bytes(), err
}
