package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/setsum"
	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "dir", "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func sampleCollection(key string) Collection {
	return Collection{
		Key: key, Account: "acct", Href: "/dav/u/" + key + "/", Dir: "/home/u/.calendars/" + key,
		Marker: `ctag "ctag-1"`, SyncToken: "http://radicale.org/ns/sync/1", DisplayName: "Work", Color: "#ff0000",
		ReadOnly: true, LastSync: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), LastError: "boom",
		Refused: "the local folder is empty", Rejected: map[string]Rejection{"a.ics": {Hash: "h1", Reason: "403 Forbidden"}},
	}
}

func sampleItem(href string) Item {
	return Item{
		Href: href, ETag: `W/"e-` + href + `"`, Name: "x.ics",
		Fingerprint: Fingerprint{Size: 12, ModNs: 1700000000123456789, Inode: 42},
		Hash:        "abc", UID: "uid-" + href, Base: []byte("BEGIN:VCALENDAR\r\n" + href),
	}
}

func TestOpen_CreatesParentAndPrivateFile_CurrentSchema(t *testing.T) {
	s, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", di.Mode())
	}
	if s.Path() != path || s.SchemaVersion() != CurrentSchema() || CurrentSchema() < 1 {
		t.Fatalf("Path %q SchemaVersion %d", s.Path(), s.SchemaVersion())
	}
}

func TestCollectionsAndItems_RoundTrip_SurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	for _, key := range []string{"b", "a"} {
		err := s.Update(key, func(tx *Tx) error {
			if err := tx.SetCollection(sampleCollection(key)); err != nil {
				return err
			}
			for _, h := range []string{"/z.ics", "/a.ics", "/m.ics"} {
				if err := tx.PutItem(sampleItem(key + h)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	cs, err := s.Collections()
	if err != nil {
		t.Fatal(err)
	}
	if want := []Collection{sampleCollection("a"), sampleCollection("b")}; !reflect.DeepEqual(cs, want) {
		t.Fatalf("Collections = %+v\nwant %+v", cs, want)
	}
	c, ok, err := s.Collection("b")
	if err != nil || !ok || !reflect.DeepEqual(c, sampleCollection("b")) {
		t.Fatalf("Collection(b) = %+v, %v, %v", c, ok, err)
	}
	if _, ok, err := s.Collection("nope"); ok || err != nil {
		t.Fatalf("Collection(nope) = %v, %v", ok, err)
	}

	items, err := s.Items("a")
	if err != nil {
		t.Fatal(err)
	}
	var hrefs []string
	for _, it := range items {
		hrefs = append(hrefs, it.Href)
		want := sampleItem(it.Href)
		want.Base = nil
		if !reflect.DeepEqual(it, want) {
			t.Errorf("Items entry %+v\nwant %+v", it, want)
		}
	}
	if want := []string{"a/a.ics", "a/m.ics", "a/z.ics"}; !reflect.DeepEqual(hrefs, want) {
		t.Fatalf("Items hrefs = %v, want %v", hrefs, want)
	}
	it, ok, err := s.Item("a", "a/m.ics")
	if err != nil || !ok || !reflect.DeepEqual(it, sampleItem("a/m.ics")) {
		t.Fatalf("Item = %+v, %v, %v", it, ok, err)
	}
	if _, ok, err := s.Item("a", "a/none.ics"); ok || err != nil {
		t.Fatalf("Item(missing) = %v, %v", ok, err)
	}
}

// A record written back without its base (as Items gives it, with a new
// fingerprint after a touch) keeps the stored base: the content is the same.
func TestPutItem_WithoutBaseSameHash_KeepsStoredBase(t *testing.T) {
	s, _ := openTemp(t)
	it := sampleItem("/x.ics")
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(it) }))
	items, err := s.Items("k")
	must(t, err)
	touched := items[0]
	touched.Fingerprint.ModNs++
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(touched) }))
	got, ok, err := s.Item("k", "/x.ics")
	must(t, err)
	if !ok || !bytes.Equal(got.Base, it.Base) || got.Fingerprint != touched.Fingerprint {
		t.Fatalf("after a write without base: Base %q, fingerprint %+v", got.Base, got.Fingerprint)
	}
	if n := countBases(t, s); n != 1 {
		t.Fatalf("%d bases stored for one item", n)
	}
}

