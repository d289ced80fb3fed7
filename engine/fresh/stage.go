package fresh

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Staged is what a first download that did not complete left in its
// staging folder, set against what state recorded of it.
type Staged struct {
	Kept    []state.Item // recorded, and their file holds the recorded bytes
	Missing []state.Item // recorded, but their file is not there or holds other bytes
	Files   []vdir.Entry // the files of the items in Kept
	Removed int          // files removed: never recorded, or not as recorded
	Damaged int          // of Missing, those whose file was there with other bytes
}

// Settle readies the staging folder st for a resume, given the items state
// recorded of it. The files of a staging folder are written without flush
// and state records them at once (vdir.WriteBatch), so after a power cut
// any of them may be missing, empty or torn, recorded or not. A file is
// kept only if it holds exactly the bytes recorded of it (size, then
// content hash); every other item file, and any temp file, is removed
// unless dryRun. A record whose file is missing or was not as recorded is
// returned in Missing, for the caller to forget, so that its member comes
// down again rather than reading as a local deletion or an edit.
func Settle(st *vdir.Dir, items []state.Item, dryRun bool) (Staged, error) {
	var s Staged
	recorded := make(map[string]state.Item, len(items))
	for _, it := range items {
		recorded[it.Name] = it
	}
	files, err := st.List()
	if err != nil {
		return s, fmt.Errorf("finishing an interrupted first download: %w", err)
	}
	good := make(map[string]bool, len(files))
	for _, en := range files {
		it, ok := recorded[en.Name]
		if !ok {
			continue
		}
		same, err := asRecorded(st, en, it)
		if err != nil {
			return s, fmt.Errorf("finishing an interrupted first download: %w", err)
		}
		if same {
			good[en.Name] = true
			s.Files = append(s.Files, en)
		} else {
			s.Damaged++
		}
	}
	if !dryRun {
		n, err := st.RemoveUnless(func(name string) bool { return good[name] })
		if err != nil {
			return s, fmt.Errorf("finishing an interrupted first download: %w", err)
		}
		s.Removed = n
	}
	for _, it := range items {
		if good[it.Name] {
			s.Kept = append(s.Kept, it)
		} else {
			s.Missing = append(s.Missing, it)
		}
	}
	return s, nil
}

// asRecorded tells whether the staged file en holds the bytes recorded of
// it in it: the same size, when one was recorded, and the same content
// hash.
func asRecorded(st *vdir.Dir, en vdir.Entry, it state.Item) (bool, error) {
	if it.Fingerprint != (state.Fingerprint{}) && en.Fingerprint.Size != it.Fingerprint.Size {
		return false, nil
	}
	data, _, err := st.Read(en.Name)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, vdir.ErrNotRegular):
		return false, nil // gone or replaced since it was listed
	case err != nil:
		return false, err
	}
	return it.Hash != "" && vdir.Hash(data) == it.Hash, nil
}
