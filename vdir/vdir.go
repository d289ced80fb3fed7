// Package vdir reads and writes one collection's local folder in the vdir
// convention used by vdirsyncer, khal, todoman and khard: one directory per
// collection, one file per item (".ics" in a calendar's, ".vcf" in an
// address book's: the folder's extension), optional "displayname" and
// "color" files beside them.
//
// The package knows nothing of HTTP or sync state. Its job is to make every
// change safe against concurrent editors and crashes: writes go through a
// hidden temp file that is fsynced and renamed into place, and every
// replace or delete is conditional on the stat fingerprint the caller saw
// when it listed the directory, so an edit made in between is never
// silently overwritten (the caller sees ErrChanged and handles it as a
// conflict on the next pass). A new folder can instead be filled under a
// hidden name and published whole (CreateStaged, Publish), so that no
// reader sees it half-written.
package vdir

import (
	"io"

	"github.com/vdird/vdird/internal/setsum"

	"golang.org/x/sys/unix"

	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
)

var (
	// ErrNoDir means the collection root is missing or is not a directory.
	// Open never creates it: a missing folder (an unmounted disk, a typo)
	// must not look like an empty collection.
	ErrNoDir = errors.New("vdir: collection directory missing or not a directory")
	// ErrChanged means the file no longer has the fingerprint the caller
	// expected (or already exists when a create was asked for). Nothing was
	// written or removed.
	ErrChanged = errors.New("vdir: file changed since it was listed")
	// ErrBadName means a name is not a single plain path element, or an
	// extension is not a dot and a few letters.
	ErrBadName = errors.New("vdir: invalid file name")
	// ErrNotRegular means the name exists but is not a regular file
	// (a symlink, a directory, a FIFO...). Such entries are never read
	// through or written through.
	ErrNotRegular = errors.New("vdir: not a regular file")
)

const (
	tempPrefix      = ".vdird-"
	tempSuffix      = ".tmp"
	conflictInfix   = ".conflict-"
	displayNameFile = "displayname"
	colorFile       = "color"
	descriptionFile = "description"
)

// The item file extensions, one per kind of collection.
const (
	ICS = ".ics" // iCalendar objects, in a calendar's folder
	VCF = ".vcf" // vCards, in an address book's folder
)

// Fingerprint identifies one version of a file by its lstat data. ctime is
// deliberately not used: our own rename changes it, and it cannot be
// preserved by backups or copies. An in-place edit that keeps the size
// within one mtime tick of the file system goes unseen; editors that save
// atomically always change the inode.
type Fingerprint struct {
	Size  int64
	ModNs int64 // modification time, nanoseconds since the Unix epoch
	Inode uint64
}

// Entry is one item file found by List.
type Entry struct {
	Name        string
	Fingerprint Fingerprint
}

// Dir is one collection folder.
type Dir struct {
	path      string
	ext       string      // the item files' extension, e.g. ICS
	noTmpfile atomic.Bool // O_TMPFILE failed here once: WriteBatch uses temp files
	staged    bool        // a staging folder (CreateStaged): WriteBatch creates files under their names
}

// Open opens an existing collection folder whose item files end in ext
// (ICS, VCF). A symlinked root is allowed: it is resolved once here, so
// later operations all act on the same directory even if the link is
// changed meanwhile.
func Open(path, ext string) (*Dir, error) {
	if err := checkExt(ext); err != nil {
		return nil, fmt.Errorf("open vdir %s: %w", path, err)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, openError(path, err)
	}
	resolved, err = filepath.Abs(resolved)
	if err != nil {
		return nil, fmt.Errorf("open vdir %s: %w", path, err)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return nil, openError(path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open vdir %s: %w", path, ErrNoDir)
	}
	return &Dir{path: resolved, ext: ext}, nil
}

// checkExt accepts a dot and one to eight ASCII letters or digits.
func checkExt(ext string) error {
	if len(ext) < 2 || len(ext) > 9 || ext[0] != '.' {
		return fmt.Errorf("%w: extension %q", ErrBadName, ext)
	}
	for _, c := range ext[1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w: extension %q", ErrBadName, ext)
		}
	}
	return nil
}

// openError classifies a failure to reach the root: missing (or a dangling
// or looping link) is ErrNoDir; anything else, such as a permission
// problem, is reported as itself.
func openError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("open vdir %s: %w (%w)", path, ErrNoDir, err)
	}
	return fmt.Errorf("open vdir %s: %w", path, err)
}

