package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commands is every command of the tree, root first.
func commands(root *cobra.Command) []*cobra.Command {
	all := []*cobra.Command{root}
	for i := 0; i < len(all); i++ {
		all = append(all, all[i].Commands()...)
	}
	return all
}

func flagNames(fs *pflag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	return names
}

var (
	longFlag      = regexp.MustCompile(`--([a-z][a-z-]*)`)
	singleDashOpt = regexp.MustCompile(`(?:^|[\s\[(|])(-[a-z]{2,}[a-z-]*)`)
)

// TestHelp_UsageLinesListExactlyTheCommandsFlags checks that a
// subcommand's usage line names each of its own flags, and only those, with
// the one spelling the flag list shows.
func TestHelp_UsageLinesListExactlyTheCommandsFlags(t *testing.T) {
	for _, c := range commands(NewCommand(nil, nil))[1:] {
		var inUse []string
		for _, m := range longFlag.FindAllStringSubmatch(c.Use, -1) {
			inUse = append(inUse, m[1])
		}
		own := slices.DeleteFunc(flagNames(c.LocalNonPersistentFlags()), func(n string) bool { return n == "help" })
		slices.Sort(inUse)
		slices.Sort(own)
		if !slices.Equal(inUse, own) {
			t.Errorf("%s: usage line %q names flags %v, the command has %v", c.CommandPath(), c.Use, inUse, own)
		}
	}
}

// TestHelp_EveryFlagMentionedExistsAndIsSpelledWithTwoDashes renders each
// command's help and checks every --flag it mentions is a flag of vdird,
// and no long option is written with one dash.
func TestHelp_EveryFlagMentionedExistsAndIsSpelledWithTwoDashes(t *testing.T) {
	var out bytes.Buffer
	root := NewCommand(&out, &out)
	known := []string{"help", "version"}
	for _, c := range commands(root) {
		known = append(known, flagNames(c.Flags())...)
		known = append(known, flagNames(c.PersistentFlags())...)
	}
	for _, c := range commands(root) {
		out.Reset()
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		help := out.String()
		if len(help) < 300 {
			t.Errorf("%s: help is only %d bytes:\n%s", c.CommandPath(), len(help), help)
		}
		help = strings.Replace(help, c.Example, vdirdLines(c.Example), 1)
		for _, m := range longFlag.FindAllStringSubmatch(help, -1) {
			if !slices.Contains(known, m[1]) {
				t.Errorf("%s: help mentions --%s, which no command has", c.CommandPath(), m[1])
			}
		}
		for _, m := range singleDashOpt.FindAllStringSubmatch(help, -1) {
			t.Errorf("%s: help spells an option %q with one dash", c.CommandPath(), m[1])
		}
	}
}

// vdirdLines keeps the example lines that run vdird, leaving out those that
// run other programs (systemctl, a shell) with their own flags.
func vdirdLines(example string) string {
	var keep []string
	for line := range strings.Lines(example) {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "vdird ") || strings.HasPrefix(l, "VDIRD_PASSWORD=") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

func TestCompletion_SyncOffersCalendarFoldersNotYetNamed(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "cals")
	for _, d := range []string{"work", "tasks", ".vdird-staging"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "config.toml")
	toml := "state_path = \"" + filepath.Join(dir, "state.db") + "\"\n[[account]]\nname = \"t\"\nurl = \"http://127.0.0.1:9/\"\nlocal_root = \"" + root + "\"\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "--config", cfg, "__complete", "sync", "work", "")
	if want := "tasks\n:4\n"; code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("code %d, stdout %q, stderr %q; want stdout to start with %q", code, out, errs, want)
	}
	code, out, _ = cli(t, "__complete", "--log-level", "")
	if want := "trace\ndebug\ninfo\nwarn\nerror\n:4\n"; code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("log levels: code %d, stdout %q; want %q", code, out, want)
	}
}

func TestCompletion_PrintsAScriptPerShellThatCallsBackIntoVdird(t *testing.T) {
	marks := map[string]string{
		"bash": "complete -o default -F __start_vdird vdird",
		"zsh":  "#compdef vdird",
		"fish": "complete -c vdird ",
	}
	for _, sh := range Shells {
		code, out, errs := cli(t, "completion", sh)
		if code != 0 || errs != "" || !strings.Contains(out, marks[sh]) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: code %d, stderr %q, %d bytes without %q", sh, code, errs, len(out), marks[sh])
		}
	}
}
