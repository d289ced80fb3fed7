package local

import (
	"errors"

	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Status is how the folder of a calendar or address book stands against what state
// recorded, as `vdird status` shows it: found from one listing, without
// reading any file.
type Status struct {
	Pending   int      // item files new, changed (by fingerprint) or deleted since the last sync
	Conflicts []string // conflict copies waiting to be looked at
	// Problem says that the folder is missing, or, with Staged, that its
	// first download has not finished.
	Problem string
	Staged  bool
}

// StatusOf looks at dir, the folder of item files with extension ext
// whose recorded items are items. A touched but identical file counts as
// pending until the next pass.
func StatusOf(dir, ext string, items []state.Item) (Status, error) {
	d, err := vdir.Open(dir, ext)
	if errors.Is(err, vdir.ErrNoDir) {
		if _, serr := vdir.OpenStaged(dir, ext); serr == nil {
			// A first download fills a hidden folder and then renames it.
			return Status{Problem: "first download not finished yet: files so far are in " + vdir.StagePath(dir), Staged: true}, nil
		}
		return Status{Problem: "local folder missing: " + dir}, nil
	} else if err != nil {
		return Status{}, err
	}
	entries, err := d.List()
	if err != nil {
		return Status{}, err
	}
	byName := make(map[string]state.Item, len(items))
	for _, it := range items {
		byName[it.Name] = it
	}
	var st Status
	for _, en := range entries {
		it, ok := byName[en.Name]
		if !ok || !SameFP(it.Fingerprint, en.Fingerprint) {
			st.Pending++
		}
		delete(byName, en.Name)
	}
	st.Pending += len(byName)
	st.Conflicts, _ = d.ConflictCopies()
	return st, nil
}
