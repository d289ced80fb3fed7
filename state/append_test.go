package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/vdird/vdird/internal/setsum"
	"github.com/vdird/vdird/state/internal/records"
	bolt "go.etcd.io/bbolt"
)

// randomItems returns n items with random (UUID-like) hrefs, names and
// UIDs, as a server's first download brings them.
func randomItems(n int, seed uint64) []Item {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]Item, n)
	for i := range out {
		id := fmt.Sprintf("%016x-%04d", r.Uint64(), i)
		out[i] = Item{Href: "/dav/u/cal/" + id + ".ics", ETag: `"` + id + `"`, Name: id + ".ics",
			Fingerprint: Fingerprint{Size: int64(100 + i), ModNs: int64(i), Inode: uint64(1000 + i)},
			Hash:        "h" + id, UID: fmt.Sprintf("uid-%x", r.Uint64()), Base: []byte("BEGIN:VCALENDAR " + id)}
	}
	return out
}

// writeItems records items in collection "k" with write (putItems or
// Tx.AddNewItems), batch items per transaction.
func writeItems(tb testing.TB, s *Store, items []Item, batch int, write func(*Tx, []Item) error) {
	tb.Helper()
	for i := 0; i < len(items); i += batch {
		part := items[i:min(i+batch, len(items))]
		must(tb, s.Update("k", func(tx *Tx) error { return write(tx, part) }))
	}
}

// putItems records items with Tx.PutItem.
func putItems(tx *Tx, items []Item) error {
	for _, it := range items {
		if err := tx.PutItem(it); err != nil {
			return err
		}
	}
	return nil
}

// addNew records one item with Tx.AddNewItems.
func addNew(it Item) func(tx *Tx) error {
	return func(tx *Tx) error { return tx.AddNewItems([]Item{it}) }
}

// hasWaiting reports whether collection key has new items not indexed yet.
func hasWaiting(t testing.TB, s *Store, key string) bool {
	t.Helper()
	var has bool
	must(t, s.db.View(func(tx *bolt.Tx) error {
		if b := collectionBucket(tx, key); b != nil {
			has = records.Waiting(b)
		}
		return nil
	}))
	return has
}

// snapshot is everything a reader can see of a collection.
type snapshot struct {
	Items  []Item
	Bases  map[string]string
	ByHref map[string]Item
	ByName map[string]Item
	ByUID  []Item
	Sum    setsum.Sum
	Shards setsum.Shards
}

func snapshotOf(t *testing.T, s *Store, key string, items []Item) snapshot {
	t.Helper()
	var sn snapshot
	var err error
	var hrefs, names []string
	uids := map[string]bool{}
	for _, it := range items {
		hrefs, names = append(hrefs, it.Href), append(names, it.Name)
		uids[it.UID] = true
	}
	sn.Items, err = s.Items(key)
	must(t, err)
	sn.Bases = map[string]string{}
	for _, it := range items {
		got, ok, err := s.Item(key, it.Href)
		must(t, err)
		if ok {
			sn.Bases[it.Href] = string(got.Base)
		}
	}
	sn.ByHref, err = s.ItemsByHref(key, hrefs)
	must(t, err)
	sn.ByName, err = s.ItemsByName(key, names)
	must(t, err)
	sn.ByUID, err = s.ItemsWithUID(key, uids)
	must(t, err)
	sum, err := s.FileSum(key)
	must(t, err)
	sn.Sum = sum
	sn.Shards = checkShards(t, s, key)
	return sn
}

func TestAddNewItems_ReadersSeeExactlyWhatPutItemGives(t *testing.T) {
	items := randomItems(500, 7)
	put, _ := openTemp(t)
	app, _ := openTemp(t)
	writeItems(t, put, items, 100, putItems)
	writeItems(t, app, items, 100, (*Tx).AddNewItems)
	if !hasWaiting(t, app, "k") {
		t.Fatal("AddNewItems updated the indexes instead of appending")
	}
	want := snapshotOf(t, put, "k", items)
	got := snapshotOf(t, app, "k", items) // the first reader folds
	if hasWaiting(t, app, "k") {
		t.Fatal("appended records left after a read")
	}
	if len(got.Items) != len(items) || !reflect.DeepEqual(got, want) {
		t.Fatalf("appended store reads differently from the PutItem one (%d items)", len(got.Items))
	}
	if scratch := scratchFileSum(t, app, "k"); scratch != got.Sum {
		t.Fatal("file sum after fold differs from the items' own")
	}
}