// A base always describes the recorded content: a new hash without a new
// base leaves none.
func TestPutItem_WithoutBaseChangedHash_DropsStoredBase(t *testing.T) {
	s, _ := openTemp(t)
	it := sampleItem("/x.ics")
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(it) }))
	it.Base, it.Hash = nil, "other"
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(it) }))
	got, ok, err := s.Item("k", "/x.ics")
	must(t, err)
	if !ok || got.Base != nil || got.Hash != "other" {
		t.Fatalf("after a new hash without base: Base %q, Hash %q", got.Base, got.Hash)
	}
	if n := countBases(t, s); n != 0 {
		t.Fatalf("%d bases left for an item without base", n)
	}
}

func TestItem_BaseIsACopy_NotBoltMemory(t *testing.T) {
	s, _ := openTemp(t)
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(sampleItem("/x.ics")) }))
	got, _, _ := s.Item("k", "/x.ics")
	// Writing more data may remap the file; a slice aliasing the old map would change or fault.
	must(t, s.Update("k", func(tx *Tx) error {
		for i := 0; i < 2000; i++ {
			it := sampleItem(fmt.Sprintf("/f%d.ics", i))
			it.Base = bytes.Repeat([]byte("y"), 4096)
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	}))
	if !bytes.Equal(got.Base, sampleItem("/x.ics").Base) {
		t.Fatalf("Base changed: %q", got.Base)
	}
}

func TestDeleteItemAndCollection_Forget(t *testing.T) {
	s, _ := openTemp(t)
	must(t, s.Update("k", func(tx *Tx) error {
		tx.SetCollection(sampleCollection("k"))
		tx.PutItem(sampleItem("/a.ics"))
		return tx.PutItem(sampleItem("/b.ics"))
	}))
	must(t, s.Update("k", func(tx *Tx) error { return tx.DeleteItem("/a.ics") }))
	if _, ok, _ := s.Item("k", "/a.ics"); ok {
		t.Fatal("deleted item still there")
	}
	if items, _ := s.Items("k"); len(items) != 1 || items[0].Href != "/b.ics" {
		t.Fatalf("Items = %+v", items)
	}
	id, err := s.BeginJournal(JournalEntry{Key: "k", Href: "/b.ics", Op: OpPut})
	must(t, err)
	id2, err := s.BeginJournal(JournalEntry{Key: "other", Href: "/c.ics", Op: OpDelete})
	must(t, err)
	must(t, s.DeleteCollection("k"))
	if _, ok, _ := s.Collection("k"); ok {
		t.Fatal("collection still there")
	}
	if items, _ := s.Items("k"); len(items) != 0 {
		t.Fatalf("Items = %+v", items)
	}
	p, _ := s.Pending()
	if len(p) != 1 || p[0].ID != id2 || p[0].ID == id {
		t.Fatalf("Pending = %+v", p)
	}
	must(t, s.DeleteCollection("never-existed"))
}

