package vdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// batchParallel bounds the files WriteBatch writes at once. A staging
// folder's batch creates them one at a time: creates in one folder
// serialise on its lock, and more creators only spin on it.
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
// which is what makes downloading a whole calendar fast: each file is
// written (up to 4 at a time) to an unnamed file (O_TMPFILE, where the
// filesystem has it, else a hidden temp file), one flush of the filesystem
// makes all of them durable, then each is linked into place (never
// replacing an existing entry) and the folder is fsynced once.
//
// An unnamed file costs one directory update (the link) where a temp file
// costs two (create, rename), and a crash before the link leaves nothing
// behind: the filesystem frees the inode.
//
// In a staging folder each file is created under its name and nothing is
// flushed (Publish flushes the folder once): until then a power cut may
// leave a file lost, empty or torn, so a resume checks each one first.
//
// The returned slice has one fingerprint per file (zero for failures). A
// file that already exists (or is named twice) is not written and gets
// ErrChanged in the returned *BatchError; the other files are still
// written. An error that is not a *BatchError (the folder fsync failed)
// means no file may be counted on.
func (d *Dir) WriteBatch(files []NewFile) ([]Fingerprint, error) {
	if m := maxHeld(); len(files) > m {
		return d.writeBatchParts(files, m)
	}
	b := &batch{d: d, files: files, fps: make([]Fingerprint, len(files)), errs: checkBatch(files),
		pend: make([]pendingFile, len(files)), late: make([]bool, len(files))}
	// Whatever is not installed is dropped on return: unnamed files by
	// closing them, temp files by removing them.
	defer func() {
		for i := range b.pend {
			b.pend[i].discard()
		}
	}()
	b.writeAll()

	// One flush of the filesystem makes every file's content durable before
	// any is linked into place: a crash leaves either a complete item or
	// nothing (an unnamed file) or an ignored temp file, never a torn item.
	if !d.staged {
		if err := d.syncFS(b.heldFile()); err != nil {
			return make([]Fingerprint, len(files)), fmt.Errorf("write batch: %w", err)
		}
	}
	if b.install() > 0 && !d.staged {
		if err := d.syncDir(); err != nil {
			return make([]Fingerprint, len(files)), fmt.Errorf("write batch: %w", err)
		}
	}
	for _, err := range b.errs {
		if err != nil {
			return b.fps, &BatchError{Errs: b.errs}
		}
	}
	return b.fps, nil
}

// batch is one WriteBatch call: per file its fingerprint, error and
// pending (written, not yet named) file.
type batch struct {
	d     *Dir
	files []NewFile
	fps   []Fingerprint
	errs  []error
	pend  []pendingFile
	// Unnamed files stay open until linked; a file that found no free file
	// descriptor (a low open-file limit, several big downloads at once) is
	// written after the others are linked and closed, as a temp file.
	late []bool
}

// checkBatch refuses bad names, temp names and names given twice. An
// existing file is not checked here: install refuses to replace it, and a
// fresh folder (the common case) would pay one lstat per file for nothing.
func checkBatch(files []NewFile) []error {
	errs := make([]error, len(files))
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
		seen[f.Name] = true
	}
	return errs
}

// writeAll writes every good file as a pending file, a few at a time.
func (b *batch) writeAll() {
	workers := batchParallel
	if b.d.staged {
		workers = 1
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers && w < len(b.files); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p, err := b.d.writePending(b.files[i].Name, b.files[i].Data)
				if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
					b.late[i] = true // retried once the batch's files are closed
					continue
				}
				if err != nil {
					b.errs[i] = fmt.Errorf("write %s: %w", b.files[i].Name, err)
					continue
				}
				b.pend[i], b.fps[i] = p, p.fp
			}
		}()
	}
	for i := range b.files {
		if b.errs[i] == nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()
}

// heldFile is any open pending file: syncfs needs a descriptor on the
// filesystem, and one held is one less to open.
func (b *batch) heldFile() *os.File {
	for i := range b.pend {
		if b.pend[i].f != nil {
			return b.pend[i].f
		}
	}
	return nil
}

// install links the pending files into place, then writes the late ones,
// and returns how many files it installed.
func (b *batch) install() int {
	installed := 0
	for i, f := range b.files {
		if b.errs[i] != nil || b.late[i] {
			b.fps[i] = Fingerprint{}
			continue
		}
		fp, err := b.d.installPending(&b.pend[i], f.Name, f.Data)
		if err != nil {
			b.errs[i], b.fps[i] = err, Fingerprint{}
			continue
		}
		b.fps[i] = fp
		installed++
	}
	for i, f := range b.files {
		if !b.late[i] {
			continue
		}
		fp, err := b.d.writeNoSync(f.Name, f.Data, nil)
		if err != nil {
			b.errs[i] = err
			continue
		}
		b.fps[i] = fp
		installed++
	}
	return installed
}

// procFD names an open file descriptor as a path linkat can follow (a
// variable so tests can take /proc away).
var procFD = "/proc/self/fd/"

// pendingFile is a written file not yet under its name: an open O_TMPFILE
// handle (f) or a hidden temp file (tmp); or, in a staging folder, one
// already under its name (named), which needs no install.
type pendingFile struct {
	f     *os.File
	tmp   string
	named string // path of a file created under its name (staging folder)
	fp    Fingerprint
}

