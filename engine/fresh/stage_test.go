package fresh

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

func names(items []state.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// stageFiles writes files into a new staging folder as a first download
// does and returns the folder and the records state keeps of them.
func stageFiles(t *testing.T, files []vdir.NewFile) (*vdir.Dir, []state.Item) {
	t.Helper()
	st, err := vdir.CreateStaged(filepath.Join(t.TempDir(), "cal"), vdir.ICS)
	if err != nil {
		t.Fatal(err)
	}
	fps, err := st.WriteBatch(files)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]state.Item, len(files))
	for i, f := range files {
		items[i] = state.Item{Href: "/c/" + f.Name, Name: f.Name, Fingerprint: state.Fingerprint(fps[i]), Hash: vdir.Hash(f.Data)}
	}
	return st, items
}

// TestSettle_UnrecordedFilesGo_RecordsWithoutAFileReturnedAsMissing sets a
// staging folder holding two recorded files, a torn unrecorded one and a
// temp file against three records, one of whose file is gone. A dry run
// changes nothing; a real one removes the unrecorded file and the temp
// file. Both keep the two recorded files and name the third record
// missing.
func TestSettle_UnrecordedFilesGo_RecordsWithoutAFileReturnedAsMissing(t *testing.T) {
	st, items := stageFiles(t, []vdir.NewFile{{Name: "a.ics", Data: []byte("a")}, {Name: "b.ics", Data: []byte("b")}, {Name: "torn.ics", Data: []byte("BEGIN:")}})
	items = append(items[:2], state.Item{Href: "/c/gone.ics", Name: "gone.ics", Hash: vdir.Hash([]byte("gone"))})
	if err := os.WriteFile(filepath.Join(st.Path(), ".vdird-1.tmp"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		s, err := Settle(st, items, dry)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, en := range s.Files {
			files = append(files, en.Name)
		}
		if !slices.Equal(names(s.Kept), []string{"a.ics", "b.ics"}) || !slices.Equal(names(s.Missing), []string{"gone.ics"}) ||
			!slices.Equal(files, []string{"a.ics", "b.ics"}) || s.Damaged != 0 {
			t.Fatalf("dry run %v: kept %v, missing %v, files %v, damaged %d", dry, names(s.Kept), names(s.Missing), files, s.Damaged)
		}
		ents, _ := os.ReadDir(st.Path())
		left := len(ents)
		switch {
		case dry && (s.Removed != 0 || left != 4):
			t.Fatalf("dry run removed %d files, %d left", s.Removed, left)
		case !dry && (s.Removed != 2 || left != 2):
			t.Fatalf("removed %d files, %d left; want the torn file and the temp file gone", s.Removed, left)
		}
	}
}

// TestSettle_RecordedFileNotAsRecorded_RemovedAndMissing stands for a
// power cut after the staged files were recorded but before they were
// flushed: one file is truncated, one empty, one holds other bytes of the
// same size. Each is returned as missing, so that it is fetched again, and
// removed unless in a dry run; the intact file is kept.
func TestSettle_RecordedFileNotAsRecorded_RemovedAndMissing(t *testing.T) {
	body := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	st, items := stageFiles(t, []vdir.NewFile{{Name: "ok.ics", Data: body}, {Name: "truncated.ics", Data: body},
		{Name: "empty.ics", Data: body}, {Name: "other.ics", Data: body}})
	damage := map[string][]byte{"truncated.ics": body[:10], "empty.ics": nil, "other.ics": make([]byte, len(body))}
	for name, data := range damage {
		if err := os.WriteFile(filepath.Join(st.Path(), name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, dry := range []bool{true, false} {
		s, err := Settle(st, items, dry)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(s.Kept), []string{"ok.ics"}) || len(s.Files) != 1 || s.Files[0].Name != "ok.ics" ||
			!slices.Equal(names(s.Missing), []string{"truncated.ics", "empty.ics", "other.ics"}) || s.Damaged != 3 {
			t.Fatalf("dry run %v: kept %v, missing %v, files %v, damaged %d", dry, names(s.Kept), names(s.Missing), s.Files, s.Damaged)
		}
		ents, _ := os.ReadDir(st.Path())
		switch {
		case dry && (s.Removed != 0 || len(ents) != 4):
			t.Fatalf("dry run removed %d files, %d left", s.Removed, len(ents))
		case !dry && (s.Removed != 3 || len(ents) != 1):
			t.Fatalf("removed %d files, %d left; want only the intact file left", s.Removed, len(ents))
		}
	}
}
