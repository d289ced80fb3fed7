package fresh

import (
	"fmt"

	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Staged is what a first download that did not complete left in its
// staging folder, set against what state recorded of it.
type Staged struct {
	Kept    []state.Item // recorded, and their file is there
	Missing []state.Item // recorded, but their file is not there
	Files   []vdir.Entry // the folder's item files
	Removed int          // files removed because state never recorded them
}

// Settle readies the staging folder st for a resume, given the items state
// recorded of it. A file never recorded may be torn (a batch is recorded
// only once it is durable): it is removed, with any temp file, unless
// dryRun. A record whose file is missing is returned in Missing, for the
// caller to forget, so that its member comes down again rather than
// reading as a local deletion.
func Settle(st *vdir.Dir, items []state.Item, dryRun bool) (Staged, error) {
	var s Staged
	recorded := make(map[string]bool, len(items))
	for _, it := range items {
		recorded[it.Name] = true
	}
	if !dryRun {
		n, err := st.RemoveUnless(func(name string) bool { return recorded[name] })
		if err != nil {
			return s, fmt.Errorf("finishing an interrupted first download: %w", err)
		}
		s.Removed = n
	}
	files, err := st.List()
	if err != nil {
		return s, err
	}
	present := make(map[string]bool, len(files))
	for _, en := range files {
		if recorded[en.Name] {
			present[en.Name] = true
			s.Files = append(s.Files, en)
		}
	}
	for _, it := range items {
		if present[it.Name] {
			s.Kept = append(s.Kept, it)
		} else {
			s.Missing = append(s.Missing, it)
		}
	}
	return s, nil
}
