// Package importer runs `vdird import`: it makes vdird's configuration
// from another sync program's (internal/vdirsyncer converts it) and prints
// it or writes it where vdird reads it.
package importer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/statefile"
	"github.com/vdird/vdird/internal/vdirsyncer"
)

// The exit statuses, as vdird's root command lists them.
const (
	exitFailure = 1
	exitUsage   = 2
)

// Vdirsyncer is `vdird import vdirsyncer`: it converts the vdirsyncer
// configuration at src and prints it, or with write writes it at target,
// over a file there only with force. The notes of what does not carry over
// go to stderr. It returns the exit status.
func Vdirsyncer(src, target string, write, force bool, stdout, stderr io.Writer) int {
	if force && !write {
		fmt.Fprintln(stderr, "vdird: --force goes with --write")
		return exitUsage
	}
	c, err := vdirsyncer.Load(src)
	if err != nil {
		fmt.Fprintf(stderr, "vdird: %v\n", err)
		return exitFailure
	}
	res := vdirsyncer.Convert(c)
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "vdird: %s\n", n)
	}
	if res.TOML == nil {
		fmt.Fprintf(stderr, "vdird: nothing converted: no pair of %s syncs a CalDAV or CardDAV server with a filesystem folder vdird can take over\n", src)
		return exitFailure
	}
	// A configuration vdird would refuse is a fault of the conversion:
	// say so rather than hand it over.
	if _, err := config.Parse(target, res.TOML); err != nil {
		fmt.Fprintf(stderr, "vdird: the converted configuration does not load: %v\n", err)
		return exitFailure
	}
	if !write {
		_, err := stdout.Write(res.TOML)
		if err != nil {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
			return exitFailure
		}
		return 0
	}
	if err := writeConfig(target, res.TOML, force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			fmt.Fprintf(stderr, "vdird: %s exists: --force replaces it; without --write the config is printed, to merge by hand\n", target)
		} else {
			fmt.Fprintf(stderr, "vdird: %v\n", err)
		}
		return exitFailure
	}
	fmt.Fprintf(stderr, "vdird: wrote %s (accounts: %s); next: stop vdirsyncer, then vdird sync --dry-run\n", target, strings.Join(res.Accounts, ", "))
	return 0
}

// writeConfig writes data to path (mode 0600: it may hold an OAuth client
// secret), making its folder. An existing file is an fs.ErrExist, unless
// replace is set: then it is replaced whole in one rename (statefile.Write).
func writeConfig(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("config: %w", err)
		}
		return nil
	}
	if err := statefile.Write(path, data); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
