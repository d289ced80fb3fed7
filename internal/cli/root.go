package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/internal/version"
)

// rootIntro opens `vdird --help`; rootMore follows the usage there. The man
// page has both in its description.
const rootIntro = `vdird keeps CalDAV calendars and CardDAV address books and local vdir
folders in sync, both ways: one folder per calendar or address book, one
.ics file per event or task, one .vcf file per contact. "vdird sync" runs
one pass; "vdird daemon" keeps both sides in sync all the time, usually as a
systemd user service.`

const rootMore = `Files:

- config: $XDG_CONFIG_HOME/vdird/config.toml, else ~/.config/vdird/config.toml
  (config.example.toml in the source tree documents every key)
- state: $XDG_STATE_HOME/vdird/state.db, else ~/.local/state/vdird/state.db
  (what the last sync saw; state_path in the config moves it)
- versions of the items sync replaced or deleted: versions/ beside the state
  file ("vdird history", "vdird restore"; keep_versions in the config)
- OAuth2 token of an account with auth = "oauth2": oauth-ACCOUNT.json beside
  the state file, written by "vdird authorize ACCOUNT"
- control socket of a running daemon: $XDG_RUNTIME_DIR/vdird.sock, else
  beside the state file

Exit status:

- 0: success
- 1: a calendar failed, a safety guard refused it, or another error
- 2: usage error: unknown command, flag or calendar name, or a bad config file
- 130: interrupted by SIGINT (Ctrl-C); a second Ctrl-C stops at once`

const rootExample = `  vdird discover --url https://dav.example.org/ --user alice --password-command 'pass show dav'
  vdird sync --dry-run        # what one pass would do, changing nothing
  vdird sync                  # one two-way pass over every calendar
  vdird --log-level debug sync work
  vdird status                # last sync, pending changes, conflicts, errors
  vdird conflicts             # the conflicts waiting, and which properties they concern
  vdird history --since 1d    # what sync replaced or deleted, to restore`

// usageTemplate lists subcommands, the command's own flags, the global
// flags and examples, each under its own heading.
const usageTemplate = `Usage:
  {{.UseLine}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsagesWrapped 80 | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global flags:
{{.InheritedFlags.FlagUsagesWrapped 80 | trimTrailingWhitespaces}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Run '{{.Root.Name}} help{{if .HasParent}} {{.Name}}{{end}} COMMAND' for a command's flags and examples.{{end}}
`

var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// NewCommand returns vdird's command tree, whose commands print to stdout
// and stderr. Run executes it; gendocs renders it as man pages and shell
// completions.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:     "vdird [global flags] COMMAND [flags] [args]",
		Short:   "two-way sync of CalDAV calendars and CardDAV address books with local vdir folders",
		Long:    rootIntro + "\n\n" + rootMore,
		Example: rootExample,
		Version: version.String(),
		// Without a command there is nothing to do: a usage error.
		RunE: func(*cobra.Command, []string) error { return errors.New("missing command") },

		DisableFlagsInUseLine: true,
		SilenceErrors:         true,
		SilenceUsage:          true,
		CompletionOptions:     cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetUsageTemplate(usageTemplate)
	root.SetVersionTemplate("vdird {{.Version}}\n")
	subHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if c != root {
			subHelp(c, args)
			return
		}
		// The usage first, so the commands are on the first screen.
		fmt.Fprintf(c.OutOrStdout(), "%s\n\n%s\n%s\n", rootIntro, c.UsageString(), rootMore)
	})

	f := root.PersistentFlags()
	f.StringVarP(&a.g.config, "config", "c", "", "read the config from `FILE` (default $XDG_CONFIG_HOME/vdird/config.toml, else ~/.config/vdird/config.toml)")
	f.StringVar(&a.g.logLevel, "log-level", "", "log at `LEVEL`: trace, debug, info, warn or error (default log_level from the config, else info)")
	f.StringVar(&a.g.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to `FILE`, for go tool pprof")
	f.StringVar(&a.g.memProfile, "memprofile", "", "write a Go heap profile to `FILE` at exit, for go tool pprof")
	root.Flags().Bool("version", false, "print the version and exit")
	_ = root.MarkPersistentFlagFilename("config", "toml")
	_ = root.MarkPersistentFlagFilename("cpuprofile")
	_ = root.MarkPersistentFlagFilename("memprofile")
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(logLevels, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(a.syncCommand(), a.daemonCommand(), a.statusCommand(), a.discoverCommand(),
		a.conflictsCommand(), a.authorizeCommand(), a.importCommand(), a.completionCommand(), a.versionCommand())
	root.AddCommand(a.historyCommand(), a.restoreCommand(), a.forgetCommand())
	strictHelp(root)
	for _, c := range append(root.Commands(), root) {
		// Man pages carry no generation date or tool name in their text.
		c.DisableAutoGenTag = true
	}
	return root
}

// strictHelp makes `vdird help NAME` for a NAME that is no command a usage
// error, as `vdird NAME` is, where cobra would print help and exit 0.
func strictHelp(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() != "help" {
			continue
		}
		c.Short = "show help for a command: vdird help sync"
		c.Long = "Shows the help of COMMAND (the same as vdird COMMAND --help), or of vdird itself."
		c.Use = "help [COMMAND]"
		c.Run = nil
		c.RunE = func(cmd *cobra.Command, args []string) error {
			target, _, err := root.Find(args)
			if err != nil {
				return err
			}
			return target.Help()
		}
	}
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Long: `Prints "vdird" and the version: the release, or for a build from a
checkout "devel-" and the commit (with "-dirty" for uncommitted changes).
The same as vdird --version.`,
		Args: noArgs,
		Run:  func(*cobra.Command, []string) { printVersion(a.stdout) },
	}
}
