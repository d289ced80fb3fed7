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

// ShardOf is stored with state: it must never change. Pinned values
// (FNV-1a 32, low byte) computed independently.
func TestShardOf_Pinned(t *testing.T) {
	for key, want := range map[string]int{"e01.ics": 8, "": 197} {
		if got := ShardOf(key); got != want {
			t.Errorf("ShardOf(%q) = %d, want %d: stored shards would no longer match", key, got, want)
		}
	}
}

// Shards add up to the Sum of the same records, and a change shows in
// exactly the shard of its key.
func TestShards_TotalIsTheSum_ChangeShowsInItsShard(t *testing.T) {
	var whole Sum
	var sh Shards
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("k%d", i)
		rec := []byte(key + "/v1")
		whole.Add(rec)
		sh.Add(key, rec)
	}
	if sh.Total() != whole {
		t.Fatal("shards do not add up to the sum")
	}
	before := sh
	sh.Remove("k42", []byte("k42/v1"))
	sh.Add("k42", []byte("k42/v2"))
	if d := sh.Differ(&before); len(d) != 1 || d[0] != ShardOf("k42") {
		t.Fatalf("differing shards %v, want only %d", d, ShardOf("k42"))
	}
}
