package vdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// stagePrefix names the hidden sibling in which a new collection folder is
// filled before it appears under its own name. Hidden, so vdir readers
// (khal, todoman, our own watcher) skip it while it fills.
const stagePrefix = ".vdird-stage-"

// StagePath returns where the staging folder of the collection folder path
// lives: beside it, in the same parent, so publishing it is one rename.
func StagePath(path string) string {
	return filepath.Join(filepath.Dir(path), stagePrefix+filepath.Base(path))
}

// CreateStaged starts a new collection folder that does not exist yet under
// a hidden name (StagePath), where WriteBatch creates each file directly
// under its final name: no unnamed file to link into place one by one,
// otherwise a large share of a first download's local cost
// (docs/performance.md). The folder appears under path
// only when Publish renames it, complete.
//
// A staging folder already there is a leftover of an interrupted start
// that the caller has decided holds nothing worth keeping: it is removed.
// The caller must not call this when path already exists.
func CreateStaged(path, ext string) (*Dir, error) {
	if err := checkExt(ext); err != nil {
		return nil, fmt.Errorf("create vdir %s: %w", path, err)
	}
	st := StagePath(path)
	if err := os.MkdirAll(filepath.Dir(st), 0o700); err != nil {
		return nil, fmt.Errorf("create vdir %s: %w", path, err)
	}
	if err := os.RemoveAll(st); err != nil {
		return nil, fmt.Errorf("create vdir %s: remove old staging folder: %w", path, err)
	}
	if err := os.Mkdir(st, 0o700); err != nil {
		return nil, fmt.Errorf("create vdir %s: %w", path, err)
	}
	// Durable before anything is recorded of it, and files are not flushed.
	if err := syncPath(filepath.Dir(st)); err != nil {
		return nil, fmt.Errorf("create vdir %s: %w", path, err)
	}
	return openStage(st, ext)
}

// OpenStaged opens the staging folder of path, for item files ending in
// ext, that an interrupted first download left behind; ErrNoDir when
// there is none.
func OpenStaged(path, ext string) (*Dir, error) {
	if err := checkExt(ext); err != nil {
		return nil, fmt.Errorf("open vdir %s: %w", path, err)
	}
	return openStage(StagePath(path), ext)
}

func openStage(st, ext string) (*Dir, error) {
	fi, err := os.Lstat(st)
	if err != nil {
		return nil, openError(st, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open vdir %s: %w", st, ErrNoDir)
	}
	d := &Dir{path: st, ext: ext, staged: true}
	return d, nil
}

// RemoveStaged removes the staging folder of path, if there is one: what
// an interrupted start left that the caller has found holds nothing worth
// keeping.
func RemoveStaged(path string) error {
	if err := os.RemoveAll(StagePath(path)); err != nil {
		return fmt.Errorf("remove staging folder of %s: %w", path, err)
	}
	return nil
}

// Staged reports whether d is a staging folder (CreateStaged, OpenStaged).
func (d *Dir) Staged() bool { return d.staged }

// Publish moves the staging folder d to path and returns the folder there;
// d must not be used afterwards. A caller recovering an interrupted
// download first removes what it never recorded (RemoveUnless) and what
// does not hold the bytes it recorded.
//
// Usually path does not exist and this is one flush of the filesystem
// (WriteBatch flushed none of d's files), one rename and one fsync of the
// parent. If a folder appeared at path meanwhile (the user made it), an
// empty one is replaced by the same rename; otherwise each file moves over
// on its own, never replacing one that is there: those names are returned
// in kept (the file at path is left as it was, and ours is dropped).
func (d *Dir) Publish(path string) (pub *Dir, kept []string, err error) {
	if !d.staged {
		return nil, nil, fmt.Errorf("publish %s: %s is not a staging folder", path, d.path)
	}
	if err := d.syncFS(nil); err != nil {
		return nil, nil, fmt.Errorf("publish %s: %w", path, err)
	}
	parent := filepath.Dir(path)
	err = os.Rename(d.path, path)
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST):
		if kept, err = d.mergeInto(path); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("publish %s: %w", path, err)
	}
	if err := syncPath(parent); err != nil {
		return nil, nil, fmt.Errorf("publish %s: %w", path, err)
	}
	pub, err = Open(path, d.ext)
	return pub, kept, err
}

// mergeInto moves every entry of the staging folder into the existing
// folder path without replacing anything there, then removes the staging
// folder.
func (d *Dir) mergeInto(path string) (kept []string, err error) {
	target, err := Open(path, d.ext)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", path, err)
	}
	des, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", path, err)
	}
	for _, de := range des {
		from, to := filepath.Join(d.path, de.Name()), filepath.Join(target.path, de.Name())
		if !de.Type().IsRegular() {
			continue // nothing of ours; left for RemoveAll below
		}
		switch err := renameNoReplace(from, to); {
		case err == nil:
		case errors.Is(err, fs.ErrExist):
			if d.isItemName(de.Name()) {
				kept = append(kept, de.Name())
			}
		default:
			return kept, fmt.Errorf("publish %s: move %s: %w", path, de.Name(), err)
		}
	}
	if err := target.syncDir(); err != nil {
		return kept, fmt.Errorf("publish %s: %w", path, err)
	}
	if err := os.RemoveAll(d.path); err != nil {
		return kept, fmt.Errorf("publish %s: remove staging folder: %w", path, err)
	}
	return kept, nil
}

// RemoveUnless removes every temp file of the staging folder d and every
// item file for which keep(name) is false, and makes that durable. A
// recovery calls it with "recorded in state": what an interrupted download
// wrote but never recorded may be incomplete.
func (d *Dir) RemoveUnless(keep func(name string) bool) (removed int, err error) {
	if !d.staged {
		return 0, fmt.Errorf("remove in %s: not a staging folder", d.path)
	}
	des, err := os.ReadDir(d.path)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", d.path, err)
	}
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || (!isTempName(name) && !d.isItemName(name) && !d.isConflictName(name)) {
			continue // displayname, color: written whole by writeMeta
		}
		if !isTempName(name) && keep(name) {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove %s: %w", name, err)
		}
		removed++
	}
	if removed > 0 {
		if err := d.syncDir(); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