func TestUpdate_FnError_LeavesThisAndOtherCollectionsUnchanged(t *testing.T) {
	s, _ := openTemp(t)
	for _, key := range []string{"a", "b"} {
		must(t, s.Update(key, func(tx *Tx) error {
			tx.SetCollection(sampleCollection(key))
			return tx.PutItem(sampleItem("/1.ics"))
		}))
	}
	beforeA, _ := s.Items("a")
	beforeB, _ := s.Items("b")
	boom := errors.New("boom")
	err := s.Update("a", func(tx *Tx) error {
		c, _ := tx.Collection()
		c.Marker = "changed"
		tx.SetCollection(c)
		tx.PutItem(sampleItem("/2.ics"))
		tx.DeleteItem("/1.ics")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if c, _, _ := s.Collection("a"); c.Marker != sampleCollection("a").Marker {
		t.Fatalf("marker = %q", c.Marker)
	}
	afterA, _ := s.Items("a")
	afterB, _ := s.Items("b")
	if !reflect.DeepEqual(beforeA, afterA) || !reflect.DeepEqual(beforeB, afterB) {
		t.Fatalf("items changed: %+v / %+v", afterA, afterB)
	}
	if _, ok, _ := s.Collection("c"); ok {
		t.Fatal("phantom collection")
	}
}

func TestTx_CollectionSeesOwnWrites_KeyMustMatch_InvalidAfterUpdate(t *testing.T) {
	s, _ := openTemp(t)
	var leaked *Tx
	must(t, s.Update("k", func(tx *Tx) error {
		if _, ok := tx.Collection(); ok {
			t.Error("unknown collection reported as present")
		}
		if err := tx.SetCollection(sampleCollection("other")); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("SetCollection(other) err = %v", err)
		}
		if err := tx.SetCollection(sampleCollection("k")); err != nil {
			return err
		}
		if c, ok := tx.Collection(); !ok || c.DisplayName != "Work" {
			t.Errorf("Collection in tx = %+v, %v", c, ok)
		}
		tx.PutItem(sampleItem("/a.ics"))
		if it, ok, err := tx.Item("/a.ics"); !ok || err != nil || it.UID != "uid-/a.ics" {
			t.Errorf("Item in tx = %+v, %v, %v", it, ok, err)
		}
		leaked = tx
		return nil
	}))
	if err := leaked.PutItem(sampleItem("/b.ics")); !errors.Is(err, ErrTxDone) {
		t.Fatalf("use after Update: err = %v", err)
	}
}

func TestJournal_SurvivesReopen_OldestFirst(t *testing.T) {
	s, path := openTemp(t)
	started := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	var ids []uint64
	for i, op := range []string{OpCreate, OpPut, OpDelete} {
		id, err := s.BeginJournal(JournalEntry{Key: "k", Href: fmt.Sprintf("/%d.ics", i), Name: "n.ics",
			Op: op, ETagBefore: `"e"`, Hash: "h", UID: "u", Started: started})
		must(t, err)
		ids = append(ids, id)
	}
	if _, err := s.BeginJournal(JournalEntry{Key: "k", Op: "patch"}); !errors.Is(err, ErrBadJournalOp) {
		t.Fatalf("bad op err = %v", err)
	}
	must(t, s.EndJournal(ids[1]))
	s.Close()
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	p, err := s.Pending()
	must(t, err)
	want := []JournalEntry{
		{ID: ids[0], Key: "k", Href: "/0.ics", Name: "n.ics", Op: OpCreate, ETagBefore: `"e"`, Hash: "h", UID: "u", Started: started},
		{ID: ids[2], Key: "k", Href: "/2.ics", Name: "n.ics", Op: OpDelete, ETagBefore: `"e"`, Hash: "h", UID: "u", Started: started},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("Pending = %+v\nwant %+v", p, want)
	}
	// IDs keep growing after reopen: a new entry never reuses a cleared one.
	id, _ := s.BeginJournal(JournalEntry{Key: "k", Op: OpPut})
	if id <= ids[2] {
		t.Fatalf("id %d reused (<= %d)", id, ids[2])
	}
}

func TestEndJournalInUpdate_AtomicWithPutItem(t *testing.T) {
	s, _ := openTemp(t)
	id, err := s.BeginJournal(JournalEntry{Key: "k", Href: "/a.ics", Op: OpCreate})
	must(t, err)
	// The result fails to record: the journal entry must survive too.
	err = s.Update("k", func(tx *Tx) error {
		must(t, tx.PutItem(sampleItem("/a.ics")))
		must(t, tx.EndJournal(id))
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("expected error")
	}
	if p, _ := s.Pending(); len(p) != 1 || p[0].ID != id {
		t.Fatalf("journal cleared without the item: %+v", p)
	}
	if _, ok, _ := s.Item("k", "/a.ics"); ok {
		t.Fatal("item recorded in a failed transaction")
	}
	// Now it succeeds: both at once.
	must(t, s.Update("k", func(tx *Tx) error {
		if err := tx.PutItem(sampleItem("/a.ics")); err != nil {
			return err
		}
		return tx.EndJournal(id)
	}))
	if p, _ := s.Pending(); len(p) != 0 {
		t.Fatalf("Pending = %+v", p)
	}
	if _, ok, _ := s.Item("k", "/a.ics"); !ok {
		t.Fatal("item not recorded")
	}
}

func TestOpen_SameProcessSecondOpen_ErrLockedNamingPath(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded")
	}
	if !errors.Is(err, ErrLocked) || err.Error() != "another vdird is using "+path {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

const childEnv = "VDIRD_STATE_TEST_CHILD_OPEN"

// TestMain runs the child side of the cross-process lock test when that
// test starts this binary again with childEnv set; else the tests.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		childOpen(path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childOpen opens the state file at path from another process and prints
// what happened.
func childOpen(path string) {
	s, err := Open(path)
	if err == nil {
		s.Close()
		fmt.Println("RESULT opened")
		return
	}
	fmt.Printf("RESULT locked=%v msg=%s\n", errors.Is(err, ErrLocked), err)
}

func TestOpen_OtherProcessHoldsFile_ErrLockedWithin2s(t *testing.T) {
	_, path := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 2*time.Second+500*time.Millisecond {
		t.Fatalf("child took %v", d)
	}
	want := "RESULT locked=true msg=another vdird is using " + path + "\n"
	if !strings.Contains(string(out), want) {
		t.Fatalf("child output:\n%s\nwant line %q", out, want)
	}
}

func TestOpen_AfterClose_Reopens(t *testing.T) {
	s, path := openTemp(t)
	must(t, s.Close())
	s2, err := Open(path)
	must(t, err)
	s2.Close()
}

func setVersion(t *testing.T, path string, v uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	must(t, err)
	defer db.Close()
	must(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], v)
		return b.Put(keySchema, k[:])
	}))
}

