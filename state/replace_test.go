package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/setsum"
)

func TestReplaceCollection_OnlyTheNewRecordRemains_OtherCollectionsUntouched(t *testing.T) {
	s, path := openTemp(t)
	for _, k := range []string{"k", "other"} {
		must(t, s.Update(k, func(tx *Tx) error {
			tx.SetCollection(sampleCollection(k))
			return tx.PutItem(sampleItem("/a.ics"))
		}))
	}
	_, err := s.BeginJournal(JournalEntry{Key: "k", Href: "/a.ics", Op: OpPut})
	must(t, err)
	keep, err := s.BeginJournal(JournalEntry{Key: "other", Href: "/a.ics", Op: OpPut})
	must(t, err)
	old := sampleCollection("k")
	tomb := Collection{Key: "k", Account: old.Account, Href: old.Href, Dir: old.Dir, DisplayName: old.DisplayName,
		Forgotten: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	must(t, s.ReplaceCollection(tomb))
	s.Close()
	s, err = Open(path)
	must(t, err)
	defer s.Close()
	if got, ok, err := s.Collection("k"); err != nil || !ok || !reflect.DeepEqual(got, tomb) {
		t.Fatalf("Collection = %+v %v %v, want %+v", got, ok, err, tomb)
	}
	if items, err := s.Items("k"); err != nil || len(items) != 0 {
		t.Fatalf("items of the replaced collection: %+v %v", items, err)
	}
	if sum, err := s.FileSum("k"); err != nil || sum != (setsum.Sum{}) {
		t.Fatalf("file sum of the replaced collection: %v %v", sum, err)
	}
	if items, _ := s.Items("other"); len(items) != 1 {
		t.Fatalf("items of the other collection: %+v", items)
	}
	if p, _ := s.Pending(); len(p) != 1 || p[0].ID != keep {
		t.Fatalf("journal: %+v, want only entry %d", p, keep)
	}
	must(t, s.ReplaceCollection(Collection{Key: "new", Dir: "/d"}))
	if got, ok, _ := s.Collection("new"); !ok || got.Dir != "/d" {
		t.Fatalf("a new key: %+v %v", got, ok)
	}
}
