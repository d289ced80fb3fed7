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

// TestSettle_UnrecordedFilesGo_RecordsWithoutAFileReturnedAsMissing sets a
// staging folder holding two recorded files, a torn unrecorded one and a
// temp file against three records, one of whose file is gone. A dry run
// changes nothing; a real one removes the unrecorded file and the temp
// file. Both keep the two recorded files and name the third record
// missing.
func TestSettle_UnrecordedFilesGo_RecordsWithoutAFileReturnedAsMissing(t *testing.T) {
	folder := filepath.Join(t.TempDir(), "cal")
	st, err := vdir.CreateStaged(folder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteBatch([]vdir.NewFile{{Name: "a.ics", Data: []byte("a")}, {Name: "b.ics", Data: []byte("b")}, {Name: "torn.ics", Data: []byte("BEGIN:")}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Path(), ".vdird-1.tmp"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	items := []state.Item{{Href: "/c/a.ics", Name: "a.ics"}, {Href: "/c/b.ics", Name: "b.ics"}, {Href: "/c/gone.ics", Name: "gone.ics"}}
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
			!slices.Equal(files, []string{"a.ics", "b.ics"}) {
			t.Fatalf("dry run %v: kept %v, missing %v, files %v", dry, names(s.Kept), names(s.Missing), files)
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
