package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/internal/oauth"
)

const authorizeHelp = `Gets an OAuth2 token for ACCOUNT, an account with auth = "oauth2" (Google
Calendar), and saves it in the account's token file: oauth-ACCOUNT.json
beside the state file, mode 0600. Run it once after adding the account,
and again when a sync says "re-authorise": vdird renews the token by itself
until the grant is revoked, or expires (after 7 days for a Google project
in Testing mode). A running daemon takes the new token at its next pass.

vdird opens the consent page in your browser (xdg-open, when there is a
display). After you allow access, the browser goes back to a one-time
address on 127.0.0.1 where vdird is waiting, and vdird saves the token.
Without a browser on this machine (no display, or --no-browser), vdird
prints the consent address: open it in a browser on any machine. The
return to 127.0.0.1 then fails to load there; copy the whole address from
the address bar and paste it here.

Nothing but the token file changes. The token is never printed or logged.`

const authorizeExample = `  vdird authorize google
  vdird authorize --no-browser google    # on a server: paste the address back`

func (a *app) authorizeCommand() *cobra.Command {
	var noBrowser bool
	var cmd *cobra.Command
	cmd = a.command(helpText{"authorize [--no-browser] ACCOUNT",
		"get an OAuth2 token for an account (Google Calendar)", authorizeHelp, authorizeExample},
		exactlyOneAccount, func(ctx context.Context, args []string) int {
			open := browser()
			if noBrowser {
				open = nil
			}
			return cmdAuthorize(ctx, a.g, args[0], open, cmd.InOrStdin(), a.stdout, a.stderr)
		})
	cmd.ValidArgsFunction = a.completeOAuthAccounts
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the consent address instead of opening a browser, and take the address the browser went to from stdin (default: open one when there is a display and xdg-open)")
	return cmd
}

// exactlyOneAccount wants the one ACCOUNT argument.
func exactlyOneAccount(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes one ACCOUNT, the name of an account with auth = \"oauth2\"", cmd.Name())
	}
	return nil
}

func cmdAuthorize(ctx context.Context, g globals, name string, open func(string) error, in io.Reader, stdout, stderr io.Writer) int {
	cfg, _, ok := loadConfig(g, stderr)
	if !ok {
		return exitUsage
	}
	acct := oauthAccount(cfg, name)
	if acct == nil {
		fmt.Fprintf(stderr, "vdird: no account %q with auth = \"oauth2\" in %s (those there: %s)\n", name, cfg.Path,
			cmp.Or(strings.Join(oauthAccountNames(cfg), ", "), "none"))
		return exitUsage
	}
	oc, err := engine.OAuthConfig(ctx, acct)
	if err == nil {
		err = oauth.Authorize(ctx, oc, oauth.Prompt{Out: stdout, Open: open, Paste: in})
	}
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	return 0
}

func oauthAccount(cfg *config.Config, name string) *config.Account {
	for i := range cfg.Accounts {
		if a := &cfg.Accounts[i]; a.Name == name && a.Auth == "oauth2" {
			return a
		}
	}
	return nil
}

func oauthAccountNames(cfg *config.Config) []string {
	var names []string
	for _, a := range cfg.Accounts {
		if a.Auth == "oauth2" {
			names = append(names, a.Name)
		}
	}
	return names
}

// completeOAuthAccounts offers the accounts with auth = "oauth2".
func (a *app) completeOAuthAccounts(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	cfg, err := config.Load(configPath(a.g))
	if err != nil || len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return oauthAccountNames(cfg), cobra.ShellCompDirectiveNoFileComp
}

// browser opens an address with xdg-open when there is a display to show
// a browser on; nil otherwise. xdg-open is left to run on its own: some
// browsers keep it waiting until they close.
func browser() func(string) error {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil
	}
	xdgOpen, err := exec.LookPath("xdg-open")
	if err != nil {
		return nil
	}
	return func(addr string) error {
		c := exec.Command(xdgOpen, addr)
		if err := c.Start(); err != nil {
			return err
		}
		return c.Process.Release()
	}
}