// Create makes the folder (mode 0700, parents included) if needed and opens
// it for item files ending in ext.
func Create(path, ext string) (*Dir, error) {
	if err := checkExt(ext); err != nil {
		return nil, fmt.Errorf("create vdir %s: %w", path, err)
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("create vdir %s: %w", path, err)
	}
	return Open(path, ext)
}

// Path returns the resolved absolute path of the folder.
func (d *Dir) Path() string { return d.path }

// Ext returns the extension of the folder's item files.
func (d *Dir) Ext() string { return d.ext }

// isItemName reports whether List treats name as an item in a folder of
// extension ext: "*.ics" for ICS, not hidden (editor swap files, our temp
// files), not a conflict copy.
func isItemName(name, ext string) bool {
	return len(name) > len(ext) && strings.HasSuffix(name, ext) &&
		!strings.HasPrefix(name, ".") &&
		!strings.Contains(name, conflictInfix)
}

func (d *Dir) isItemName(name string) bool { return isItemName(name, d.ext) }

func isTempName(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, tempSuffix)
}

// isConflictName reports whether name is a conflict copy of an item file.
func (d *Dir) isConflictName(name string) bool {
	return !strings.HasPrefix(name, ".") && strings.Contains(name, d.ext+conflictInfix)
}

// checkName accepts only a single plain path element, so no caller can make
// the package touch anything outside the folder.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
}

func fingerprintOf(fi fs.FileInfo) Fingerprint {
	fp := Fingerprint{Size: fi.Size(), ModNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		fp.Inode = uint64(st.Ino)
	}
	return fp
}

// List returns the item files, sorted by name. It only stats (never reads)
// so a big folder is cheap to rescan.
func (d *Dir) List() ([]Entry, error) {
	des, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.path, err)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		// The d_type check skips symlinks and directories without a stat.
		if !d.isItemName(name) || !de.Type().IsRegular() {
			continue
		}
		fi, err := os.Lstat(filepath.Join(d.path, name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while we listed: simply not there
			}
			return nil, fmt.Errorf("list %s: %w", d.path, err)
		}
		if !fi.Mode().IsRegular() { // replaced by a link/dir since readdir
			continue
		}
		out = append(out, Entry{Name: name, Fingerprint: fingerprintOf(fi)})
	}
	// os.ReadDir already sorts, but the order is part of the contract.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Sum returns the setsum of the item files List would return (the
// setsum.FileRecord of each name and fingerprint) and whether temp files
// left by a crash are present. It keeps nothing, so a folder of any size
// costs constant memory: comparing it with the sum state recorded tells
// "nothing changed" without a listing.
func (d *Dir) Sum() (sum setsum.Sum, temps bool, err error) {
	shards, temps, err := d.Shards()
	return shards.Total(), temps, err
}

// Shards is Sum split by file name (setsum.Shards), the way state splits
// the recorded sum: the shards that differ name the only files a scan
// needs to look up.
func (d *Dir) Shards() (shards setsum.Shards, temps bool, err error) {
	temps, err = d.Each(func(e Entry) error {
		shards.Add(e.Name, setsum.FileRecord(e.Name, e.Fingerprint.Size, e.Fingerprint.ModNs, e.Fingerprint.Inode))
		return nil
	})
	if err != nil {
		return setsum.Shards{}, false, err
	}
	return shards, temps, nil
}

// Each calls fn for every item file List would return, in directory order,
// reading the folder in chunks so that nothing grows with its size. It
// reports whether temp files left by a crash are present. An error from fn
// stops it and is returned.
func (d *Dir) Each(fn func(Entry) error) (temps bool, err error) {
	return d.EachNamed(nil, fn)
}

