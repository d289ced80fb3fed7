package vdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Whose version a conflict copy holds (ConflictNote.Side).
const (
	LocalVersion  = "local"
	ServerVersion = "server"
)

// ConflictNote is kept beside a conflict copy, so that the conflict can be
// shown and settled later, property by property: whose version the copy
// holds, the item file it belongs to, and, when the two versions were
// merged, the last synced version both edits started from.
type ConflictNote struct {
	Side string `json:"side"`           // LocalVersion or ServerVersion: whose version the copy holds
	Name string `json:"name"`           // the item file
	Base []byte `json:"base,omitempty"` // the base of the merge; nil when the versions were not merged
}

// noteName is the hidden file beside a conflict copy that holds its note:
// hidden, so neither vdird nor another tool lists it.
func noteName(copyName string) string { return "." + copyName + ".note" }

// WriteConflictNote keeps n beside the conflict copy copyName, replacing
// the note it had.
func (d *Dir) WriteConflictNote(copyName string, n ConflictNote) error {
	if err := checkName(copyName); err != nil || !d.isConflictName(copyName) {
		return fmt.Errorf("conflict note: %w: %q is not a conflict copy", ErrBadName, copyName)
	}
	data, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("conflict note of %s: %w", copyName, err)
	}
	return d.writeMeta(noteName(copyName), string(data))
}

// ConflictNote reads the note kept beside the conflict copy copyName; ok is
// false when it has none (a copy made by an older vdird, or by hand).
func (d *Dir) ConflictNote(copyName string) (n ConflictNote, ok bool, err error) {
	if err := checkName(copyName); err != nil {
		return n, false, fmt.Errorf("conflict note: %w", err)
	}
	text, err := d.readMeta(noteName(copyName))
	if err != nil || text == "" {
		return n, false, err
	}
	if err := json.Unmarshal([]byte(text), &n); err != nil {
		return n, false, fmt.Errorf("conflict note of %s: %w", copyName, err)
	}
	return n, true, nil
}

// RemoveConflictCopy removes the conflict copy copyName, if it still has
// the fingerprint expect (else ErrChanged), and its note.
func (d *Dir) RemoveConflictCopy(copyName string, expect Fingerprint) error {
	if !d.isConflictName(copyName) {
		return fmt.Errorf("remove conflict copy: %w: %q is not a conflict copy", ErrBadName, copyName)
	}
	if err := d.Delete(copyName, expect); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(d.path, noteName(copyName))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove conflict note of %s: %w", copyName, err)
	}
	return d.syncDir()
}

// ConflictCopyOf tells, from a conflict copy's name, the item file it was
// made of and when (UTC, to the second), in a calendar's folder or an
// address book's. ok is false for a name that is not a conflict copy's. A
// copy of a file with a long or unusual name is named by a hash of it: its
// note names the file.
func ConflictCopyOf(copyName string) (item string, at time.Time, ok bool) {
	i := strings.LastIndex(copyName, conflictInfix)
	if strings.HasPrefix(copyName, ".") || i < 0 {
		return "", time.Time{}, false
	}
	item, stamp := copyName[:i], copyName[i+len(conflictInfix):]
	if len(item) <= len(ICS) || !strings.HasSuffix(item, ICS) && !strings.HasSuffix(item, VCF) {
		return "", time.Time{}, false
	}
	if len(stamp) < len(conflictTimeFormat) {
		return "", time.Time{}, false
	}
	at, err := time.Parse(conflictTimeFormat, stamp[:len(conflictTimeFormat)])
	return item, at, err == nil
}
