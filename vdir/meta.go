package vdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// conflictTimeFormat is the UTC stamp in "NAME.conflict-YYYYMMDDTHHMMSSZ".
const conflictTimeFormat = "20060102T150405Z"

// maxFileName is the usual NAME_MAX of Linux file systems.
const maxFileName = 255

// WriteConflictCopy preserves data (the losing side of a conflict) as
// "NAME.conflict-YYYYMMDDTHHMMSSZ" beside name, adding "-2", "-3"... when
// that name is taken, and returns the name used. The suffix deliberately
// does not end in the folder's extension, so no tool syncs or shows the
// copy as an item.
// The copy is written atomically and durably like Write.
func (d *Dir) WriteConflictCopy(name string, data []byte, at time.Time) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("conflict copy: %w", err)
	}
	base := name
	stamp := ".conflict-" + at.UTC().Format(conflictTimeFormat)
	// Keep the result a legal file name that ConflictCopies recognises
	// ("*.ics.conflict-*" for ICS); the hash keeps it unique.
	if len(base)+len(stamp)+4 > maxFileName || !strings.HasSuffix(base, d.ext) || strings.HasPrefix(base, ".") {
		base = "h" + Hash([]byte(name))[:40] + d.ext
	}
	for i := 1; i < 10000; i++ {
		cand := base + stamp
		if i > 1 {
			cand += "-" + strconv.Itoa(i)
		}
		_, err := d.writeNoSync(cand, data, nil)
		if errors.Is(err, ErrChanged) {
			continue // taken: try the next suffix
		}
		if err != nil {
			return "", fmt.Errorf("conflict copy of %s: %w", name, err)
		}
		if err := d.syncDir(); err != nil {
			return "", fmt.Errorf("conflict copy of %s: %w", name, err)
		}
		return cand, nil
	}
	return "", fmt.Errorf("conflict copy of %s: too many copies at %s", name, stamp)
}

// ConflictCopies returns the names of the conflict copies in the folder,
// sorted, so status can report them.
func (d *Dir) ConflictCopies() ([]string, error) {
	des, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("conflict copies in %s: %w", d.path, err)
	}
	var out []string
	for _, de := range des {
		if d.isConflictName(de.Name()) && de.Type().IsRegular() {
			out = append(out, de.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// DisplayName returns the content of the "displayname" file with the
// trailing newline trimmed (vdirsyncer convention). Missing → "", nil.
func (d *Dir) DisplayName() (string, error) { return d.readMeta(displayNameFile) }

// SetDisplayName writes the "displayname" file atomically; "" removes it.
func (d *Dir) SetDisplayName(s string) error { return d.writeMeta(displayNameFile, s) }

// Color returns the content of the "color" file (e.g. "#ff8800"),
// trailing newline trimmed. Missing → "", nil.
func (d *Dir) Color() (string, error) { return d.readMeta(colorFile) }

// SetColor writes the "color" file atomically; "" removes it.
func (d *Dir) SetColor(s string) error { return d.writeMeta(colorFile, s) }

// Description returns the content of the "description" file, trailing
// newline trimmed. Missing → "", nil.
func (d *Dir) Description() (string, error) { return d.readMeta(descriptionFile) }

// SetDescription writes the "description" file atomically; "" removes it.
func (d *Dir) SetDescription(s string) error { return d.writeMeta(descriptionFile, s) }

func (d *Dir) readMeta(file string) (string, error) {
	data, _, err := readNoFollow(filepath.Join(d.path, file))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

func (d *Dir) writeMeta(file, value string) error {
	path := filepath.Join(d.path, file)
	if value == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", file, err)
		}
		return d.syncDir()
	}
	// Unconditional replace: metadata has no conflict handling. rename(2)
	// replaces a symlink itself, never its target.
	tmp, _, err := d.writeTemp([]byte(value), 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", file, err)
	}
	return d.syncDir()
}

// MetaFiles are the names of the metadata files a folder may hold beside
// its items.
func MetaFiles() []string { return []string{displayNameFile, colorFile, descriptionFile} }
