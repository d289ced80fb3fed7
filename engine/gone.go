package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/plan/gone"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// goneCollections deals with account a's collections that state records
// and the listing cals no longer shows (gone.Plan): a forgotten one is
// left alone, an empty folder goes under delete_collections = "empty", any
// other is reported. fresh tells that cals was just read from the server.
// A folder is listed only under delete_collections = "empty".
func (e *Engine) goneCollections(a *config.Account, known []state.Collection, cals []davclient.Calendar, fresh, dryRun bool) []*Summary {
	onServer, listed := map[string]bool{}, map[davclient.Kind]bool{}
	for _, cal := range cals {
		onServer[collectionKey(a, cal)], listed[cal.Kind] = true, true
	}
	in := gone.Input{RemoveEmpty: a.DeleteCollections == config.DeleteEmpty, Fresh: fresh, MetaFiles: vdir.MetaFiles()}
	cols := map[string]state.Collection{}
	var out []*Summary
	for _, col := range known {
		if col.Account != a.Name || onServer[col.Key] || col.Creating {
			continue // a collection being made is settled by settleCreating
		}
		cols[col.Key] = col
		g := gone.Collection{Key: col.Key, Forgotten: !col.Forgotten.IsZero(), ListedNone: !listed[kindOfKey(col.Key)]}
		var des []fs.DirEntry
		if in.RemoveEmpty && !g.Forgotten {
			var err error
			des, err = os.ReadDir(col.Dir)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				g.Missing = true
			case err != nil:
				out = append(out, goneSummary(col, fmt.Sprintf("local folder: %v", err)))
				continue
			}
		}
		for _, de := range des {
			g.Entries = append(g.Entries, gone.Entry{Name: de.Name(), Regular: de.Type().IsRegular()})
		}
		in.Gone = append(in.Gone, g)
	}
	for _, act := range gone.Plan(in) {
		if s := e.applyGone(cols[act.Key], act, dryRun); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// applyGone carries out act on the collection col gone from the server
// and returns its summary, nil for a forgotten one. A dry run only says
// what it would do.
func (e *Engine) applyGone(col state.Collection, act gone.Action, dryRun bool) *Summary {
	noun := format.Of(kindOfKey(col.Key)).Noun
	s := goneSummary(col, "")
	switch act.Op {
	case gone.Quiet:
		return nil
	case gone.Report:
		note := noun + " no longer on the server (or no longer synced): local folder left alone"
		if act.Why != "" {
			note += ` (delete_collections = "empty" keeps it: ` + act.Why + ")"
		}
		s.Notes = []string{note}
	case gone.Drop:
		s.Notes = []string{noun + " no longer on the server and its folder gone too: vdird forgets it"}
		if dryRun {
			s.Notes = []string{noun + " no longer on the server and its folder gone too: vdird would forget it"}
		} else if err := e.store.DeleteCollection(col.Key); err != nil {
			s.Problems = []string{err.Error()}
		}
	case gone.Remove:
		if dryRun {
			s.Notes = []string{noun + " no longer on the server: its folder holds no item and would be removed"}
			return s
		}
		s.Notes = []string{noun + " no longer on the server: its folder held no item and was removed"}
		if err := removeEmptyFolder(col.Dir, act.Files); err != nil {
			s.Notes, s.Problems = nil, []string{noun + " no longer on the server; its folder stays: " + err.Error()}
		} else if err := e.store.DeleteCollection(col.Key); err != nil {
			s.Problems = []string{err.Error()}
		}
	}
	return s
}

// goneSummary is the summary of the gone collection col, with problem
// when there is one.
func goneSummary(col state.Collection, problem string) *Summary {
	s := &Summary{Account: col.Account, Href: col.Href, Dir: col.Dir, Calendar: path.Base(col.Dir),
		AddressBook: kindOfKey(col.Key) == davclient.KindAddressBook}
	if problem != "" {
		s.Problems = []string{problem}
	}
	return s
}

// removeEmptyFolder removes the metadata files of the folder dir, then
// the folder, which fails if anything else appeared in it meanwhile.
func removeEmptyFolder(dir string, files []string) error {
	for _, f := range files {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Remove(dir)
}