func TestOpen_NewerSchema_RefusedWithBothVersions(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	newer := uint64(CurrentSchema() + 3)
	setVersion(t, path, newer)
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("newer schema accepted")
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprint(newer)) || !strings.Contains(msg, fmt.Sprint(CurrentSchema())) || !strings.Contains(msg, path) {
		t.Fatalf("message lacks versions or path: %s", msg)
	}
	// The refused file is left as it was, and unlocked.
	setVersion(t, path, newer)
}

func TestOpen_ForeignBoltFile_Refused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err }))
	db.Close()
	if s, err := Open(path); !errors.Is(err, ErrNotStateFile) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("err = %v", err)
	}
}

// An older file (version 1, with data) is migrated step by step at Open,
// exactly once, and keeps its data.
func TestOpen_OlderSchema_MigrationsAppliedInOrderOnce(t *testing.T) {
	s, path := openTemp(t)
	must(t, s.Update("k", func(tx *Tx) error { return tx.SetCollection(sampleCollection("k")) }))
	s.Close()
	setVersion(t, path, 1) // a fake file as written by schema 1

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	var ran []int
	migrations = append(append([]func(*bolt.Tx) error{}, saved[:1]...),
		func(tx *bolt.Tx) error { ran = append(ran, 1); _, err := tx.CreateBucket([]byte("v2")); return err },
		func(tx *bolt.Tx) error {
			ran = append(ran, 2)
			if tx.Bucket([]byte("v2")) == nil {
				return errors.New("step 2 ran before step 1")
			}
			return nil
		},
	)
	s2, err := Open(path)
	must(t, err)
	if s2.SchemaVersion() != 3 || !reflect.DeepEqual(ran, []int{1, 2}) {
		t.Fatalf("version %d, ran %v", s2.SchemaVersion(), ran)
	}
	if c, ok, _ := s2.Collection("k"); !ok || c.DisplayName != "Work" {
		t.Fatalf("data lost: %+v", c)
	}
	s2.Close()
	ran = nil
	s3, err := Open(path)
	must(t, err)
	s3.Close()
	if len(ran) != 0 {
		t.Fatalf("migrations re-ran: %v", ran)
	}
}