func TestUpdate_AddingNone_IndexesTheWaitingNewItems(t *testing.T) {
	items := randomItems(300, 5)
	put, _ := openTemp(t)
	writeItems(t, put, items, 100, putItems)
	s, _ := openTemp(t)
	writeItems(t, s, items, 100, (*Tx).AddNewItems)
	must(t, s.Update("k", func(tx *Tx) error { return tx.AddNewItems(nil) }))
	must(t, s.Update("other", func(tx *Tx) error { return tx.SetCollection(Collection{Key: "other"}) }))
	if !hasWaiting(t, s, "k") {
		t.Fatal("new items indexed by an Update that added some, or by one of another collection")
	}
	must(t, s.Update("k", func(tx *Tx) error { return tx.SetCollection(Collection{Key: "k"}) }))
	if hasWaiting(t, s, "k") {
		t.Fatal("new items still waiting after an Update that added none")
	}
	if got, want := snapshotOf(t, s, "k", items), snapshotOf(t, put, "k", items); !reflect.DeepEqual(got, want) {
		t.Fatalf("indexed new items read differently from PutItem ones (%d items)", len(got.Items))
	}
}

func TestFold_ManyChunks_AllIndexedInHrefOrder_BucketGone(t *testing.T) {
	defer func(n int) { foldChunk = n }(foldChunk)
	foldChunk = 7
	s, _ := openTemp(t)
	items := randomItems(50, 3)
	writeItems(t, s, items, len(items), (*Tx).AddNewItems)
	must(t, s.fold("k"))
	if hasWaiting(t, s, "k") {
		t.Fatal("appended bucket left after Fold")
	}
	got, err := s.Items("k")
	must(t, err)
	if len(got) != len(items) {
		t.Fatalf("%d items after fold, want %d", len(got), len(items))
	}
	must(t, s.fold("k")) // nothing left: a no-op
}

// foldStops are where the folds of the 45 items below are stopped: 45
// records make five chunks of 10, then their UIDs five more; after chunk
// 2 the fold is mid-way, after 5 every record is indexed but for its UID,
// after 6 some UIDs are, after 10 only dropping the log is left.
var foldStops = []int{2, 5, 6, 10}

func TestFold_StoppedAfterAChunk_NextReaderCompletesIt(t *testing.T) {
	items := randomItems(45, 11)
	items[30].Href = items[3].Href // one href twice: the later record wins
	put, _ := openTemp(t)
	writeItems(t, put, items, len(items), putItems)
	want := snapshotOf(t, put, "k", items)
	for _, stop := range foldStops {
		app := foldStoppedAfter(t, items, stop)
		if !hasWaiting(t, app, "k") {
			t.Fatalf("stopped after %d chunks: nothing left to fold", stop)
		}
		if got := snapshotOf(t, app, "k", items); !reflect.DeepEqual(got, want) {
			t.Fatalf("stopped after %d chunks, then read: %d items, want %d", stop, len(got.Items), len(want.Items))
		}
		if bases := countBases(t, app); bases != len(want.Items) {
			t.Fatalf("stopped after %d chunks: %d bases for %d items", stop, bases, len(want.Items))
		}
	}
}

// errFoldStopped stops a fold as a crash would.
var errFoldStopped = errors.New("stopped (test)")

// foldStoppedAfter appends items to a new store and stops its Fold after
// chunks chunks of 10, as a crash would.
func foldStoppedAfter(t *testing.T, items []Item, chunks int) *Store {
	t.Helper()
	defer func(n int) { foldChunk = n }(foldChunk)
	foldChunk = 10
	s, _ := openTemp(t)
	writeItems(t, s, items, len(items), (*Tx).AddNewItems)
	n := 0
	foldStop = func() error {
		if n++; n == chunks {
			return errFoldStopped
		}
		return nil
	}
	defer func() { foldStop = nil }()
	if err := s.fold("k"); !errors.Is(err, errFoldStopped) {
		t.Fatalf("Fold = %v, want it stopped after %d chunks", err, chunks)
	}
	return s
}