// discard drops a pending file that was not installed.
func (p *pendingFile) discard() {
	if p.f != nil {
		p.f.Close()
	}
	if p.tmp != "" {
		os.Remove(p.tmp)
	}
	if p.named != "" {
		os.Remove(p.named)
	}
	*p = pendingFile{}
}

// writePending writes data to an unnamed file in the folder, or to a hidden
// temp file where the filesystem (or kernel) has no O_TMPFILE, without
// fsync: WriteBatch flushes them all at once. In a staging folder, which
// nobody reads until it is published, the file is created under its name.
func (d *Dir) writePending(name string, data []byte) (pendingFile, error) {
	if d.staged {
		return d.writeNamed(name, data)
	}
	if !d.noTmpfile.Load() {
		fd, err := unix.Open(d.path, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		switch {
		case err == nil:
			f := os.NewFile(uintptr(fd), d.path+"/(unnamed)")
			fail := func(err error) (pendingFile, error) {
				f.Close()
				return pendingFile{}, fmt.Errorf("write unnamed file in %s: %w", d.path, err)
			}
			if _, err := f.Write(data); err != nil {
				return fail(err)
			}
			fi, err := f.Stat()
			if err != nil {
				return fail(err)
			}
			return pendingFile{f: f, fp: fingerprintOf(fi)}, nil
		case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
			// No O_TMPFILE here (old kernel, FUSE, NFS…): temp files from now on.
			d.noTmpfile.Store(true)
		default:
			return pendingFile{}, fmt.Errorf("unnamed file in %s: %w", d.path, err)
		}
	}
	tmp, fp, err := d.writeTempSync(data, 0, false)
	if err != nil {
		return pendingFile{}, err
	}
	return pendingFile{tmp: tmp, fp: fp}, nil
}

// writeNamed creates name in a staging folder and writes data to it,
// without fsync; a file that exists is ErrChanged.
func (d *Dir) writeNamed(name string, data []byte) (pendingFile, error) {
	path := filepath.Join(d.path, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return pendingFile{}, fmt.Errorf("create %s: already exists: %w", name, ErrChanged)
	}
	if err != nil {
		return pendingFile{}, err
	}
	p := pendingFile{named: path}
	_, err = f.Write(data)
	var fi fs.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.discard()
		return pendingFile{}, err
	}
	p.fp = fingerprintOf(fi)
	return p, nil
}

// installPending gives a pending file its name, never replacing an existing
// entry. An unnamed file is linked through /proc/self/fd; where that
// fails for another reason than the name being taken (no /proc), data is
// written again the way Write does (temp file, fsync, install).
func (d *Dir) installPending(p *pendingFile, name string, data []byte) (Fingerprint, error) {
	fp := p.fp
	if p.named != "" {
		p.named = "" // in place already
		return fp, nil
	}
	if p.tmp != "" {
		tmp := p.tmp
		p.tmp = "" // install removes it whatever happens
		return fp, d.install(tmp, name, nil)
	}
	target := filepath.Join(d.path, name)
	// The link keeps inode, size and mtime: the fingerprint stays valid.
	err := unix.Linkat(unix.AT_FDCWD, procFD+strconv.Itoa(int(p.f.Fd())), unix.AT_FDCWD, target, unix.AT_SYMLINK_FOLLOW)
	p.discard()
	switch {
	case err == nil:
		return fp, nil
	case errors.Is(err, fs.ErrExist):
		return Fingerprint{}, fmt.Errorf("create %s: already exists: %w", name, ErrChanged)
	}
	fp, werr := d.writeNoSync(name, data, nil)
	if werr != nil {
		return Fingerprint{}, fmt.Errorf("link unnamed file: %v; %w", err, werr)
	}
	return fp, nil
}

// writeBatchParts writes files as consecutive batches of at most m.
func (d *Dir) writeBatchParts(files []NewFile, m int) ([]Fingerprint, error) {
	fps := make([]Fingerprint, 0, len(files))
	errs := make([]error, 0, len(files))
	failed := false
	for start := 0; start < len(files); start += m {
		part := files[start:min(start+m, len(files))]
		pf, err := d.WriteBatch(part)
		var be *BatchError
		switch {
		case err == nil:
			errs = append(errs, make([]error, len(part))...)
		case errors.As(err, &be):
			errs, failed = append(errs, be.Errs...), true
		default:
			return make([]Fingerprint, len(files)), err
		}
		fps = append(fps, pf...)
	}
	if failed {
		return fps, &BatchError{Errs: errs}
	}
	return fps, nil
}

// maxHeld bounds the unnamed files one WriteBatch holds open at once: an
// eighth of the open-file limit (Go raises the soft limit to the hard one
// at start-up, so this only bites where the hard limit is low), leaving
// room for concurrent batches and the rest of the process.
func maxHeld() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur >= 1<<20 {
		return 1 << 17
	}
	return max(8, int(rl.Cur/8))
}

// syncFS flushes the filesystem holding the folder (syncfs(2)): one call
// instead of one fsync per file. held, when not nil, is an open file on
// that filesystem to call it on.
func (d *Dir) syncFS(held *os.File) error {
	if held != nil {
		if err := unix.Syncfs(int(held.Fd())); err != nil {
			return fmt.Errorf("syncfs %s: %w", d.path, err)
		}
		return nil
	}
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
