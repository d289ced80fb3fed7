package vdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	sort.Strings(out)
	return out
}

// staged starts a staging folder for path holding files, failing the test
// on any error.
func staged(t *testing.T, path string, files ...NewFile) *Dir {
	t.Helper()
	st, err := CreateStaged(path, ICS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteBatch(files); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCreateStaged_FolderAppearsOnlyOnPublish_FingerprintsHold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root", "cal")
	st, err := CreateStaged(path, ICS)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Staged() || filepath.Base(st.Path())[0] != '.' {
		t.Fatalf("staging folder %s is not hidden", st.Path())
	}
	fps, err := st.WriteBatch([]NewFile{{"a.ics", []byte("A")}, {"b.ics", []byte("BB")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetDisplayName("Cal"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("folder visible before Publish: %v", err)
	}
	d, kept, err := st.Publish(path)
	if err != nil || len(kept) != 0 {
		t.Fatalf("Publish: kept %v, %v", kept, err)
	}
	if d.Staged() {
		t.Error("published folder still says staged")
	}
	ents, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 || ents[0].Fingerprint != fps[0] || ents[1].Fingerprint != fps[1] {
		t.Errorf("after Publish %+v, want fingerprints %+v", ents, fps)
	}
	if name, _ := d.DisplayName(); name != "Cal" {
		t.Errorf("displayname %q", name)
	}
	if got := dirNames(t, filepath.Dir(path)); len(got) != 1 || got[0] != "cal" {
		t.Errorf("parent holds %v, want only the folder", got)
	}
}

func TestCreateStaged_LeftoverStagingFolderIsEmptied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cal")
	staged(t, path, NewFile{"old.ics", []byte("old")})
	st, err := CreateStaged(path, ICS)
	if err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, st.Path()); len(got) != 0 {
		t.Errorf("new staging folder holds %v", got)
	}
}

func TestOpenStaged_NoneIsErrNoDir(t *testing.T) {
	if _, err := OpenStaged(filepath.Join(t.TempDir(), "cal"), ICS); !errors.Is(err, ErrNoDir) {
		t.Fatalf("err = %v, want ErrNoDir", err)
	}
	d := newDir(t)
	if _, _, err := d.Publish(filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("Publish of a folder that is not staged succeeded")
	}
	if _, err := d.RemoveUnless(func(string) bool { return false }); err == nil {
		t.Error("RemoveUnless on a folder that is not staged succeeded")
	}
}

func TestPublish_EmptyFolderMadeMeanwhile_IsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cal")
	st := staged(t, path, NewFile{"a.ics", []byte("A")})
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	d, kept, err := st.Publish(path)
	if err != nil || len(kept) != 0 {
		t.Fatalf("Publish: kept %v, %v", kept, err)
	}
	if got := dirNames(t, d.Path()); len(got) != 1 || got[0] != "a.ics" {
		t.Errorf("folder holds %v", got)
	}
}

func TestPublish_FolderWithFilesMadeMeanwhile_TheirFilesWinNothingReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cal")
	st := staged(t, path, NewFile{"a.ics", []byte("ours A")}, NewFile{"b.ics", []byte("ours B")})
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "b.ics"), []byte("theirs B"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "notes.txt"), []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, kept, err := st.Publish(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0] != "b.ics" {
		t.Errorf("kept = %v, want [b.ics]", kept)
	}
	for name, want := range map[string]string{"a.ics": "ours A", "b.ics": "theirs B", "notes.txt": "theirs"} {
		if b, err := os.ReadFile(filepath.Join(d.Path(), name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := os.Lstat(StagePath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging folder left behind: %v", err)
	}
}

func TestRemoveUnless_DropsUnkeptItemsAndTempFiles_KeepsMetadata(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cal")
	st := staged(t, path, NewFile{"keep.ics", []byte("K")}, NewFile{"torn.ics", []byte("BEGIN:")})
	if err := st.SetColor("#ff0000"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Path(), tempPrefix+"x"+tempSuffix), []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := st.RemoveUnless(func(name string) bool { return name == "keep.ics" })
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want 2", n, err)
	}
	if got := dirNames(t, st.Path()); len(got) != 2 || got[0] != "color" || got[1] != "keep.ics" {
		t.Errorf("staging folder holds %v, want color and keep.ics", got)
	}
}
