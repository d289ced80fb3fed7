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
	"time"
)

// pruneChunk bounds the files removed under one hold of the writer lock,
// so a pass saving versions meanwhile waits only for a few unlinks.
const pruneChunk = 256

// Report says what Prune did.
type Report struct {
	Removed   int   // versions removed
	Freed     int64 // their bytes
	Kept      int   // versions kept
	KeptBytes int64
	Repaired  Repair
}

// Repair counts what a crash or a damaged file left and was put right.
type Repair struct {
	Temps   int // temp files of interrupted saves, removed
	Indexed int // version files missing from their index, added to it
	Dropped int // index entries whose file is gone, removed
	Damaged int // version files with a damaged header or cut short, removed
}

func (r *Repair) add(o Repair) {
	r.Temps += o.Temps
	r.Indexed += o.Indexed
	r.Dropped += o.Dropped
	r.Damaged += o.Damaged
}

// Prune repairs each day directory and removes the versions past their
// account's KeepFor at now, then, oldest first, the versions beyond an
// account's MaxBytes and beyond the store's. It holds the writer lock for
// one day's repair or a few hundred removals at a time, so saves carry on
// meanwhile. When ctx ends it stops between two steps.
func (s *Store) Prune(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	repaired, all, err := s.repairAll(ctx, true)
	rep.Repaired = repaired
	if err != nil {
		return rep, err
	}
	all = sortStable(all, func(a, b *Entry) int { return a.Time.Compare(b.Time) })
	gone := s.doomed(all, now)
	byDay := map[string][]Entry{}
	for i, e := range all {
		if gone[i] {
			byDay[e.ID[:len(dayLayout)]] = append(byDay[e.ID[:len(dayLayout)]], e)
		} else {
			rep.Kept++
			rep.KeptBytes += e.Size
		}
	}
	for day, es := range byDay {
		if err := s.removeAll(ctx, day, es, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// doomed marks the versions to remove; all is sorted oldest first.
func (s *Store) doomed(all []Entry, now time.Time) []bool {
	gone := make([]bool, len(all))
	own := map[string]int64{} // bytes kept per account with its own cap
	var total int64
	for i, e := range all {
		if !e.Time.Add(s.retention(e.Account).KeepFor).After(now) {
			gone[i] = true
			continue
		}
		total += e.Size
		if _, ok := s.opts.Accounts[e.Account]; ok {
			own[e.Account] += e.Size
		}
	}
	for i, e := range all {
		r, ok := s.opts.Accounts[e.Account]
		if !gone[i] && ok && r.MaxBytes > 0 && own[e.Account] > r.MaxBytes {
			gone[i] = true
			own[e.Account] -= e.Size
			total -= e.Size
		}
	}
	for i, e := range all {
		if !gone[i] && s.opts.MaxBytes > 0 && total > s.opts.MaxBytes {
			gone[i] = true
			total -= e.Size
		}
	}
	return gone
}

// removeAll removes the versions es of day, a chunk per lock hold, and
// the day directory once nothing is left in it; rep counts them.
func (s *Store) removeAll(ctx context.Context, day string, es []Entry, rep *Report) error {
	for chunk := range slices.Chunk(es, pruneChunk) {
		if err := s.locked(ctx, func() error { return s.remove(day, chunk) }); err != nil {
			return err
		}
		for _, e := range chunk {
			rep.Removed++
			rep.Freed += e.Size
		}
	}
	return s.locked(ctx, func() error { return s.removeDayIfEmpty(day) })
}

// remove deletes the files of es, then records their removal in the
// index. A crash in between leaves entries without files, which repair
// drops; a version is never listed once its file is gone for good.
func (s *Store) remove(day string, es []Entry) error {
	var text strings.Builder
	var err error
	for _, e := range es {
		if rerr := os.Remove(filepath.Join(s.dir, day, e.ID)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
			break
		}
		text.WriteString(removeLine(e.ID))
	}
	if text.Len() > 0 {
		err = errors.Join(err, s.appendIndex(day, text.String()))
	}
	if err != nil {
		return fmt.Errorf("versions: prune %s: %w", day, err)
	}
	return nil
}

// removeDayIfEmpty removes a day directory that holds no version (a save
// may have added one meanwhile) and nothing but its index.
func (s *Store) removeDayIfEmpty(day string) error {
	idx, err := s.readDay(day)
	if err != nil || len(idx.entries) > 0 {
		return err
	}
	path := filepath.Join(s.dir, day)
	names, err := readNames(path)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(names, func(n string) bool { return n != indexName }) {
		return nil
	}
	if err := os.Remove(filepath.Join(path, indexName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("versions: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("versions: %w", err)
	}
	return nil
}

// locked runs fn under the writer lock.
func (s *Store) locked(ctx context.Context, fn func() error) error {
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// repairAll repairs every day directory, one lock hold each, and removes
// the empty ones. With collect set it returns the versions kept.
func (s *Store) repairAll(ctx context.Context, collect bool) (Repair, []Entry, error) {
	var rep Repair
	var all []Entry
	days, err := s.days()
	if err != nil {
		return rep, nil, err
	}
	for _, day := range days {
		err := s.locked(ctx, func() error {
			r, idx, err := s.repairDay(day)
			rep.add(r)
			if collect {
				all = append(all, idx.entries...)
			}
			if err == nil && len(idx.entries) == 0 {
				err = s.removeDayIfEmpty(day)
			}
			return err
		})
		if err != nil {
			return rep, all, err
		}
	}
	return rep, all, nil
}

// repairDay makes a day's index agree with its files: temp files are
// removed, a version file missing from the index is added to it from its
// header, an entry whose file is gone is removed, and a torn last line is
// cut off. The caller holds the lock, so no save is under way.
func (s *Store) repairDay(day string) (Repair, dayIndex, error) {
	var r Repair
	path := filepath.Join(s.dir, day)
	idx, err := s.readDay(day)
	if err != nil {
		return r, idx, err
	}
	names, err := readNames(path)
	if err != nil {
		return r, idx, err
	}
	live := map[string]bool{}
	for _, e := range idx.entries {
		live[e.ID] = false
	}
	var text strings.Builder
	for _, name := range names {
		seen, indexed := live[name]
		switch {
		case strings.HasPrefix(name, tempPrefix):
			r.Temps++
			os.Remove(filepath.Join(path, name))
		case indexed && !seen:
			live[name] = true
		case validID(name) && name[:len(dayLayout)] == day:
			b, err := os.ReadFile(filepath.Join(path, name))
			if err != nil {
				return r, idx, fmt.Errorf("versions: repair %s: %w", day, err)
			}
			e, _, err := parseFile(name, b)
			if err != nil { // its bytes cannot be given back verbatim
				r.Damaged++
				os.Remove(filepath.Join(path, name))
				continue
			}
			r.Indexed++
			text.WriteString(addLine(name, fields(e.Meta, int(e.Size))))
			idx.entries = append(idx.entries, e)
		}
	}
	kept := idx.entries[:0]
	for _, e := range idx.entries {
		if seen, indexed := live[e.ID]; indexed && !seen {
			r.Dropped++
			text.WriteString(removeLine(e.ID))
			continue
		}
		kept = append(kept, e)
	}
	idx.entries = kept
	if text.Len() > 0 || idx.whole < idx.size {
		if err := s.appendIndex(day, text.String()); err != nil {
			return r, idx, fmt.Errorf("versions: repair %s: %w", day, err)
		}
	}
	return r, idx, nil
}

// readNames lists the names in a directory, unsorted; none when it is
// gone (another process pruned it meanwhile).
func readNames(path string) ([]string, error) {
	d, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	return names, nil
}
