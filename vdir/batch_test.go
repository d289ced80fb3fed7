package vdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteBatch_CreatesAll_ExistingAndDuplicateGetErrChanged(t *testing.T) {
	d := newDir(t)
	mustWrite(t, d, "taken.ics", "user's")
	files := []NewFile{
		{"a.ics", []byte("A")},
		{"taken.ics", []byte("server")},
		{"b.ics", []byte("B")},
		{"a.ics", []byte("A again")},
		{"../x.ics", []byte("X")},
	}
	for i := 0; i < 20; i++ {
		files = append(files, NewFile{fmt.Sprintf("n%02d.ics", i), []byte(fmt.Sprint(i))})
	}
	fps, err := d.WriteBatch(files)
	var be *BatchError
	if !errors.As(err, &be) || !errors.Is(err, ErrChanged) || len(be.Errs) != len(files) {
		t.Fatalf("err = %v", err)
	}
	for i, f := range files {
		e := be.Errs[i]
		switch i {
		case 1, 3:
			if !errors.Is(e, ErrChanged) || fps[i] != (Fingerprint{}) {
				t.Errorf("%s: err %v fp %+v, want ErrChanged", f.Name, e, fps[i])
			}
		case 4:
			if !errors.Is(e, ErrBadName) {
				t.Errorf("%s: err %v, want ErrBadName", f.Name, e)
			}
		default:
			if e != nil {
				t.Errorf("%s: %v", f.Name, e)
				continue
			}
			data, fp, err := d.Read(f.Name)
			if err != nil || string(data) != string(f.Data) || fp != fps[i] {
				t.Errorf("%s: read %q fp %+v (batch fp %+v) err %v", f.Name, data, fp, fps[i], err)
			}
		}
	}
	if got := readString(t, filepath.Join(d.Path(), "taken.ics")); got != "user's" {
		t.Fatalf("existing file overwritten: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(d.Path()), "x.ics")); err == nil {
		t.Fatal("wrote outside the folder")
	}
	assertNoTemp(t, d)
	if es, _ := d.List(); len(es) != 23 {
		t.Fatalf("List has %d entries", len(es))
	}
}

func TestWriteBatch_AllNew_NilError(t *testing.T) {
	d := newDir(t)
	fps, err := d.WriteBatch([]NewFile{{"a.ics", []byte("A")}, {"b.ics", []byte("BB")}})
	if err != nil || len(fps) != 2 || fps[1].Size != 2 {
		t.Fatalf("fps %+v err %v", fps, err)
	}
}

func benchFiles(n int) []NewFile {
	files := make([]NewFile, n)
	for i := range files {
		files[i] = NewFile{fmt.Sprintf("%06d.ics", i), make([]byte, 1200)}
	}
	return files
}

func BenchmarkWriteBatch500(b *testing.B) {
	files := benchFiles(500)
	for i := 0; i < b.N; i++ {
		d, _ := Create(filepath.Join(b.TempDir(), fmt.Sprint(i)))
		if _, err := d.WriteBatch(files); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteEach500(b *testing.B) {
	files := benchFiles(500)
	for i := 0; i < b.N; i++ {
		d, _ := Create(filepath.Join(b.TempDir(), fmt.Sprint(i)))
		for _, f := range files {
			if _, err := d.Write(f.Name, f.Data, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
