package vdir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestConflictNote_KeptBesideTheCopy_HiddenFromListings_RemovedWithIt(t *testing.T) {
	d := newDir(t)
	mustWrite(t, d, "a.ics", "winner")
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c, err := d.WriteConflictCopy("a.ics", []byte("loser"), at)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.ConflictNote(c); ok || err != nil {
		t.Fatalf("a copy without a note: ok %v, %v", ok, err)
	}
	want := ConflictNote{Side: "local", Name: "a.ics", Base: []byte("BEGIN:VCALENDAR\r\nbase\r\n")}
	if err := d.WriteConflictNote(c, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := d.ConflictNote(c)
	if !ok || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("note read back: %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if es, _ := d.List(); !reflect.DeepEqual(names(es), []string{"a.ics"}) {
		t.Fatalf("List = %v", names(es))
	}
	if cc, _ := d.ConflictCopies(); !reflect.DeepEqual(cc, []string{c}) {
		t.Fatalf("ConflictCopies = %v", cc)
	}
	fp, err := d.Stat(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Path(), c), []byte("edited meanwhile"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveConflictCopy(c, fp); !errors.Is(err, ErrChanged) {
		t.Fatalf("a copy changed since it was seen was removed: %v", err)
	}
	if fp, err = d.Stat(c); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveConflictCopy(c, fp); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.ConflictNote(c); ok {
		t.Error("the note outlived its copy")
	}
	if cc, _ := d.ConflictCopies(); len(cc) != 0 {
		t.Errorf("copies left: %v", cc)
	}
	if err := d.WriteConflictNote("a.ics", want); !errors.Is(err, ErrBadName) {
		t.Errorf("a note for an item file: %v", err)
	}
}

func TestConflictCopyOf_ItemAndTimeFromTheName(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for name, want := range map[string]string{
		"a.ics.conflict-20260304T050607Z":                "a.ics",
		"a.ics.conflict-20260304T050607Z-2":              "a.ics",
		"x.ics.conflict-1.ics.conflict-20260304T050607Z": "x.ics.conflict-1.ics",
	} {
		item, when, ok := ConflictCopyOf(name)
		if !ok || item != want || !when.Equal(at) {
			t.Errorf("%s: %q %v %v, want %q %v", name, item, when, ok, want, at)
		}
	}
	for _, name := range []string{"a.ics", ".a.ics.conflict-20260304T050607Z.note", "a.ics.conflict-yesterday"} {
		if _, _, ok := ConflictCopyOf(name); ok {
			t.Errorf("%s taken for a conflict copy", name)
		}
	}
}
