// Command vdird keeps CalDAV calendars and a local vdir folder in sync, both
// ways. See `vdird help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/vdird/vdird/internal/version"
)

const usage = `vdird keeps CalDAV calendars and a local vdir folder in sync, both ways.

Usage:
  vdird [global flags] <command> [flags] [args]

Commands:
  sync       run one full two-way sync pass and print a summary per calendar
             (asks the running daemon when there is one)
  daemon     run continuously: poll, watch local files, systemd notify, control socket
  status     show per calendar: last sync, pending local changes, conflicts, last error
  discover   list the calendars a CalDAV account offers
  version    print the version
  help       show help for a command: vdird help sync

Global flags:
  -c, --config FILE     config file (default $XDG_CONFIG_HOME/vdird/config.toml)
      --log-level LVL   trace, debug, info, warn or error (default from config, else info)
      --cpuprofile FILE write a Go CPU profile of the run to FILE (go tool pprof)
      --memprofile FILE write a Go heap profile at exit to FILE

Files:
  config   $XDG_CONFIG_HOME/vdird/config.toml   (see config.example.toml)
  state    $XDG_STATE_HOME/vdird/state.db
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// globals are flags valid before the command name.
type globals struct {
	config     string
	logLevel   string
	cpuProfile string
	memProfile string
}

func run(args []string, stdout, stderr io.Writer) int {
	var g globals
	fs := flag.NewFlagSet("vdird", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&g.config, "config", "", "config file")
	fs.StringVar(&g.config, "c", "", "config file")
	fs.StringVar(&g.logLevel, "log-level", "", "log level")
	fs.StringVar(&g.cpuProfile, "cpuprofile", "", "CPU profile file")
	fs.StringVar(&g.memProfile, "memprofile", "", "heap profile file")
	if err := fs.Parse(args); err != nil {
		return flagStatus(err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	stopProfiles, err := startProfiles(g)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return 1
	}
	defer func() {
		if err := stopProfiles(); err != nil {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, cargs := rest[0], rest[1:]
	switch cmd {
	case "sync":
		return cmdSync(ctx, g, cargs, stdout, stderr)
	case "discover":
		return cmdDiscover(ctx, g, cargs, stdout, stderr)
	case "daemon":
		return cmdDaemon(ctx, g, cargs, stdout, stderr)
	case "status":
		return cmdStatus(ctx, g, cargs, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "vdird", version.String())
		return 0
	case "help", "-h", "--help":
		if len(cargs) > 0 {
			return run([]string{cargs[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "vdird: unknown command %q\n\n%s", cmd, usage)
		return 2
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

// newFlagSet returns a subcommand flag set whose --help prints help.
func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vdird "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, strings.TrimLeft(help, "\n"))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// flagStatus is the exit status after a flag parse error: 0 when help was
// asked for, 2 for a bad flag.
func flagStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// parseFlags parses allowing flags after positional arguments too.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