func TestOpen_FailedMigration_KeepsOldVersion(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]func(*bolt.Tx) error{}, saved...),
		func(tx *bolt.Tx) error { tx.CreateBucket([]byte("half")); return errors.New("nope") })
	if _, err := Open(path); err == nil {
		t.Fatal("failed migration accepted")
	}
	migrations = saved
	s2, err := Open(path)
	must(t, err)
	defer s2.Close()
	if s2.SchemaVersion() != len(saved) {
		t.Fatalf("version %d", s2.SchemaVersion())
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func put10k(s *Store, key string) error {
	base := bytes.Repeat([]byte("x"), 800)
	return s.Update(key, func(tx *Tx) error {
		for i := 0; i < 10000; i++ {
			it := sampleItem(fmt.Sprintf("/dav/u/cal/%08d.ics", i))
			it.Base = base
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	})
}

func BenchmarkUpdate10kItems(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	must(b, err)
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		must(b, put10k(s, fmt.Sprint("k", i%4)))
	}
}

func BenchmarkItems10k(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	must(b, err)
	defer s.Close()
	must(b, put10k(s, "k"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		items, err := s.Items("k")
		if err != nil || len(items) != 10000 {
			b.Fatalf("Items = %d, %v", len(items), err)
		}
	}
}

// writeSchema1 writes a file exactly as schema 1 laid it out: item records
// without a base sequence and bases keyed by href.
func writeSchema1(t *testing.T, path string, key string, items []Item) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o700))
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	must(t, err)
	defer db.Close()
	must(t, db.Update(func(tx *bolt.Tx) error {
		if err := migrations[0](tx); err != nil {
			return err
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 1)
		if err := tx.Bucket(bucketMeta).Put(keySchema, k[:]); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketCollections).CreateBucket([]byte(key))
		if err != nil {
			return err
		}
		ib, _ := b.CreateBucket([]byte("items"))
		bb, _ := b.CreateBucket([]byte("base"))
		for _, it := range items {
			if err := ib.Put([]byte(it.Href), schema1Record(it)); err != nil {
				return err
			}
			if it.Base != nil {
				if err := bb.Put([]byte(it.Href), it.Base); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// schema1Record is it's item record as schema 1 wrote it: format 1, then
// ETag, Name, Hash and UID with their lengths, then the fingerprint.
func schema1Record(it Item) []byte {
	v := []byte{1}
	for _, s := range []string{it.ETag, it.Name, it.Hash, it.UID} {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	v = binary.AppendVarint(v, it.Fingerprint.Size)
	v = binary.AppendVarint(v, it.Fingerprint.ModNs)
	return binary.AppendUvarint(v, it.Fingerprint.Inode)
}

func TestOpen_Schema1File_BasesMigratedToSequenceKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	a, b := sampleItem("/c/a.ics"), sampleItem("/c/b.ics")
	b.Base = nil
	writeSchema1(t, path, "k", []Item{a, b})

	s, err := Open(path)
	must(t, err)
	defer s.Close()
	if s.SchemaVersion() != CurrentSchema() {
		t.Fatalf("version %d", s.SchemaVersion())
	}
	got, ok, err := s.Item("k", a.Href)
	if err != nil || !ok || !reflect.DeepEqual(got, a) {
		t.Fatalf("a after migration = %+v, %v, %v", got, ok, err)
	}
	got, ok, err = s.Item("k", b.Href)
	if err != nil || !ok || !reflect.DeepEqual(got, b) {
		t.Fatalf("b after migration = %+v, %v, %v", got, ok, err)
	}
	if items, err := s.Items("k"); err != nil || len(items) != 2 {
		t.Fatalf("Items = %d, %v", len(items), err)
	}
	if items, err := s.ItemsWithUID("k", map[string]bool{b.UID: true}); err != nil || len(items) != 1 || items[0].Href != b.Href {
		t.Fatalf("UID index after migration: %+v, %v", items, err)
	}
	must(t, s.db.View(func(tx *bolt.Tx) error {
		if collectionBucket(tx, "k").Bucket([]byte("base")) != nil {
			return errors.New("schema-1 base bucket left behind")
		}
		return nil
	}))
	// Writes after the migration replace the moved base.
	a.Base = []byte("new base")
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(a) }))
	if got, _, _ := s.Item("k", a.Href); !bytes.Equal(got.Base, a.Base) {
		t.Fatalf("base after rewrite %q", got.Base)
	}
}

// Replacing or deleting items frees their old bases: the bases bucket
// holds exactly one entry per item that has a base.
func TestPutItem_ReplacedAndDeletedBases_DoNotAccumulate(t *testing.T) {
	s, _ := openTemp(t)
	it := sampleItem("/c/a.ics")
	other := sampleItem("/c/b.ics")
	for i := 0; i < 5; i++ {
		it.Base = []byte(fmt.Sprint("version ", i))
		must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(it) }))
		must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(it) })) // unchanged: kept
		must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(other) }))
	}
	if n := countBases(t, s); n != 2 {
		t.Fatalf("%d bases stored for 2 items", n)
	}
	if got, _, _ := s.Item("k", it.Href); string(got.Base) != "version 4" {
		t.Fatalf("base %q", got.Base)
	}
	must(t, s.Update("k", func(tx *Tx) error { return tx.DeleteItem(it.Href) }))
	other.Base, other.Hash = nil, "changed"
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(other) }))
	if n := countBases(t, s); n != 0 {
		t.Fatalf("%d bases left after delete and nil base", n)
	}
}

