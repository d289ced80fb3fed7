package vdir

import (
	"os"

	"golang.org/x/sys/unix"

	"fmt"
	"strings"
	"sync"
)

// batchParallel bounds concurrent temp-file fsyncs in WriteBatch: enough
// to overlap device flushes, few enough not to flood a slow disk.
const batchParallel = 4

// NewFile is one file for WriteBatch.
type NewFile struct {
	Name string
	Data []byte
}

// BatchError reports per-file failures of WriteBatch. Errs[i] belongs to
// files[i] and is nil for files that were written. errors.Is(err,
// ErrChanged) holds when any file already existed.
type BatchError struct {
	Errs []error
}

func (e *BatchError) Error() string {
	var msgs []string
	for _, err := range e.Errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	return fmt.Sprintf("write batch: %d of %d failed: %s", len(msgs), len(e.Errs), strings.Join(msgs, "; "))
}

func (e *BatchError) Unwrap() []error { return e.Errs }

// WriteBatch creates many NEW files durably with a single folder fsync,
// which is what makes downloading a whole calendar fast: each file goes to
// its own fsynced temp file (up to 4 at a time), then each is linked into
// place (never replacing an existing entry), then the folder is fsynced
// once.
//
// The returned slice has one fingerprint per file (zero for failures). A
// file that already exists (or is named twice) is not written and gets
// ErrChanged in the returned *BatchError; the other files are still
// written. An error that is not a *BatchError (the folder fsync failed)
// means no file may be counted on.
func (d *Dir) WriteBatch(files []NewFile) ([]Fingerprint, error) {
	fps := make([]Fingerprint, len(files))
	errs := make([]error, len(files))
	tmps := make([]string, len(files))
	seen := make(map[string]bool, len(files))
	for i, f := range files {
		switch {
		case checkName(f.Name) != nil:
			errs[i] = fmt.Errorf("write %q: %w", f.Name, ErrBadName)
		case isTempName(f.Name):
			errs[i] = fmt.Errorf("write %q: temp name: %w", f.Name, ErrBadName)
		case seen[f.Name]:
			errs[i] = fmt.Errorf("create %s: named twice in batch: %w", f.Name, ErrChanged)
		}
		// An existing file is not checked here: install refuses to replace
		// it, and a fresh folder (the common case) would pay one lstat per
		// file for nothing.
		seen[f.Name] = true
	}

	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < batchParallel && w < len(files); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				tmp, fp, err := d.writeTempSync(files[i].Data, 0, false)
				if err != nil {
					errs[i] = fmt.Errorf("write %s: %w", files[i].Name, err)
					continue
				}
				tmps[i], fps[i] = tmp, fp
			}
		}()
	}
	for i := range files {
		if errs[i] == nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()

	// One flush of the filesystem makes every temp file durable before any
	// is linked into place: a crash leaves either a complete item or an
	// ignored temp file, never a torn item.
	if err := d.syncFS(); err != nil {
		for i := range files {
			if tmps[i] != "" {
				os.Remove(tmps[i])
			}
		}
		return make([]Fingerprint, len(files)), fmt.Errorf("write batch: %w", err)
	}
	installed := 0
	for i, f := range files {
		if errs[i] != nil {
			fps[i] = Fingerprint{}
			continue
		}
		if err := d.install(tmps[i], f.Name, nil); err != nil {
			errs[i], fps[i] = err, Fingerprint{}
			continue
		}
		installed++
	}
	if installed > 0 {
		if err := d.syncDir(); err != nil {
			return make([]Fingerprint, len(files)), fmt.Errorf("write batch: %w", err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return fps, &BatchError{Errs: errs}
		}
	}
	return fps, nil
}

// syncFS flushes the filesystem holding the folder (syncfs(2)): one call
// instead of one fsync per file.
func (d *Dir) syncFS() error {
	f, err := os.Open(d.path)
	if err != nil {
		return fmt.Errorf("syncfs %s: %w", d.path, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", d.path, err)
	}
	return nil
}
