// Package cli is vdird's command line: the command tree with its flags and
// help texts, exit statuses and signal handling. cmd/vdird runs it, and
// internal/cmd/gendocs renders the same tree as man pages and shell
// completions, so the three never disagree.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/version"
)

// Exit statuses, as the root command's help lists them.
const (
	exitFailure   = 1   // a calendar failed or was refused, or another error
	exitUsage     = 2   // a bad command line or config file
	exitInterrupt = 130 // SIGINT, as a shell reports a command it interrupted
)

// exitCode is what a command returns after printing its own message: the
// status to exit with.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// globals are the flags every command accepts.
type globals struct {
	config     string
	logLevel   string
	cpuProfile string
	memProfile string
}

// app is what the commands share: the global flags and where they print.
type app struct {
	g              globals
	stdout, stderr io.Writer
}

// Run runs vdird with args (without the program name) and returns the exit
// status: 0, 1 when something failed, 2 for a usage error, 130 on SIGINT.
func Run(args []string, stdout, stderr io.Writer) int {
	ctx, interrupted, stop := signalContext()
	defer stop()
	root := NewCommand(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code := status(cmd, err, stderr)
	if interrupted() {
		return exitInterrupt
	}
	return code
}

// status turns what a command returned into an exit status. Anything but an
// exitCode comes from parsing the command line: a usage error.
func status(cmd *cobra.Command, err error, stderr io.Writer) int {
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	if cmd.Name() == "help" {
		cmd = cmd.Root()
	}
	fmt.Fprintf(stderr, "vdird: %s\nRun '%s --help' for usage.\n", strings.TrimRight(err.Error(), "\n"), cmd.CommandPath())
	return exitUsage
}

// noArgs refuses positional arguments, naming the first one.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes none", args[0], cmd.Name())
	}
	return nil
}

// signalContext is cancelled by SIGINT or SIGTERM; interrupted tells whether
// SIGINT came. After the first signal the default handling is back, so a
// second one ends vdird at once, which is safe at any moment (the journal
// makes a crash recoverable).
func signalContext() (ctx context.Context, interrupted func() bool, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var sigint atomic.Bool
	go func() {
		select {
		case s := <-sigs:
			sigint.Store(s == os.Interrupt)
			signal.Stop(sigs)
			cancel()
		case <-done:
		}
	}()
	return ctx, sigint.Load, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// helpText is what a command's --help and man page say about it.
type helpText struct{ use, short, long, example string }

// command is a subcommand that runs body; its usage line names its own flags.
func (a *app) command(h helpText, args cobra.PositionalArgs, body func(ctx context.Context, args []string) int) *cobra.Command {
	return &cobra.Command{Use: h.use, Short: h.short, Long: h.long, Example: h.example, Args: args,
		DisableFlagsInUseLine: true, RunE: a.action(body)}
}

// withConfig runs body with the config file loaded; a config that does
// not load is a usage error, already reported.
func (a *app) withConfig(body func(cfg *config.Config) int) int {
	cfg, _, ok := loadConfig(a.g, a.stderr)
	if !ok {
		return exitUsage
	}
	return body(cfg)
}

// action adapts a command body that prints its own messages and returns an
// exit status to cobra, with the profiles asked for running around it.
func (a *app) action(body func(ctx context.Context, args []string) int) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		stopProfiles, err := startProfiles(a.g)
		if err != nil {
			fmt.Fprintf(a.stderr, "vdird: %v\n", err)
			return exitCode(exitFailure)
		}
		code := body(cmd.Context(), args)
		if err := stopProfiles(); err != nil {
			fmt.Fprintf(a.stderr, "vdird: %v\n", err)
		}
		if code != 0 {
			return exitCode(code)
		}
		return nil
	}
}

// startProfiles starts the profiles asked for by --cpuprofile and
// --memprofile; the returned function finishes them. They are for measuring
// vdird itself (docs/performance.md), so they cost nothing when not asked for.
func startProfiles(g globals) (func() error, error) {
	var cpu *os.File
	if g.cpuProfile != "" {
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		cpu = f
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
		}
		if g.memProfile == "" {
			return nil
		}
		f, err := os.Create(g.memProfile)
		if err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
		runtime.GC() // up-to-date in-use numbers
		if err := pprof.WriteHeapProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("heap profile: %w", err)
		}
		return f.Close()
	}, nil
}

// printVersion prints what both `vdird version` and `vdird --version` print.
func printVersion(w io.Writer) {
	fmt.Fprintln(w, "vdird", version.String())
}
