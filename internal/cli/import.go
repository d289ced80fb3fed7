package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/internal/cli/importer"
	"github.com/vdird/vdird/internal/vdirsyncer"
)

const importHelp = `Makes vdird's configuration from the configuration of another sync
program, so that vdird takes over the folders it fills: "vdird import
vdirsyncer" reads vdirsyncer's.`

const importVdirsyncerHelp = `Reads vdirsyncer's configuration (CONFIG, by default the file
$VDIRSYNCER_CONFIG names, else ~/.vdirsyncer/config when it exists, else
$XDG_CONFIG_HOME/vdirsyncer/config or ~/.config/vdirsyncer/config) and
prints the equivalent vdird configuration on stdout, or with --write
writes it where vdird reads it (--config FILE, else
$XDG_CONFIG_HOME/vdird/config.toml), never over an existing file unless
--force is given.

Each pair of a caldav (or google_calendar) storage and a filesystem
storage becomes an account whose local_root is the folder vdirsyncer
fills, a carddav one with .vcf files one whose contacts_root is; pairs
that reach one server as one user make one account, syncing both kinds
where pairs of both do. The first vdird sync finds every item there: it
matches the server's items with the files by UID, records those both
sides hold, writing and uploading nothing, and copies what one side
lacks. Carried over: the URL and username; a password.fetch command as
password_command (["command", "printenv", "VAR"] as password_env); "a
wins" or "b wins" as conflict_policy, by which side is the server;
collections, as calendars or addressbooks (null: the URL is one
collection, the path its folder); verify (a CA file, or false) as ca_file
or insecure_skip_verify; a SHA-256 verify_fingerprint as tls_fingerprint;
auth_cert as cert_file and key_file; auth basic or digest; a
google_calendar storage's client_id and client_secret; start_date and
end_date that count from now ("datetime.now() - timedelta(days=365)") as
window; item_types as components.

Everything else is reported on stderr, one line per section and key:
what has no equivalent (a password in the config or from a prompt, a
SHA-1 or MD5 fingerprint, other dates, hooks, google_contacts, http and
singlefile storages, read-only storages), and what to do by hand (a
folder to rename to the name vdird gives it). Stop vdirsyncer's timer or
cron job before the first vdird sync: two tools must not sync one folder.

Exits 0 when at least one pair was converted, report or not, and 1 when
none was, the file cannot be read, or --write finds a file in the way.`

const importVdirsyncerExample = `  vdird import vdirsyncer                       # print the converted config
  vdird import vdirsyncer --write               # write ~/.config/vdird/config.toml
  vdird import vdirsyncer ~/vdirsyncer.conf --write --force
  vdird sync --dry-run                          # then see what the first sync does`

func (a *app) importCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import SOURCE [flags] [args]",
		Short: "make vdird's config from another sync program's: vdird import vdirsyncer",
		Long: importHelp + `

SOURCE names the program; vdirsyncer is the only one. "vdird import
vdirsyncer --help" says what it converts and what it reports.`,
		Example:               importVdirsyncerExample,
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown source %q: vdird imports from vdirsyncer", args[0])
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error { return errors.New("missing source: vdird import vdirsyncer") },
	}
	var write, force bool
	sub := a.command(helpText{"vdirsyncer [--write [--force]] [CONFIG]",
		"make vdird's config from vdirsyncer's, reporting what does not carry over", importVdirsyncerHelp, importVdirsyncerExample},
		cobra.MaximumNArgs(1), func(_ context.Context, args []string) int {
			src := vdirsyncer.DefaultPath()
			if len(args) == 1 {
				src = args[0]
			}
			return importer.Vdirsyncer(src, configPath(a.g), write, force, a.stdout, a.stderr)
		})
	sub.Flags().BoolVar(&write, "write", false, "write the config where vdird reads it (--config FILE, else the default path) instead of printing it (default off)")
	sub.Flags().BoolVar(&force, "force", false, "with --write, replace a config file that is there (default off)")
	sub.DisableAutoGenTag = true
	cmd.AddCommand(sub)
	return cmd
}
