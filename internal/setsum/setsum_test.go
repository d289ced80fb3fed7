package setsum

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestSum_OrderAndRemovalDoNotMatter(t *testing.T) {
	recs := make([][]byte, 200)
	for i := range recs {
		recs[i] = FileRecord(fmt.Sprintf("f%03d.ics", i), int64(i), int64(i)*1e9, uint64(i))
	}
	var want Sum
	for _, r := range recs {
		want.Add(r)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		var got Sum
		extra := PairRecord("x", fmt.Sprint(round))
		got.Add(extra)
		for _, i := range r.Perm(len(recs)) {
			got.Add(recs[i])
		}
		got.Remove(extra)
		if got != want {
			t.Fatalf("round %d: %+v != %+v", round, got, want)
		}
	}
	back, err := Parse(want.Bytes())
	if err != nil || back != want {
		t.Fatalf("Parse(Bytes) = %+v, %v", back, err)
	}
	if _, err := Parse([]byte{1}); err == nil {
		t.Fatal("short encoding accepted")
	}
}

func TestSum_AnyDifferenceShows(t *testing.T) {
	base := func() Sum {
		var s Sum
		s.Add(FileRecord("a.ics", 10, 100, 1))
		s.Add(FileRecord("b.ics", 20, 200, 2))
		return s
	}
	for name, other := range map[string]func(*Sum){
		"size":    func(s *Sum) { s.Remove(FileRecord("a.ics", 10, 100, 1)); s.Add(FileRecord("a.ics", 11, 100, 1)) },
		"mtime":   func(s *Sum) { s.Remove(FileRecord("a.ics", 10, 100, 1)); s.Add(FileRecord("a.ics", 10, 101, 1)) },
		"inode":   func(s *Sum) { s.Remove(FileRecord("a.ics", 10, 100, 1)); s.Add(FileRecord("a.ics", 10, 100, 3)) },
		"renamed": func(s *Sum) { s.Remove(FileRecord("a.ics", 10, 100, 1)); s.Add(FileRecord("c.ics", 10, 100, 1)) },
		"extra":   func(s *Sum) { s.Add(FileRecord("c.ics", 1, 1, 9)) },
		"missing": func(s *Sum) { s.Remove(FileRecord("b.ics", 20, 200, 2)) },
		"swapped": func(s *Sum) {
			s.Remove(FileRecord("a.ics", 10, 100, 1))
			s.Remove(FileRecord("b.ics", 20, 200, 2))
			s.Add(FileRecord("a.ics", 20, 200, 2))
			s.Add(FileRecord("b.ics", 10, 100, 1))
		},
	} {
		s := base()
		other(&s)
		if s == base() {
			t.Errorf("%s: digest unchanged", name)
		}
	}
}
