package vdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newDir(t *testing.T) *Dir {
	t.Helper()
	d, err := Create(filepath.Join(t.TempDir(), "cal"), ICS)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustWrite(t *testing.T, d *Dir, name, content string) Fingerprint {
	t.Helper()
	fp, err := d.Write(name, []byte(content), nil)
	if err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return fp
}

// writeEntries writes files into d, each holding its own name, plus a
// directory dir.ics and a symlink link.ics to linkTo: entries with an item's
// name that List and Sum must pass over.
func writeEntries(t *testing.T, d *Dir, linkTo string, files ...string) {
	t.Helper()
	p := d.Path()
	for _, n := range files {
		if err := os.WriteFile(filepath.Join(p, n), []byte(n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(p, "dir.ics"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(p, linkTo), filepath.Join(p, "link.ics")); err != nil {
		t.Fatal(err)
	}
}

func names(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpen_MissingRoot_ErrNoDir(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope"), ICS)
	if !errors.Is(err, ErrNoDir) {
		t.Fatalf("err = %v, want ErrNoDir", err)
	}
}

func TestOpen_RegularFile_ErrNoDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p, ICS); !errors.Is(err, ErrNoDir) {
		t.Fatalf("err = %v, want ErrNoDir", err)
	}
}

func TestOpen_DoesNotCreateRoot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope")
	Open(p, ICS)
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open created the root: %v", err)
	}
}

func TestOpen_SymlinkedRoot_ResolvedOnce(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	d, err := Open(link, ICS)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != real {
		t.Fatalf("Path = %q, want %q", d.Path(), real)
	}
	mustWrite(t, d, "a.ics", "A")
	if got := readString(t, filepath.Join(real, "a.ics")); got != "A" {
		t.Fatalf("content = %q", got)
	}
}

func TestList_OnlyRegularIcsFiles_SortedWithFingerprints(t *testing.T) {
	d := newDir(t)
	writeEntries(t, d, "a.ics", "b.ics", "a.ics", // items
		".a.ics.swp", "4913", "a.ics~", ".x.ics", "a.ics.conflict-20260101T000000Z",
		"displayname", "color", "notes.txt", ".vdird-123.tmp")
	es, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(es), []string{"a.ics", "b.ics"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	fp, err := d.Stat("a.ics")
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Fingerprint != fp || fp.Size != int64(len("a.ics")) || fp.Inode == 0 || fp.ModNs == 0 {
		t.Fatalf("fingerprint %+v vs stat %+v", es[0].Fingerprint, fp)
	}
}

func TestList_NeverReadsContents(t *testing.T) {
	d := newDir(t)
	p := filepath.Join(d.Path(), "secret.ics")
	if os.Geteuid() == 0 {
		// Root reads a mode 0000 file; a FIFO without a writer blocks any
		// reader instead, so a List that read it would never return.
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := d.List(); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("List: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("List opened the FIFO: it reads contents")
		}
		return
	}
	if err := os.WriteFile(p, []byte("x"), 0o000); err != nil { // unreadable
		t.Fatal(err)
	}
	es, err := d.List()
	if err != nil || len(es) != 1 {
		t.Fatalf("List = %v, %v", es, err)
	}
}

func TestStat_Missing_WrapsErrNotExist(t *testing.T) {
	d := newDir(t)
	if _, err := d.Stat("x.ics"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestWrite_CreateThenRead_FingerprintMatchesStat(t *testing.T) {
	d := newDir(t)
	fp := mustWrite(t, d, "a.ics", "BEGIN:VCALENDAR")
	data, rfp, err := d.Read("a.ics")
	if err != nil {
		t.Fatal(err)
	}
	sfp, _ := d.Stat("a.ics")
	if string(data) != "BEGIN:VCALENDAR" || rfp != fp || sfp != fp {
		t.Fatalf("data %q, write fp %+v, read fp %+v, stat fp %+v", data, fp, rfp, sfp)
	}
	if es, _ := d.List(); len(es) != 1 || es[0].Fingerprint != fp {
		t.Fatalf("List = %+v", es)
	}
}

func TestWrite_CreateWhenExists_ErrChanged_Untouched(t *testing.T) {
	d := newDir(t)
	mustWrite(t, d, "a.ics", "old")
	if _, err := d.Write("a.ics", []byte("new"), nil); !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if got := readString(t, filepath.Join(d.Path(), "a.ics")); got != "old" {
		t.Fatalf("content = %q", got)
	}
	assertNoTemp(t, d)
}

func TestWrite_ReplaceWithCurrentFingerprint_Replaces(t *testing.T) {
	d := newDir(t)
	fp := mustWrite(t, d, "a.ics", "old")
	fp2, err := d.Write("a.ics", []byte("newer"), &fp)
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(d.Path(), "a.ics")); got != "newer" {
		t.Fatalf("content = %q", got)
	}
	if fp2 == fp {
		t.Fatal("fingerprint did not change")
	}
	if s, _ := d.Stat("a.ics"); s != fp2 {
		t.Fatalf("stat %+v != returned %+v", s, fp2)
	}
}

func TestWrite_StaleFingerprint_ErrChanged_ContentUntouched(t *testing.T) {
	d := newDir(t)
	fp := mustWrite(t, d, "a.ics", "v1")
	// A user edits the file in place after our listing.
	p := filepath.Join(d.Path(), "a.ics")
	if err := os.WriteFile(p, []byte("user edit"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("a.ics", []byte("server"), &fp); !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if got := readString(t, p); got != "user edit" {
		t.Fatalf("content = %q", got)
	}
	assertNoTemp(t, d)
}

func TestWrite_ReplaceWhenRemoved_ErrChanged_NotRecreated(t *testing.T) {
	d := newDir(t)
	fp := mustWrite(t, d, "a.ics", "v1")
	os.Remove(filepath.Join(d.Path(), "a.ics"))
	if _, err := d.Write("a.ics", []byte("server"), &fp); !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if _, err := d.Stat("a.ics"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file recreated: %v", err)
	}
}

func TestWrite_SymlinkAtName_NeverWrittenThrough(t *testing.T) {
	d := newDir(t)
	outside := filepath.Join(t.TempDir(), "outside.ics")
	if err := os.WriteFile(outside, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(d.Path(), "a.ics")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("a.ics", []byte("x"), nil); !errors.Is(err, ErrChanged) {
		t.Fatalf("create over symlink: err = %v", err)
	}
	// Even a fingerprint matching the target (what a following stat would give) is refused.
	ofi, _ := os.Stat(outside)
	tfp := fingerprintOf(ofi)
	if _, err := d.Write("a.ics", []byte("x"), &tfp); !errors.Is(err, ErrChanged) {
		t.Fatalf("replace symlink: err = %v", err)
	}
	if _, _, err := d.Read("a.ics"); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("read symlink: err = %v", err)
	}
	if _, err := d.Stat("a.ics"); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("stat symlink: err = %v", err)
	}
	if err := d.Delete("a.ics", tfp); !errors.Is(err, ErrChanged) {
		t.Fatalf("delete symlink: err = %v", err)
	}
	if got := readString(t, outside); got != "precious" {
		t.Fatalf("target changed: %q", got)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("symlink replaced: %v", err)
	}
	if es, _ := d.List(); len(es) != 0 {
		t.Fatalf("symlink listed: %v", es)
	}
}

func TestWrite_BadNames_Refused(t *testing.T) {
	d := newDir(t)
	for _, n := range []string{"", ".", "..", "../x.ics", "a/b.ics", "a\x00.ics", ".vdird-1.tmp"} {
		if _, err := d.Write(n, []byte("x"), nil); !errors.Is(err, ErrBadName) {
			t.Errorf("Write(%q) err = %v, want ErrBadName", n, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(d.Path()), "x.ics")); err == nil {
		t.Fatal("wrote outside the folder")
	}
}

func TestWrite_ReplaceKeepsFileMode(t *testing.T) {
	d := newDir(t)
	p := filepath.Join(d.Path(), "a.ics")
	if err := os.WriteFile(p, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	fp, _ := d.Stat("a.ics")
	if _, err := d.Write("a.ics", []byte("v2"), &fp); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v", fi.Mode())
	}
}

// A crash after the temp file was written but before the rename leaves the
// temp file and the old content: List ignores the temp, CleanTemp removes it.
func TestWrite_SimulatedCrash_TempIgnoredByListAndRemovedByCleanTemp(t *testing.T) {
	d := newDir(t)
	mustWrite(t, d, "a.ics", "old")
	tmp, _, err := d.writeTemp([]byte("half-done new"), 0) // the crash: no install
	if err != nil {
		t.Fatal(err)
	}
	if !isTempName(filepath.Base(tmp)) {
		t.Fatalf("temp name %q", tmp)
	}
	es, err := d.List()
	if err != nil || !reflect.DeepEqual(names(es), []string{"a.ics"}) {
		t.Fatalf("List = %v, %v", es, err)
	}
	if got := readString(t, filepath.Join(d.Path(), "a.ics")); got != "old" {
		t.Fatalf("content = %q", got)
	}
	// A user's own hidden file is not ours to clean.
	other := filepath.Join(d.Path(), ".vdird-notes")
	os.WriteFile(other, nil, 0o600)
	n, err := d.CleanTemp()
	if err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d, %v", n, err)
	}
	assertNoTemp(t, d)
	if _, err := os.Lstat(other); err != nil {
		t.Fatalf("CleanTemp removed a non-temp file: %v", err)
	}
}

func assertNoTemp(t *testing.T, d *Dir) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(d.Path(), ".vdird-*.tmp"))
	if len(m) != 0 {
		t.Fatalf("temp files left: %v", m)
	}
}

func TestDelete_CurrentFingerprint_Removes(t *testing.T) {
	d := newDir(t)
	fp := mustWrite(t, d, "a.ics", "x")
	if err := d.Delete("a.ics", fp); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat("a.ics"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("still there: %v", err)
	}
}

func TestDelete_AlreadyGone_Nil(t *testing.T) {
	d := newDir(t)
	if err := d.Delete("a.ics", Fingerprint{Size: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestDelete_StaleFingerprint_ErrChanged_Kept(t *testing.T) {
	d := newDir(t)
	fp := mustWrite(t, d, "a.ics", "x")
	p := filepath.Join(d.Path(), "a.ics")
	os.WriteFile(p, []byte("user edit"), 0o600)
	if err := d.Delete("a.ics", fp); !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v", err)
	}
	if got := readString(t, p); got != "user edit" {
		t.Fatalf("content = %q", got)
	}
}

func TestWriteConflictCopy_NamedByUTCTime_NumberedWhenTaken_NotListed(t *testing.T) {
	d := newDir(t)
	mustWrite(t, d, "a.ics", "winner")
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	var got []string
	for i := 0; i < 3; i++ {
		n, err := d.WriteConflictCopy("a.ics", []byte(fmt.Sprintf("loser %d", i)), at)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	want := []string{
		"a.ics.conflict-20260304T040607Z",
		"a.ics.conflict-20260304T040607Z-2",
		"a.ics.conflict-20260304T040607Z-3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	if s := readString(t, filepath.Join(d.Path(), want[1])); s != "loser 1" {
		t.Fatalf("copy content = %q", s)
	}
	cc, err := d.ConflictCopies()
	if err != nil || !reflect.DeepEqual(cc, want) {
		t.Fatalf("ConflictCopies = %v, %v", cc, err)
	}
	if es, _ := d.List(); !reflect.DeepEqual(names(es), []string{"a.ics"}) {
		t.Fatalf("List = %v", names(es))
	}
	assertNoTemp(t, d)
}

func TestDisplayNameAndColor_RoundTrip_VdirsyncerFormat(t *testing.T) {
	d := newDir(t)
	if s, err := d.DisplayName(); s != "" || err != nil {
		t.Fatalf("missing displayname = %q, %v", s, err)
	}
	// Written by another tool with a trailing newline.
	os.WriteFile(filepath.Join(d.Path(), "displayname"), []byte("Work\n"), 0o600)
	if s, _ := d.DisplayName(); s != "Work" {
		t.Fatalf("DisplayName = %q", s)
	}
	if err := d.SetDisplayName("Privé ✓"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetColor("#ff8800"); err != nil {
		t.Fatal(err)
	}
	if s, _ := d.DisplayName(); s != "Privé ✓" {
		t.Fatalf("DisplayName = %q", s)
	}
	if s, _ := d.Color(); s != "#ff8800" {
		t.Fatalf("Color = %q", s)
	}
	if got := readString(t, filepath.Join(d.Path(), "color")); got != "#ff8800" {
		t.Fatalf("color file = %q", got)
	}
	if err := d.SetColor(""); err != nil {
		t.Fatal(err)
	}
	if s, err := d.Color(); s != "" || err != nil {
		t.Fatalf("cleared color = %q, %v", s, err)
	}
	assertNoTemp(t, d)
}

func TestHash_IsHexSHA256(t *testing.T) {
	if got := Hash([]byte("abc")); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash = %s", got)
	}
	if Hash([]byte("a")) == Hash([]byte("b")) {
		t.Fatal("hash ignores content")
	}
}

func TestRead_ContentLargerThanPage(t *testing.T) {
	d := newDir(t)
	big := bytes.Repeat([]byte("0123456789"), 100000)
	mustWrite(t, d, "big.ics", string(big))
	data, fp, err := d.Read("big.ics")
	if err != nil || !bytes.Equal(data, big) || fp.Size != int64(len(big)) {
		t.Fatalf("read %d bytes, fp %+v, err %v", len(data), fp, err)
	}
}

func BenchmarkList10k(b *testing.B) {
	d, err := Create(filepath.Join(b.TempDir(), "cal"), ICS)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("x", 600))
	for i := 0; i < 10000; i++ {
		if err := os.WriteFile(filepath.Join(d.Path(), fmt.Sprintf("%08d.ics", i)), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		es, err := d.List()
		if err != nil || len(es) != 10000 {
			b.Fatalf("List = %d, %v", len(es), err)
		}
	}
}

func TestOpen_DanglingSymlinkRoot_ErrNoDir(t *testing.T) {
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Join(t.TempDir(), "gone"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link, ICS); !errors.Is(err, ErrNoDir) {
		t.Fatalf("err = %v, want ErrNoDir", err)
	}
}
