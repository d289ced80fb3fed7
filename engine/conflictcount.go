package engine

import (
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/vdir"
)

// ConflictCopies counts the conflict copies waiting in the folders of the
// calendars and address books state records, for the daemon's status line: one listing of
// each folder, no file read. A folder that cannot be opened counts none.
func (e *Engine) ConflictCopies() (int, error) {
	cols, err := e.store.Collections()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, col := range cols {
		d, err := vdir.Open(col.Dir, format.Of(kindOfKey(col.Key)).Ext)
		if err != nil {
			continue
		}
		copies, err := d.ConflictCopies()
		if err != nil {
			return n, err
		}
		n += len(copies)
	}
	return n, nil
}
