package versions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Save keeps one version. It returns nil once the version is durable, or
// at once when v's account keeps no versions. Otherwise it returns a
// *SaveError naming the item (errors.Is ErrNoSpace when the disk is full)
// and nothing of the version remains.
func (s *Store) Save(ctx context.Context, v Version) error {
	err := s.SaveBatch(ctx, []Version{v})
	var be *BatchError
	if errors.As(err, &be) {
		return be.Errs[0]
	}
	return err
}

// SaveBatch keeps many versions at the cost of about one: their files are
// made durable with one flush of the filesystem and one fsync of each day
// directory. A version that cannot be kept gets its *SaveError in the
// returned *BatchError and leaves nothing behind; the others are kept. Any
// other error (ctx ended while waiting for the lock) means none was kept.
func (s *Store) SaveBatch(ctx context.Context, vs []Version) error {
	b := &batch{s: s, vs: vs, errs: make([]error, len(vs))}
	var todo []int
	for i := range vs {
		if !s.Keeps(vs[i].Account) {
			continue
		}
		if err := vs[i].check(); err != nil {
			b.fail(i, err)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("versions: %w", err)
		}
		release, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		b.run(todo)
		release()
	}
	for _, err := range b.errs {
		if err != nil {
			return &BatchError{Errs: b.errs}
		}
	}
	return nil
}

func (v *Version) check() error {
	switch {
	case v.Account == "":
		return errors.New("no account")
	case v.Side != Local && v.Side != Server:
		return fmt.Errorf("side %q: want %q or %q", v.Side, Local, Server)
	case v.Reason == "":
		return errors.New("no reason")
	case v.Time.Year() < 1970 || v.Time.Year() > 2200:
		return fmt.Errorf("time %v out of range", v.Time)
	}
	return nil
}

// item names a version's item for errors: account, folder, file and UID.
func (m *Meta) item() string {
	name := m.File
	if name == "" {
		name = m.Href
	}
	s := m.Account + " " + m.Folder + "/" + name
	if m.UID != "" {
		s += " (UID " + m.UID + ")"
	}
	return s
}

// batch is one SaveBatch call under the writer lock.
type batch struct {
	s    *Store
	vs   []Version
	errs []error
}

// pending is a version on its way into the store.
type pending struct {
	i   int
	day string
	tmp string // the temp file's path until renamed
	id  string // set once renamed into place
	fs  string // its encoded fields
	// synced: the temp file was fsynced on its own, as a lone version is;
	// the files of a batch are flushed together.
	synced bool
}

func (b *batch) fail(i int, err error) {
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		err = fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	b.errs[i] = &SaveError{Item: b.vs[i].item(), Err: err}
}

// run writes each version to a temp file, makes them durable, renames
// them into place, makes the renames durable and adds them to the index.
func (b *batch) run(todo []int) {
	made := map[string]bool{} // day directories ready, true when created now
	var ps []*pending
	for _, i := range todo {
		p := &pending{i: i, day: dayOf(b.vs[i].Time)}
		if _, ok := made[p.day]; !ok {
			created, err := b.s.makeDay(p.day)
			if err != nil {
				b.fail(i, err)
				continue
			}
			made[p.day] = created
		}
		if err := b.writeTemp(p, len(todo) == 1); err != nil {
			b.fail(i, err)
			continue
		}
		ps = append(ps, p)
	}
	defer func() {
		for _, p := range ps {
			if p.tmp != "" {
				os.Remove(p.tmp)
			}
		}
	}()
	if slices.ContainsFunc(ps, func(p *pending) bool { return !p.synced }) {
		if err := syncFS(b.s.dir); err != nil {
			b.failAll(ps, err)
			return
		}
	}
	for _, p := range ps {
		if err := b.rename(p); err != nil {
			b.fail(p.i, err)
		}
	}
	b.commit(ps, made)
}

