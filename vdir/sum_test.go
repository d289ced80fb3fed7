package vdir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vdird/vdird/internal/setsum"
)

func listSum(t *testing.T, d *Dir) setsum.Sum {
	t.Helper()
	es, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	var s setsum.Sum
	for _, e := range es {
		s.Add(setsum.FileRecord(e.Name, e.Fingerprint.Size, e.Fingerprint.ModNs, e.Fingerprint.Inode))
	}
	return s
}

// Sum covers exactly the files List returns, across several ReadDir
// chunks, and flags temp files without counting them.
func TestSum_SameFilesAsList_TempFilesFlagged(t *testing.T) {
	d := newDir(t)
	p := d.Path()
	for i := 0; i < 1300; i++ { // more than two chunks
		mustWrite(t, d, fmt.Sprintf("i%04d.ics", i), fmt.Sprint("item ", i))
	}
	writeEntries(t, d, "i0001.ics", ".a.ics.swp", "notes.txt", "x.ics.conflict-20260101T000000Z", "displayname")
	sum, temps, err := d.Sum()
	if err != nil || temps {
		t.Fatalf("Sum: temps=%v err=%v", temps, err)
	}
	if want := listSum(t, d); sum != want || sum.N != 1300 {
		t.Fatalf("Sum %+v, from List %+v", sum, want)
	}
	if err := os.WriteFile(filepath.Join(p, tempPrefix+"123"+tempSuffix), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if sum2, temps, err := d.Sum(); err != nil || !temps || sum2 != sum {
		t.Fatalf("with a temp file: temps=%v same=%v err=%v", temps, sum2 == sum, err)
	}
	// Touching one file changes the sum.
	mustWrite(t, d, "new.ics", "x")
	if sum3, _, _ := d.Sum(); sum3 == sum {
		t.Fatal("a new file left the sum unchanged")
	}
}

func BenchmarkSum10k(b *testing.B) {
	d, err := Create(filepath.Join(b.TempDir(), "cal"), ICS)
	if err != nil {
		b.Fatal(err)
	}
	files := make([]NewFile, 10000)
	for i := range files {
		files[i] = NewFile{Name: fmt.Sprintf("i%05d.ics", i), Data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")}
	}
	if _, err := d.WriteBatch(files); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s, _, err := d.Sum(); err != nil || s.N != 10000 {
			b.Fatal(s, err)
		}
	}
}

// Shards add up to Sum and put each file in the shard of its name;
// EachNamed visits exactly the item files its filter accepts.
func TestShards_EachFileInItsNamesShard_EachNamedFilters(t *testing.T) {
	d := newDir(t)
	for i := 0; i < 600; i++ {
		mustWrite(t, d, fmt.Sprintf("i%04d.ics", i), fmt.Sprint("item ", i))
	}
	mustWrite(t, d, "notes.txt", "not an item")
	shards, temps, err := d.Shards()
	if err != nil || temps {
		t.Fatalf("Shards: temps=%v err=%v", temps, err)
	}
	if shards.Total() != listSum(t, d) {
		t.Fatal("shards do not add up to the folder's sum")
	}
	es, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	var want setsum.Shards
	inShard7 := map[string]bool{}
	for _, e := range es {
		want.Add(e.Name, setsum.FileRecord(e.Name, e.Fingerprint.Size, e.Fingerprint.ModNs, e.Fingerprint.Inode))
		if setsum.ShardOf(e.Name) == 7 {
			inShard7[e.Name] = true
		}
	}
	if d := shards.Differ(&want); len(d) != 0 {
		t.Fatalf("shards %v differ", d)
	}
	seen := 0
	_, err = d.EachNamed(func(name string) bool { return setsum.ShardOf(name) == 7 }, func(e Entry) error {
		if !inShard7[e.Name] {
			t.Errorf("EachNamed gave %s, not in shard 7", e.Name)
		}
		seen++
		return nil
	})
	if err != nil || seen != len(inShard7) || seen == 0 {
		t.Fatalf("EachNamed saw %d of the %d files of shard 7 (%v)", seen, len(inShard7), err)
	}
}