// EachNamed is Each for the item files whose name want accepts (nil: all):
// the others are not even stat'ed, so a scan for a few names in a big
// folder costs a directory read.
func (d *Dir) EachNamed(want func(name string) bool, fn func(Entry) error) (temps bool, err error) {
	f, err := os.Open(d.path)
	if err != nil {
		return false, fmt.Errorf("list %s: %w", d.path, err)
	}
	defer f.Close()
	for {
		des, rerr := f.ReadDir(512)
		for _, de := range des {
			name := de.Name()
			if isTempName(name) && de.Type().IsRegular() {
				temps = true
			}
			if !d.isItemName(name) || !de.Type().IsRegular() || (want != nil && !want(name)) {
				continue
			}
			fi, err := os.Lstat(filepath.Join(d.path, name))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return false, fmt.Errorf("list %s: %w", d.path, err)
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			if err := fn(Entry{Name: name, Fingerprint: fingerprintOf(fi)}); err != nil {
				return false, err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return temps, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("list %s: %w", d.path, rerr)
		}
	}
}

// Stat returns the fingerprint of name. A missing file gives an error
// wrapping fs.ErrNotExist; a symlink or other non-regular entry gives
// ErrNotRegular.
func (d *Dir) Stat(name string) (Fingerprint, error) {
	if err := checkName(name); err != nil {
		return Fingerprint{}, fmt.Errorf("stat: %w", err)
	}
	fi, err := os.Lstat(filepath.Join(d.path, name))
	if err != nil {
		return Fingerprint{}, fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return Fingerprint{}, fmt.Errorf("stat %s: %w", name, ErrNotRegular)
	}
	return fingerprintOf(fi), nil
}

// Read returns the content of name and the fingerprint of exactly the
// bytes returned (fstat of the open handle, so a concurrent atomic save
// cannot pair new bytes with an old fingerprint). Symlinks are refused.
func (d *Dir) Read(name string) ([]byte, Fingerprint, error) {
	if err := checkName(name); err != nil {
		return nil, Fingerprint{}, fmt.Errorf("read: %w", err)
	}
	return readNoFollow(filepath.Join(d.path, name))
}

func readNoFollow(path string) ([]byte, Fingerprint, error) {
	// O_NONBLOCK: a FIFO named like an item must not hang the daemon.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, Fingerprint{}, fmt.Errorf("read %s: %w", path, ErrNotRegular)
		}
		return nil, Fingerprint{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, Fingerprint{}, fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, Fingerprint{}, fmt.Errorf("read %s: %w", path, ErrNotRegular)
	}
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+512))
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, Fingerprint{}, fmt.Errorf("read %s: %w", path, err)
	}
	data := buf.Bytes()
	return data, fingerprintOf(fi), nil
}

// checkExpect verifies that name is in the state the caller expects:
// absent when expect is nil, otherwise a regular file with exactly *expect.
// It returns the current mode when the file exists, so a replace keeps it.
func (d *Dir) checkExpect(name string, expect *Fingerprint) (fs.FileMode, error) {
	fi, err := os.Lstat(filepath.Join(d.path, name))
	if expect == nil {
		if err == nil {
			return 0, fmt.Errorf("create %s: already exists: %w", name, ErrChanged)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("create %s: %w", name, err)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("replace %s: removed since listing: %w", name, ErrChanged)
		}
		return 0, fmt.Errorf("replace %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("replace %s: not a regular file any more: %w", name, ErrChanged)
	}
	if fingerprintOf(fi) != *expect {
		return 0, fmt.Errorf("replace %s: modified since listing: %w", name, ErrChanged)
	}
	return fi.Mode().Perm(), nil
}

// writeTemp writes data to a new hidden temp file in the folder and fsyncs
// it. It returns the temp file's name and the fingerprint of what was
// written (taken from the handle, valid after rename since rename keeps
// inode, size and mtime).
func (d *Dir) writeTemp(data []byte, perm fs.FileMode) (string, Fingerprint, error) {
	return d.writeTempSync(data, perm, true)
}

// writeTempSync writes data to a new hidden temp file, fsyncing it when
// fsync is set; WriteBatch flushes many at once with syncfs instead.
func (d *Dir) writeTempSync(data []byte, perm fs.FileMode, fsync bool) (string, Fingerprint, error) {
	f, err := os.CreateTemp(d.path, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return "", Fingerprint{}, fmt.Errorf("temp file in %s: %w", d.path, err)
	}
	tmp := f.Name()
	fail := func(err error) (string, Fingerprint, error) {
		f.Close()
		os.Remove(tmp)
		return "", Fingerprint{}, fmt.Errorf("write temp %s: %w", tmp, err)
	}
	if perm != 0 && perm != 0o600 {
		if err := f.Chmod(perm); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if fsync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", Fingerprint{}, fmt.Errorf("write temp %s: %w", tmp, err)
	}
	return tmp, fingerprintOf(fi), nil
}

// syncDir makes renames and unlinks in the folder durable.
func (d *Dir) syncDir() error { return syncPath(d.path) }

// syncPath fsyncs the directory at path.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", path, err)
	}
	return nil
}