// changedCopy is it with a new ETag and base.
func changedCopy(it Item, tag string) Item {
	it.ETag, it.Base = `"`+tag+`"`, []byte("changed "+tag)
	return it
}

func TestFold_StoppedThenPutAndDelete_WritersSkipWhatIsDone(t *testing.T) {
	items := randomItems(45, 13)
	sorted := append([]Item(nil), items...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Href < sorted[j].Href })
	// Folding by href, the first two chunks take sorted[0:20]. One href
	// twice, both records there: indexing them again would drop its base.
	if items[40].Href == sorted[0].Href {
		t.Fatal("pick another seed")
	}
	items[40].Href = sorted[0].Href
	changed, deleted := changedCopy(sorted[5], "a"), sorted[30] // folded by chunk 2; by chunk 5
	for _, stop := range foldStops {
		put, _ := openTemp(t)
		writeItems(t, put, items, len(items), putItems)
		app := foldStoppedAfter(t, items, stop)
		for _, s := range []*Store{put, app} {
			must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(changed) }))
			must(t, s.Update("k", func(tx *Tx) error { return tx.DeleteItem(deleted.Href) }))
		}
		if hasWaiting(t, app, "k") {
			t.Fatalf("stopped after %d chunks: a write left appended records", stop)
		}
		want, got := snapshotOf(t, put, "k", items), snapshotOf(t, app, "k", items)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stopped after %d chunks, then two writes: %d items, want %d", stop, len(got.Items), len(want.Items))
		}
		if n, m := countBases(t, app), countBases(t, put); n != m {
			t.Fatalf("stopped after %d chunks: %d bases stored, PutItem store has %d", stop, n, m)
		}
	}
}

func TestFold_RecordsAppendedDuringAFold_FoldedInANextRound(t *testing.T) {
	defer func(n int) { foldChunk = n }(foldChunk)
	foldChunk = 10
	items := randomItems(45, 17)
	sorted := append([]Item(nil), items...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Href < sorted[j].Href })
	// Appended after the first chunk: one href already folded, one not yet
	// folded, one new.
	later := []Item{changedCopy(sorted[3], "b"), changedCopy(sorted[35], "c"), randomItems(1, 99)[0]}
	put, _ := openTemp(t)
	writeItems(t, put, append(append([]Item(nil), items...), later...), 100, putItems)
	app, _ := openTemp(t)
	writeItems(t, app, items, len(items), (*Tx).AddNewItems)
	appended := false
	foldStop = func() error {
		if !appended {
			appended = true
			writeItems(t, app, later, len(later), (*Tx).AddNewItems)
		}
		return nil
	}
	defer func() { foldStop = nil }()
	must(t, app.fold("k"))
	if hasWaiting(t, app, "k") {
		t.Fatal("records appended during the fold were left")
	}
	all := append(append([]Item(nil), items...), later...)
	want, got := snapshotOf(t, put, "k", all), snapshotOf(t, app, "k", all)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after appends during a fold: %d items, want %d", len(got.Items), len(want.Items))
	}
	if n, m := countBases(t, app), countBases(t, put); n != m {
		t.Fatalf("%d bases stored, PutItem store has %d", n, m)
	}
}

// countBases counts the bases stored for collection "k".
func countBases(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	must(t, s.db.View(func(tx *bolt.Tx) error {
		bases := collectionBucket(tx, "k").Bucket([]byte("bases"))
		if bases == nil {
			return nil
		}
		return bases.ForEach(func(k, v []byte) error { n++; return nil })
	}))
	return n
}

func TestAddNewItems_SameHrefTwice_LaterRecordWins(t *testing.T) {
	s, _ := openTemp(t)
	a, b := sampleItem("/c/x.ics"), sampleItem("/c/x.ics")
	a.ETag, a.Base = `"1"`, []byte("one")
	b.ETag, b.Base = `"2"`, []byte("two")
	must(t, s.Update("k", addNew(a)))
	must(t, s.Update("k", addNew(b)))
	got, ok, err := s.Item("k", a.Href)
	must(t, err)
	if !ok || got.ETag != `"2"` || string(got.Base) != "two" {
		t.Fatalf("got %+v", got)
	}
	if bases := countBases(t, s); bases != 1 {
		t.Fatalf("%d bases stored for one item", bases)
	}
}

