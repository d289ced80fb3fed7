// Command vdird keeps CalDAV calendars and a local vdir folder in sync, both
// ways. See `vdird --help`; the command line itself lives in internal/cli.
package main

import (
	"os"

	"github.com/vdird/vdird/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