// renameNoReplace moves from to to but never replaces an entry there (the
// error then wraps fs.ErrExist): renameat2(RENAME_NOREPLACE), or link(2)
// and unlink where the filesystem has no renameat2. Any other error means
// nothing was moved.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP) {
		if err = os.Link(from, to); err == nil {
			os.Remove(from) // moved already; a leftover is only a second name
		}
	}
	return err
}

// Write replaces name atomically with data and returns the new fingerprint.
//
// With expect == nil the file must not exist (any entry there, even a
// dangling symlink, gives ErrChanged). With expect != nil it must still be a
// regular file with exactly *expect, else ErrChanged and nothing is
// written. A symlink at name is never followed: it is ErrChanged.
//
// Steps: hidden temp file ".vdird-*.tmp" in the same folder → write →
// fsync → re-check the target → rename (or, for a create, link, which fails
// rather than clobbering a file that appeared meanwhile) → fsync folder.
// A crash at any point leaves either the old or the new content under
// name, plus at worst a temp file that List ignores and CleanTemp removes.
func (d *Dir) Write(name string, data []byte, expect *Fingerprint) (Fingerprint, error) {
	if err := checkName(name); err != nil {
		return Fingerprint{}, fmt.Errorf("write: %w", err)
	}
	if isTempName(name) {
		return Fingerprint{}, fmt.Errorf("write: %w: %q is a temp name", ErrBadName, name)
	}
	fp, err := d.writeNoSync(name, data, expect)
	if err != nil {
		return Fingerprint{}, err
	}
	if err := d.syncDir(); err != nil {
		return Fingerprint{}, fmt.Errorf("write %s: %w", name, err)
	}
	return fp, nil
}

// writeNoSync is Write without the final folder fsync, so batches can
// share one.
func (d *Dir) writeNoSync(name string, data []byte, expect *Fingerprint) (Fingerprint, error) {
	// Check first so a stale caller costs no temp file.
	perm, err := d.checkExpect(name, expect)
	if err != nil {
		return Fingerprint{}, err
	}
	tmp, fp, err := d.writeTemp(data, perm)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("write %s: %w", name, err)
	}
	return fp, d.install(tmp, name, expect)
}

// install moves a finished temp file to name under the expect condition.
// The temp file is gone afterwards whatever happens.
func (d *Dir) install(tmp, name string, expect *Fingerprint) error {
	target := filepath.Join(d.path, name)
	if expect == nil {
		// renameat2(RENAME_NOREPLACE), or link(2) where that is not
		// supported, refuses to replace an existing entry, closing the
		// window between our check and the rename. The rename is one
		// directory update where link + unlink are two.
		err := renameNoReplace(tmp, target)
		if err == nil {
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			os.Remove(tmp)
			return fmt.Errorf("create %s: already exists: %w", name, ErrChanged)
		}
		// Filesystems with neither: fall back to check + rename.
	}
	if _, err := d.checkExpect(name, expect); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Delete removes name if it still has fingerprint expect (else ErrChanged).
// A file that is already gone is success: the goal state is reached.
func (d *Dir) Delete(name string, expect Fingerprint) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	path := filepath.Join(d.path, name)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() || fingerprintOf(fi) != expect {
		return fmt.Errorf("delete %s: modified since listing: %w", name, ErrChanged)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if err := d.syncDir(); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// CleanTemp removes temp files ".vdird-*.tmp" left behind by a crash and
// returns how many it removed. Call it at start-up, before any writer runs.
func (d *Dir) CleanTemp() (int, error) {
	des, err := os.ReadDir(d.path)
	if err != nil {
		return 0, fmt.Errorf("clean temp in %s: %w", d.path, err)
	}
	n := 0
	for _, de := range des {
		if !isTempName(de.Name()) || !de.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("clean temp %s: %w", de.Name(), err)
		}
		n++
	}
	if n > 0 {
		if err := d.syncDir(); err != nil {
			return n, fmt.Errorf("clean temp: %w", err)
		}
	}
	return n, nil
}

// Hash returns the content hash used everywhere in vdird: hex SHA-256.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