func TestAddNewItems_WithoutBaseSameHash_KeepsTheBase(t *testing.T) {
	withBase := sampleItem("/c/x.ics")
	without := withBase
	without.Base, without.ETag = nil, `"2"`
	for name, inOneFold := range map[string]bool{"recorded before": false, "appended in the same fold": true} {
		t.Run(name, func(t *testing.T) { appendWithoutBase(t, withBase, without, inOneFold) })
	}
}

// appendWithoutBase records withBase (appended if inOneFold), then appends
// without, and checks that the base stays.
func appendWithoutBase(t *testing.T, withBase, without Item, inOneFold bool) {
	s, _ := openTemp(t)
	must(t, s.Update("k", func(tx *Tx) error {
		if inOneFold {
			return tx.AddNewItems([]Item{withBase})
		}
		return tx.PutItem(withBase)
	}))
	must(t, s.Update("k", addNew(without)))
	got, ok, err := s.Item("k", withBase.Href)
	must(t, err)
	if !ok || got.ETag != `"2"` || !bytes.Equal(got.Base, withBase.Base) {
		t.Fatalf("got %+v", got)
	}
	if n := countBases(t, s); n != 1 {
		t.Fatalf("%d bases stored for one item", n)
	}
}

func TestAddNewItems_ThenPutOrDelete_TheLaterWriteWins(t *testing.T) {
	s, _ := openTemp(t)
	a, b := sampleItem("/c/a.ics"), sampleItem("/c/b.ics")
	must(t, s.Update("k", func(tx *Tx) error { return tx.AddNewItems([]Item{a, b}) }))
	changed := a
	changed.ETag = `"newer"`
	must(t, s.Update("k", func(tx *Tx) error { return tx.PutItem(changed) }))
	must(t, s.Update("k", func(tx *Tx) error { return tx.DeleteItem(b.Href) }))
	must(t, s.fold("k"))
	items, err := s.Items("k")
	must(t, err)
	if len(items) != 1 || items[0].ETag != `"newer"` {
		t.Fatalf("items %+v", items)
	}
}

func TestAddNewItems_SurvivesReopen_FoldedByTheNextReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	must(t, err)
	items := randomItems(30, 9)
	writeItems(t, s, items, len(items), (*Tx).AddNewItems)
	must(t, s.Close()) // as a crash after the commit would leave it
	s2, err := Open(path)
	must(t, err)
	defer s2.Close()
	sum, err := s2.FileSum("k")
	must(t, err)
	if scratch := scratchFileSum(t, s2, "k"); sum != scratch || sum == (setsum.Sum{}) {
		t.Fatal("file sum of the reopened file does not cover the appended items")
	}
	checkShards(t, s2, "k")
}

// benchmarkWrite10k times recording 10k items with random hrefs and
// 1.4 KB bases in transactions of 200, as a first download does, with
// write, then (if fold) an Update that adds none, which indexes them.
func benchmarkWrite10k(b *testing.B, write func(*Tx, []Item) error, fold bool) {
	items := randomItems(10000, 1)
	for i := range items {
		items[i].Base = make([]byte, 1400)
	}
	for b.Loop() {
		b.StopTimer()
		s, err := Open(filepath.Join(b.TempDir(), "state.db"))
		must(b, err)
		b.StartTimer()
		writeItems(b, s, items, 200, write)
		if fold {
			must(b, s.Update("k", func(tx *Tx) error { return tx.SetCollection(Collection{Key: "k"}) }))
		}
		b.StopTimer()
		if hasWaiting(b, s, "k") {
			b.Fatal("new items left waiting")
		}
		s.Close()
		b.StartTimer()
	}
}

func BenchmarkAppendThenFold10k(b *testing.B) { benchmarkWrite10k(b, (*Tx).AddNewItems, true) }

func BenchmarkPutItem10kRandomHrefsInBatches(b *testing.B) {
	benchmarkWrite10k(b, putItems, false)
}
