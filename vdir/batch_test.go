package vdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteBatch_CreatesAll_ExistingAndDuplicateGetErrChanged(t *testing.T) {
	for _, mode := range []string{"unnamed files", "temp files", "staging folder"} {
		t.Run(mode, func(t *testing.T) {
			d := newDir(t)
			switch mode {
			case "temp files":
				d.noTmpfile.Store(true) // as on a filesystem without O_TMPFILE
			case "staging folder":
				var err error
				if d, err = CreateStaged(filepath.Join(t.TempDir(), "cal"), ICS); err != nil {
					t.Fatal(err)
				}
			}
			testWriteBatchCreatesAll(t, d)
		})
	}
}

func testWriteBatchCreatesAll(t *testing.T, d *Dir) {
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

// The unnamed-file path is the one taken wherever the filesystem offers
// O_TMPFILE: a batch leaves no temp file behind at any point, and the
// fingerprint it returns is the installed file's.
func TestWriteBatch_TmpfileFilesystem_UsesUnnamedFiles(t *testing.T) {
	d := newDir(t)
	fd, err := unix.Open(d.Path(), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Skipf("the test folder's filesystem has no O_TMPFILE (%v): the temp-file path is tested above", err)
	}
	unix.Close(fd)
	fps, err := d.WriteBatch([]NewFile{{"a.ics", []byte("A")}, {"b.ics", []byte("BB")}})
	if err != nil {
		t.Fatal(err)
	}
	if d.noTmpfile.Load() {
		t.Fatal("fell back to temp files on a filesystem with O_TMPFILE")
	}
	for i, name := range []string{"a.ics", "b.ics"} {
		fp, err := d.Stat(name)
		if err != nil || fp != fps[i] {
			t.Errorf("%s: stat %+v err %v, batch said %+v", name, fp, err, fps[i])
		}
	}
	des, err := os.ReadDir(d.Path())
	if err != nil || len(des) != 2 {
		t.Fatalf("folder holds %d entries (%v), want the 2 files only", len(des), err)
	}
}

// Without /proc an unnamed file cannot be linked: each file is written
// again the slow way (temp file, fsync, rename) and nothing is lost.
func TestWriteBatch_NoProc_FallsBackPerFile(t *testing.T) {
	d := newDir(t)
	defer func(old string) { procFD = old }(procFD)
	procFD = filepath.Join(t.TempDir(), "no-proc") + "/"
	mustWrite(t, d, "taken.ics", "user's")
	files := []NewFile{{"a.ics", []byte("A")}, {"taken.ics", []byte("server")}, {"b.ics", []byte("BB")}}
	fps, err := d.WriteBatch(files)
	var be *BatchError
	if !errors.As(err, &be) || be.Errs[0] != nil || be.Errs[2] != nil || !errors.Is(be.Errs[1], ErrChanged) {
		t.Fatalf("err = %v", err)
	}
	for _, i := range []int{0, 2} {
		data, fp, err := d.Read(files[i].Name)
		if err != nil || string(data) != string(files[i].Data) || fp != fps[i] {
			t.Errorf("%s: read %q fp %+v (batch fp %+v) err %v", files[i].Name, data, fp, fps[i], err)
		}
	}
	if got := readString(t, filepath.Join(d.Path(), "taken.ics")); got != "user's" {
		t.Fatalf("existing file overwritten: %q", got)
	}
	assertNoTemp(t, d)
}

// Under an open-file limit lower than a batch, the batch is written in
// parts that fit, and a file that still finds no descriptor is written
// after the others are linked and closed: the whole batch lands, nothing is
// reported as failed.
func TestWriteBatch_LowOpenFileLimit_WritesEveryFile(t *testing.T) {
	// 20 free descriptors: parts of 8. 3 free: parts of 8 too (the limit is
	// read as a whole), so most files find no descriptor and go late.
	for _, free := range []uint64{20, 3} {
		t.Run(fmt.Sprintf("%d free", free), func(t *testing.T) {
			d := newDir(t)
			var old unix.Rlimit
			if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
				t.Fatal(err)
			}
			ents, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				t.Fatal(err)
			}
			low := old
			low.Cur = uint64(len(ents)) + free
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
				t.Fatal(err)
			}
			files := benchFiles(200)
			fps, werr := d.WriteBatch(files)
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
				t.Fatal(err)
			}
			if werr != nil {
				t.Fatalf("batch under a limit of %d open files: %v", low.Cur, werr)
			}
			for i, f := range files {
				fp, err := d.Stat(f.Name)
				if err != nil || fp != fps[i] {
					t.Fatalf("%s: stat %+v err %v, batch said %+v", f.Name, fp, err, fps[i])
				}
			}
			assertNoTemp(t, d)
		})
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
		d, _ := Create(filepath.Join(b.TempDir(), fmt.Sprint(i)), ICS)
		if _, err := d.WriteBatch(files); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBatchStaged500 is a first download's batch: files created
// under their names in a staging folder, then the folder published.
func BenchmarkWriteBatchStaged500(b *testing.B) {
	files := benchFiles(500)
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), fmt.Sprint(i))
		d, err := CreateStaged(path, ICS)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.WriteBatch(files); err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.Publish(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteEach500(b *testing.B) {
	files := benchFiles(500)
	for i := 0; i < b.N; i++ {
		d, _ := Create(filepath.Join(b.TempDir(), fmt.Sprint(i)), ICS)
		for _, f := range files {
			if _, err := d.Write(f.Name, f.Data, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
