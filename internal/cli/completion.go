package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
)

// Shells are the shells vdird writes completion scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// WriteCompletion writes root's completion script for shell (one of Shells)
// to w.
func WriteCompletion(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	}
	return fmt.Errorf("no completion for shell %q: want bash, zsh or fish", shell)
}

func (a *app) completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion SHELL",
		Short: "print the shell completion script for bash, zsh or fish",
		Long: `Prints the completion script for SHELL (bash, zsh or fish) to standard
output. It completes commands, flags, log levels, file names and, after
"vdird sync", the calendar folders of the configured accounts (read from the
config and the disk, no network). The source tree holds the same scripts
in completions/.`,
		Example: `  # bash (needs the bash-completion package)
  vdird completion bash > ~/.local/share/bash-completion/completions/vdird
  # zsh: a folder in $fpath, before compinit runs in ~/.zshrc
  mkdir -p ~/.zfunc && vdird completion zsh > ~/.zfunc/_vdird
  echo 'fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit' >> ~/.zshrc
  # fish
  vdird completion fish > ~/.config/fish/completions/vdird.fish`,
		ValidArgs:             Shells,
		Args:                  oneShell,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := WriteCompletion(cmd.Root(), args[0], a.stdout); err != nil {
				fmt.Fprintf(a.stderr, "vdird: %v\n", err)
				return exitCode(exitFailure)
			}
			return nil
		},
	}
}

// oneShell accepts exactly one argument, a shell of Shells.
func oneShell(cmd *cobra.Command, args []string) error {
	if len(args) != 1 || !slices.Contains(Shells, args[0]) {
		return fmt.Errorf("%s takes one shell: %s", cmd.Name(), strings.Join(Shells, ", "))
	}
	return nil
}

// completeCalendars offers the calendar folders under each account's
// local_root and the subscriptions that are not named yet: it reads only
// the config and the disk, so a tab press never waits for the network.
func (a *app) completeCalendars(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	cfg, err := config.Load(configPath(a.g))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, acc := range cfg.Accounts {
		entries, _ := os.ReadDir(acc.LocalRoot)
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !slices.Contains(args, e.Name()) {
				names = append(names, e.Name())
			}
		}
	}
	for _, sub := range cfg.Subscriptions {
		if !slices.Contains(args, sub.Name) {
			names = append(names, sub.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
