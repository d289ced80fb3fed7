package versions

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
	"golang.org/x/sys/unix"
)

// smallDisk mounts a tmpfs of size on a fresh directory for the test and
// returns it.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		testserver.Unavailable(t, "cannot mount a tmpfs on %s (%v): the disk-full tests need root with mount rights", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillTo writes a file at path that leaves pages free pages on its filesystem.
func fillTo(t *testing.T, path string, pages int64) {
	t.Helper()
	var st unix.Statfs_t
	must(t, unix.Statfs(filepath.Dir(path), &st))
	n := (int64(st.Bavail) - pages) * st.Bsize
	if n < 0 {
		t.Fatalf("only %d pages free, want to leave %d", st.Bavail, pages)
	}
	must(t, os.WriteFile(path, make([]byte, n), 0o600))
	must(t, unix.Statfs(filepath.Dir(path), &st))
	if int64(st.Bavail) != pages {
		t.Fatalf("%d pages free after filling, want %d", st.Bavail, pages)
	}
}

// noSpace asserts err is a *SaveError for the item of v that wraps ErrNoSpace.
func noSpace(t *testing.T, err error, v Version) {
	t.Helper()
	var se *SaveError
	if !errors.Is(err, ErrNoSpace) || !errors.As(err, &se) || !strings.Contains(err.Error(), v.File+" (UID "+v.UID+")") {
		t.Fatalf("got %v, want ErrNoSpace naming %s", err, v.File)
	}
}

// noTemps asserts no temp file is left in the store.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	for _, f := range dirFiles(t, dir) {
		if strings.HasPrefix(filepath.Base(f), tempPrefix) {
			t.Fatalf("temp file %s left", f)
		}
	}
}

func TestSave_DiskFull_ErrNoSpaceNamesTheItem_NothingHalfWritten(t *testing.T) {
	mnt := smallDisk(t, "64k")
	dir := filepath.Join(mnt, "versions")
	s := open(t, dir, DefaultOptions())
	must(t, s.Save(context.Background(), ver("a", 0, t0)))

	big := sized("a", 1, 100_000, t0)
	noSpace(t, s.Save(context.Background(), big), big)
	noTemps(t, dir)
	if got := uids(checkStore(t, s)); !slices.Equal(got, []string{"uid-0"}) {
		t.Fatalf("after a failed save: %v", got)
	}
	// The disk is not full: the next item is kept.
	must(t, s.Save(context.Background(), ver("a", 2, t0)))
	if got := uids(checkStore(t, s)); !slices.Equal(got, []string{"uid-2", "uid-0"}) {
		t.Fatalf("after the next save: %v", got)
	}
}

func TestSaveBatch_DiskFillsMidway_EachItemKeptOrFailedWhole(t *testing.T) {
	mnt := smallDisk(t, "64k")
	dir := filepath.Join(mnt, "versions")
	s := open(t, dir, DefaultOptions())
	var vs []Version
	for i := range 10 {
		vs = append(vs, sized("a", i, 9000, t0)) // three pages each: about five fit
	}
	err := s.SaveBatch(context.Background(), vs)
	var be *BatchError
	if !errors.As(err, &be) || !errors.Is(err, ErrNoSpace) {
		t.Fatalf("got %v, want a BatchError with ErrNoSpace", err)
	}
	var kept []string
	for i, err := range be.Errs {
		if err == nil {
			kept = append(kept, vs[i].UID)
			continue
		}
		noSpace(t, err, vs[i])
	}
	if len(kept) == 0 || len(kept) == len(vs) {
		t.Fatalf("kept %v: want the disk to fill midway", kept)
	}
	noTemps(t, dir)
	if got := sortedUIDs(checkStore(t, s)); !slices.Equal(got, sortedUIDs2(kept)) {
		t.Fatalf("listed %v, want the %v reported kept", got, kept)
	}
}

func TestSave_DiskFullWhenTheIndexGrows_VersionFileRemovedIndexWhole(t *testing.T) {
	mnt := smallDisk(t, "64k")
	dir := filepath.Join(mnt, "versions")
	s := open(t, dir, DefaultOptions())
	must(t, s.Save(context.Background(), ver("a", 0, t0)))
	// Pad the index to exactly one page with a line listing ignores, and
	// leave one page free: the version's file takes it, and the index
	// cannot grow.
	index := filepath.Join(dir, dayOf(t0), indexName)
	b, err := os.ReadFile(index)
	must(t, err)
	pad := "#" + strings.Repeat("x", 4096-len(b)-2) + "\n"
	must(t, os.WriteFile(index, append(b, pad...), 0o600))
	fillTo(t, filepath.Join(mnt, "filler"), 1)

	v := ver("a", 1, t0)
	err = s.Save(context.Background(), v)
	noSpace(t, err, v)
	if !strings.Contains(err.Error(), "index") {
		t.Fatalf("%v: want the index append to fail", err)
	}
	noTemps(t, dir)
	if fi, err := os.Stat(index); err != nil || fi.Size() != 4096 {
		t.Fatalf("index after the failed append: %v %v, want 4096 bytes", fi.Size(), err)
	}
	if got := uids(checkStore(t, s)); !slices.Equal(got, []string{"uid-0"}) {
		t.Fatalf("listed %v", got)
	}
	must(t, os.Remove(filepath.Join(mnt, "filler")))
	must(t, s.Save(context.Background(), v))
	if got := uids(checkStore(t, s)); !slices.Equal(got, []string{"uid-1", "uid-0"}) {
		t.Fatalf("after freeing space: %v", got)
	}
}