// scratchFileSum computes the file sum from the items, as the folder's own
// sum would be if every file were as recorded.
func scratchFileSum(t *testing.T, s *Store, key string) setsum.Sum {
	t.Helper()
	shards := scratchFileShards(t, s, key)
	return shards.Total()
}

// scratchFileShards is scratchFileSum split by file name.
func scratchFileShards(t *testing.T, s *Store, key string) setsum.Shards {
	t.Helper()
	items, err := s.Items(key)
	must(t, err)
	var shards setsum.Shards
	for _, it := range items {
		if it.Name != "" {
			shards.Add(it.Name, setsum.FileRecord(it.Name, it.Fingerprint.Size, it.Fingerprint.ModNs, it.Fingerprint.Inode))
		}
	}
	return shards
}

// checkShards fails unless the stored file sum shards are those computed
// from the items, and add up to the stored file sum. It returns them.
func checkShards(t *testing.T, s *Store, key string) setsum.Shards {
	t.Helper()
	want := scratchFileShards(t, s, key)
	got, err := s.FileShards(key)
	must(t, err)
	if d := got.Differ(&want); len(d) > 0 {
		t.Fatalf("file sum shards %v differ from the items' own", d)
	}
	sum, err := s.FileSum(key)
	must(t, err)
	if got.Total() != sum {
		t.Fatalf("file sum shards add up to %+v, file sum is %+v", got.Total(), sum)
	}
	return got
}

func TestFileSum_KeptUpToDateByPutAndDelete(t *testing.T) {
	s, _ := openTemp(t)
	if sum, err := s.FileSum("k"); err != nil || sum != (setsum.Sum{}) {
		t.Fatalf("unknown collection: %+v, %v", sum, err)
	}
	steps := []func(tx *Tx) error{
		func(tx *Tx) error { return tx.PutItem(sampleItem("/c/a.ics")) },
		func(tx *Tx) error { return tx.PutItem(sampleItem("/c/b.ics")) },
		func(tx *Tx) error { it := sampleItem("/c/a.ics"); it.Fingerprint.ModNs++; return tx.PutItem(it) },
		func(tx *Tx) error { it := sampleItem("/c/b.ics"); it.Name = "renamed.ics"; return tx.PutItem(it) },
		func(tx *Tx) error { it := sampleItem("/c/nofile.ics"); it.Name = ""; return tx.PutItem(it) },
		func(tx *Tx) error { return tx.DeleteItem("/c/a.ics") },
		func(tx *Tx) error { return tx.DeleteItem("/c/unknown.ics") },
	}
	for i, step := range steps {
		must(t, s.Update("k", step))
		got, err := s.FileSum("k")
		must(t, err)
		if want := scratchFileSum(t, s, "k"); got != want {
			t.Fatalf("after step %d: sum %+v, from scratch %+v", i, got, want)
		}
		checkShards(t, s, "k")
	}
	if got, _ := s.FileSum("k"); got.N != 1 {
		t.Fatalf("%d files counted, want 1", got.N)
	}
}

