package versions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Filter selects versions for List; each field set must match.
type Filter struct {
	Account    string
	Collection string // the collection's href or its folder name
	UID        string
	File       string
	Pass       string
	Since      time.Time // replaced at or after (zero: any)
	Until      time.Time // replaced before (zero: any)
}

func (f *Filter) match(e *Entry) bool {
	return (f.Account == "" || e.Account == f.Account) &&
		(f.Collection == "" || e.Collection == f.Collection || e.Folder == f.Collection) &&
		(f.UID == "" || e.UID == f.UID) &&
		(f.File == "" || e.File == f.File) &&
		(f.Pass == "" || e.Pass == f.Pass) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

// List returns the versions f selects, newest first (the last saved first
// among equal times), without their bytes: it reads the day indexes only.
func (s *Store) List(f Filter) ([]Entry, error) {
	days, err := s.days()
	if err != nil {
		return nil, err
	}
	var parts [][]Entry // per day, newest day first, each newest first
	n := 0
	for _, day := range slices.Backward(days) {
		if (!f.Since.IsZero() && day < dayOf(f.Since)) || (!f.Until.IsZero() && day > dayOf(f.Until)) {
			continue
		}
		idx, err := s.readDay(day)
		if err != nil {
			return nil, err
		}
		part := slices.DeleteFunc(idx.entries, func(e Entry) bool { return !f.match(&e) })
		slices.Reverse(part)
		parts = append(parts, part)
		n += len(part)
	}
	out := make([]Entry, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return sortStable(out, func(a, b *Entry) int { return b.Time.Compare(a.Time) }), nil
}

// sortStable sorts es by cmp, keeping the order of equals. Saves come
// mostly in time order, so es is usually sorted already; otherwise
// positions are sorted rather than the entries, which are large.
func sortStable(es []Entry, cmp func(a, b *Entry) int) []Entry {
	sorted := true
	for i := 1; i < len(es) && sorted; i++ {
		sorted = cmp(&es[i-1], &es[i]) <= 0
	}
	if sorted {
		return es
	}
	order := make([]int32, len(es))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp(&es[a], &es[b]) })
	out := make([]Entry, len(es))
	for i, j := range order {
		out[i] = es[j]
	}
	return out
}

// Read returns a version's bytes, verbatim, and its entry. An unknown or
// pruned ID is ErrNotFound.
func (s *Store) Read(id string) ([]byte, Entry, error) {
	if !validID(id) {
		return nil, Entry{}, fmt.Errorf("version %q: %w", id, ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, id[:len(dayLayout)], id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Entry{}, fmt.Errorf("version %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, Entry{}, fmt.Errorf("versions: %w", err)
	}
	e, data, err := parseFile(id, b)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("versions: %w", err)
	}
	return data, e, nil
}

// Stats describe the store as a whole.
type Stats struct {
	Count  int
	Bytes  int64     // the versions' bytes, as retention counts them
	Oldest time.Time // zero when empty
	Newest time.Time
}

// Stats counts the kept versions, from the indexes.
func (s *Store) Stats() (Stats, error) {
	days, err := s.days()
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	for _, day := range days {
		idx, err := s.readDay(day)
		if err != nil {
			return Stats{}, err
		}
		for _, e := range idx.entries {
			st.Count++
			st.Bytes += e.Size
			if st.Oldest.IsZero() || e.Time.Before(st.Oldest) {
				st.Oldest = e.Time
			}
			if e.Time.After(st.Newest) {
				st.Newest = e.Time
			}
		}
	}
	return st, nil
}

// days lists the day directories, oldest first.
func (s *Store) days() ([]string, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	var days []string
	for _, de := range des {
		if de.IsDir() && dayRe.MatchString(de.Name()) {
			days = append(days, de.Name())
		}
	}
	return days, nil
}

// dayIndex is what a day's index holds.
type dayIndex struct {
	entries []Entry // the versions added and not removed, in index order
	whole   int64   // length of the whole lines
	size    int64   // length of the file
}

// readDay reads a day's index. A line that is torn (a save cut short) or
// damaged is skipped; repair puts back the versions whose files remain.
func (s *Store) readDay(day string) (dayIndex, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, day, indexName))
	if errors.Is(err, fs.ErrNotExist) {
		return dayIndex{}, nil
	}
	if err != nil {
		return dayIndex{}, fmt.Errorf("versions: %w", err)
	}
	text := string(b)
	idx := dayIndex{whole: int64(strings.LastIndexByte(text, '\n') + 1), size: int64(len(text))}
	lines := strings.Count(text, "\n")
	idx.entries = make([]Entry, 0, lines)
	pos := make(map[string]int, lines) // position of each ID's entry
	removed := false
	for line := range strings.Lines(text[:idx.whole]) {
		kind, rest, _ := strings.Cut(line[:len(line)-1], "\t")
		id, fs, _ := strings.Cut(rest, "\t")
		if !validID(id) || id[:len(dayLayout)] != day {
			continue
		}
		j, known := pos[id]
		switch {
		case kind == "+" && !known:
			if m, size, ok := parseFields(fs); ok {
				pos[id] = len(idx.entries)
				idx.entries = append(idx.entries, Entry{ID: id, Meta: m, Size: size})
			}
		case kind == "-" && known:
			idx.entries[j].ID = ""
			delete(pos, id)
			removed = true
		}
	}
	if removed {
		idx.entries = slices.DeleteFunc(idx.entries, func(e Entry) bool { return e.ID == "" })
	}
	return idx, nil
}

// validID checks an ID's shape (see newID) without a regular expression:
// the indexes hold one per line, and listing reads them all.
func validID(id string) bool {
	if len(id) != len(idLayout)+11 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case i == 8:
			if c != 'T' {
				return false
			}
		case i == 15:
			if c != 'Z' {
				return false
			}
		case i == 16:
			if c != '-' {
				return false
			}
		case i < 15:
			if c < '0' || c > '9' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