// writeTemp writes the version's header and bytes to a temp file in its
// day directory, fsynced when sync is set (a batch flushes them at once).
func (b *batch) writeTemp(p *pending, sync bool) error {
	v := &b.vs[p.i]
	m := v.Meta
	if m.Summary == "" {
		m.Summary = summaryOf(v.Data)
	}
	m.Summary = clip(m.Summary, maxSummary)
	p.fs = fields(m, len(v.Data))
	f, err := os.CreateTemp(filepath.Join(b.s.dir, p.day), tempPrefix+"*")
	if err != nil {
		return err
	}
	p.tmp = f.Name()
	_, err = f.Write(append([]byte(header(p.fs)), v.Data...))
	if err == nil && sync {
		err = f.Sync()
		p.synced = err == nil
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.tmp)
		p.tmp = ""
	}
	return err
}

// rename moves the temp file to a fresh ID, never replacing a version.
func (b *batch) rename(p *pending) error {
	for range 3 {
		id := newID(b.vs[p.i].Time)
		err := renameNew(p.tmp, filepath.Join(b.s.dir, p.day, id))
		if err == nil {
			p.id, p.tmp = id, ""
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return errors.New("no free version ID")
}

// commit makes the renames durable and appends them to the day indexes.
// A version that fails here is removed again.
func (b *batch) commit(ps []*pending, made map[string]bool) {
	byDay := map[string][]*pending{}
	var days []string
	for _, p := range ps {
		if p.id == "" {
			continue
		}
		if byDay[p.day] == nil {
			days = append(days, p.day)
		}
		byDay[p.day] = append(byDay[p.day], p)
	}
	var err error // a new day directory's entry must be durable too
	for _, created := range made {
		if created {
			err = syncDir(b.s.dir)
			break
		}
	}
	for _, day := range days {
		group := byDay[day]
		derr := err
		if derr == nil {
			derr = syncDir(filepath.Join(b.s.dir, day))
		}
		if derr == nil {
			var text strings.Builder
			for _, p := range group {
				text.WriteString(addLine(p.id, p.fs))
			}
			derr = b.s.appendIndex(day, text.String())
		}
		if derr != nil {
			for _, p := range group {
				os.Remove(filepath.Join(b.s.dir, day, p.id))
			}
			b.failAll(group, derr)
		}
	}
}

func (b *batch) failAll(ps []*pending, err error) {
	for _, p := range ps {
		b.fail(p.i, err)
	}
}

// makeDay creates a day directory when missing; created says it did.
func (s *Store) makeDay(day string) (created bool, err error) {
	err = os.Mkdir(filepath.Join(s.dir, day), 0o700)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// appendIndex adds text (whole lines) to a day's index. A torn last line
// that a crash left is cut off first; a failed write is cut off again, so
// the index only ever holds whole lines. The caller holds the lock.
func (s *Store) appendIndex(day, text string) error {
	f, err := os.OpenFile(filepath.Join(s.dir, day, indexName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := wholeLines(f)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(text), end); err != nil {
		_ = f.Truncate(end)
		return fmt.Errorf("index %s: %w", f.Name(), err)
	}
	return nil
}

// wholeLines returns the length of f's whole lines, truncating a torn
// last line.
func wholeLines(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		return fi.Size(), nil
	}
	all := make([]byte, fi.Size())
	if _, err := f.ReadAt(all, 0); err != nil {
		return 0, err
	}
	end := int64(strings.LastIndexByte(string(all), '\n') + 1)
	return end, f.Truncate(end)
}

// renameNew renames from to to, failing with fs.ErrExist rather than
// replacing an entry there (link and unlink where renameat2 is missing).
func renameNew(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if err = os.Link(from, to); err == nil {
			return os.Remove(from)
		}
	}
	if err != nil {
		return &fs.PathError{Op: "rename", Path: to, Err: err}
	}
	return nil
}

// syncDir makes the entries of the directory at path durable.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// syncFS flushes the filesystem that holds path (syncfs(2)).
func syncFS(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return &fs.PathError{Op: "syncfs", Path: path, Err: err}
	}
	return nil
}