func TestOpen_Schema1File_GetsFileSum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	a, b := sampleItem("/c/a.ics"), sampleItem("/c/b.ics")
	b.Name, b.Base = "b.ics", nil
	writeSchema1(t, path, "k", []Item{a, b})
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	got, err := s.FileSum("k")
	must(t, err)
	if want := scratchFileSum(t, s, "k"); got != want || got.N != 2 {
		t.Fatalf("migrated sum %+v, want %+v", got, want)
	}
	if sh := checkShards(t, s, "k"); sh.Total().N != 2 {
		t.Fatalf("migrated shards count %d files", sh.Total().N)
	}
}

func TestItemsByHrefAndWithUID_OnlyWhatWasAskedFor(t *testing.T) {
	s, _ := openTemp(t)
	must(t, s.Update("k", func(tx *Tx) error {
		for i := 0; i < 50; i++ {
			it := sampleItem(fmt.Sprintf("/c/%02d.ics", i))
			it.UID = fmt.Sprint("uid-", i%25) // pairs share a UID
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	}))
	got, err := s.ItemsByHref("k", []string{"/c/03.ics", "/c/nope.ics", "/c/40.ics"})
	must(t, err)
	if len(got) != 2 || got["/c/03.ics"].UID != "uid-3" || got["/c/40.ics"].UID != "uid-15" || got["/c/03.ics"].Base != nil {
		t.Fatalf("ItemsByHref = %+v", got)
	}
	items, err := s.ItemsWithUID("k", map[string]bool{"uid-3": true, "uid-99": true})
	must(t, err)
	if len(items) != 2 || items[0].Href != "/c/03.ics" || items[1].Href != "/c/28.ics" {
		t.Fatalf("ItemsWithUID = %+v", items)
	}
	if items, err := s.ItemsWithUID("other", map[string]bool{"uid-3": true}); err != nil || len(items) != 0 {
		t.Fatalf("unknown collection: %v %v", items, err)
	}
	// A changed UID and a deletion leave no stale index entries.
	must(t, s.Update("k", func(tx *Tx) error {
		it := sampleItem("/c/03.ics")
		it.UID = "uid-new"
		if err := tx.PutItem(it); err != nil {
			return err
		}
		return tx.DeleteItem("/c/28.ics")
	}))
	if items, err := s.ItemsWithUID("k", map[string]bool{"uid-3": true}); err != nil || len(items) != 0 {
		t.Fatalf("after UID change and delete: %+v %v", items, err)
	}
	if items, err := s.ItemsWithUID("k", map[string]bool{"uid-new": true}); err != nil || len(items) != 1 || items[0].Href != "/c/03.ics" {
		t.Fatalf("new UID: %+v %v", items, err)
	}
}

func TestItemsByName_FollowsRenamesAndDeletes(t *testing.T) {
	s, _ := openTemp(t)
	a, b := sampleItem("/c/a.ics"), sampleItem("/c/b.ics")
	a.Name, b.Name = "a.ics", "b.ics"
	must(t, s.Update("k", func(tx *Tx) error { must(t, tx.PutItem(a)); return tx.PutItem(b) }))
	got, err := s.ItemsByName("k", []string{"a.ics", "b.ics", "zz.ics"})
	must(t, err)
	if len(got) != 2 || got["a.ics"].Href != a.Href || got["b.ics"].Href != b.Href {
		t.Fatalf("ItemsByName = %+v", got)
	}
	a.Name = "renamed.ics"
	must(t, s.Update("k", func(tx *Tx) error { must(t, tx.PutItem(a)); return tx.DeleteItem(b.Href) }))
	got, err = s.ItemsByName("k", []string{"a.ics", "b.ics", "renamed.ics"})
	must(t, err)
	if len(got) != 1 || got["renamed.ics"].Href != a.Href {
		t.Fatalf("after rename and delete: %+v", got)
	}
}

func TestOpen_Schema1File_GetsNameIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	a := sampleItem("/c/a.ics")
	a.Name = "a.ics"
	writeSchema1(t, path, "k", []Item{a})
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	got, err := s.ItemsByName("k", []string{"a.ics"})
	if err != nil || got["a.ics"].Href != a.Href {
		t.Fatalf("name index after migration: %+v %v", got, err)
	}
}
