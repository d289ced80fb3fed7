package engine

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/work"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// CalendarStatus is what `vdird status` shows for one calendar.
type CalendarStatus struct {
	Account       string    `json:"account"`
	Calendar      string    `json:"calendar"` // local folder name
	Href          string    `json:"href"`
	Dir           string    `json:"dir"`
	LastSync      time.Time `json:"last_sync"` // last pass that applied every remote change
	PendingLocal  int       `json:"pending_local"`
	LastError     string    `json:"last_error,omitempty"`
	ConflictFiles []string  `json:"conflict_files,omitempty"`
	ReadOnly      bool      `json:"read_only,omitempty"`
	// Progress is the work a running daemon has in hand on the calendar.
	Progress *work.Status `json:"progress,omitempty"`
}

// Status reports every calendar in state: no network, only a stat of each
// local folder.
func (e *Engine) Status() ([]CalendarStatus, error) {
	store := e.store
	cols, err := store.Collections()
	if err != nil {
		return nil, err
	}
	var out []CalendarStatus
	for _, col := range cols {
		st := CalendarStatus{Account: col.Account, Calendar: filepath.Base(col.Dir), Href: col.Href, Dir: col.Dir,
			LastSync: col.LastSync, LastError: col.LastError, ReadOnly: col.ReadOnly}
		items, err := store.Items(col.Key)
		if err != nil {
			return nil, err
		}
		d, err := vdir.Open(col.Dir)
		if errors.Is(err, vdir.ErrNoDir) {
			switch _, serr := vdir.OpenStaged(col.Dir); {
			case serr == nil:
				// A first download fills a hidden folder and then renames it.
				st.LastError = "first download not finished yet: files so far are in " + vdir.StagePath(col.Dir)
			case st.LastError == "":
				st.LastError = "local folder missing: " + col.Dir
			}
			out = append(out, st)
			continue
		} else if err != nil {
			return nil, err
		}
		st.PendingLocal, err = pendingLocal(d, items)
		if err != nil {
			return nil, err
		}
		st.ConflictFiles, _ = d.ConflictCopies()
		out = append(out, st)
	}
	return out, nil
}

// pendingLocal counts files new, changed (by fingerprint) or deleted since
// the last sync. A touched-but-identical file counts until the next pass.
func pendingLocal(d *vdir.Dir, items []state.Item) (int, error) {
	entries, err := d.List()
	if err != nil {
		return 0, err
	}
	byName := make(map[string]state.Item, len(items))
	for _, it := range items {
		byName[it.Name] = it
	}
	n := 0
	for _, en := range entries {
		it, ok := byName[en.Name]
		if !ok || !local.SameFP(it.Fingerprint, en.Fingerprint) {
			n++
		}
		delete(byName, en.Name)
	}
	return n + len(byName), nil
}
