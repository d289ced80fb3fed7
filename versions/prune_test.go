package versions

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

func prune(t *testing.T, s *Store, now time.Time) Report {
	t.Helper()
	rep, err := s.Prune(context.Background(), now)
	must(t, err)
	return rep
}

func TestPrune_VersionsPastKeepFor_RemovedByTheFakeClock(t *testing.T) {
	day := 24 * time.Hour
	for name, tc := range map[string]struct {
		opts Options
		now  time.Time
		want []string // uids kept, newest first
	}{
		"nothing old yet": {Options{Retention: Retention{KeepFor: 30 * day}}, t0.Add(30*day - time.Second), []string{"uid-a3", "uid-a2", "uid-a1", "uid-a0", "uid-b2", "uid-b1", "uid-b0"}},
		// uid-x0 is exactly 30 days old at now: expired; uid-x1 a day younger.
		"thirty days":          {Options{Retention: Retention{KeepFor: 30 * day}}, t0.Add(40 * day), []string{"uid-a3", "uid-a2", "uid-a1", "uid-b2"}},
		"one day":              {Options{Retention: Retention{KeepFor: day}}, t0.Add(20*day + time.Second), []string{"uid-a3"}},
		"everything expired":   {Options{Retention: Retention{KeepFor: day}}, t0.Add(365 * day), nil},
		"account b keeps less": {Options{Retention: Retention{KeepFor: 30 * day}, Accounts: map[string]Retention{"b": {KeepFor: 5 * day}}}, t0.Add(15 * day), []string{"uid-a3", "uid-a2", "uid-a1", "uid-a0", "uid-b2"}},
		"account b keeps none": {Options{Retention: Retention{KeepFor: 30 * day}, Accounts: map[string]Retention{"b": {KeepFor: 0}}}, t0.Add(30 * day), []string{"uid-a3", "uid-a2", "uid-a1", "uid-a0"}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// Saved with everything kept; then reopened with the retention under test.
			s := open(t, dir, Options{Retention: Retention{KeepFor: 1000 * day}})
			var vs []Version
			for i, at := range []time.Duration{10 * day, 11 * day, 15 * day, 20 * day} { // a0 … a3
				v := ver("a", i, t0.Add(at))
				v.UID = fmt.Sprintf("uid-a%d", i)
				vs = append(vs, v)
			}
			for i, at := range []time.Duration{0, day, 10*day + time.Hour} { // b0 … b2
				v := ver("b", i, t0.Add(at))
				v.UID = fmt.Sprintf("uid-b%d", i)
				vs = append(vs, v)
			}
			must(t, s.SaveBatch(context.Background(), vs))
			s.Close()
			s = open(t, dir, tc.opts)
			all := list(t, s, Filter{})
			rep := prune(t, s, tc.now)
			got := list(t, s, Filter{})
			if !slices.Equal(sortedUIDs(got), sortedUIDs2(tc.want)) {
				t.Fatalf("kept %v, want %v", uids(got), tc.want)
			}
			if rep.Removed != len(all)-len(got) || rep.Kept != len(got) || rep.Freed+rep.KeptBytes != sizeOf(all) || rep.KeptBytes != sizeOf(got) {
				t.Fatalf("report %+v: %d listed before, %d after", rep, len(all), len(got))
			}
			for _, e := range all {
				if _, _, err := s.Read(e.ID); (err == nil) != slices.Contains(tc.want, e.UID) {
					t.Errorf("Read %s (%s) after prune: %v", e.ID, e.UID, err)
				}
			}
		})
	}
}

func sortedUIDs(es []Entry) []string { return sortedUIDs2(uids(es)) }

func sortedUIDs2(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func sizeOf(es []Entry) int64 {
	var n int64
	for _, e := range es {
		n += e.Size
	}
	return n
}

// sized is a version of account acct whose bytes are exactly n long.
func sized(acct string, i, n int, at time.Time) Version {
	v := ver(acct, i, at)
	v.Data = make([]byte, n)
	for j := range v.Data {
		v.Data[j] = byte('a' + (i+j)%26)
	}
	return v
}

func TestPrune_SizeCap_OldestGoFirst(t *testing.T) {
	for name, tc := range map[string]struct {
		opts Options
		want []string
	}{
		// Ten versions of 1,000 bytes, a: uid-0 … uid-4 older, b: uid-5 … uid-9.
		"store cap": {Options{Retention: Retention{KeepFor: time.Hour * 1000, MaxBytes: 3500}},
			[]string{"uid-9", "uid-8", "uid-7"}},
		"store cap fits exactly": {Options{Retention: Retention{KeepFor: time.Hour * 1000, MaxBytes: 4000}},
			[]string{"uid-9", "uid-8", "uid-7", "uid-6"}},
		"no cap": {Options{Retention: Retention{KeepFor: time.Hour * 1000}},
			[]string{"uid-9", "uid-8", "uid-7", "uid-6", "uid-5", "uid-4", "uid-3", "uid-2", "uid-1", "uid-0"}},
		"account cap": {Options{Retention: Retention{KeepFor: time.Hour * 1000}, Accounts: map[string]Retention{"b": {KeepFor: time.Hour * 1000, MaxBytes: 2000}}},
			[]string{"uid-9", "uid-8", "uid-4", "uid-3", "uid-2", "uid-1", "uid-0"}},
		"account cap and store cap": {Options{Retention: Retention{KeepFor: time.Hour * 1000, MaxBytes: 5000}, Accounts: map[string]Retention{"a": {KeepFor: time.Hour * 1000, MaxBytes: 1000}}},
			[]string{"uid-9", "uid-8", "uid-7", "uid-6", "uid-5"}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{Retention: Retention{KeepFor: time.Hour * 1000}})
			var vs []Version
			for i := range 10 {
				n, acct := 9-i, "a" // saved newest first: index order is not time order
				if n >= 5 {
					acct = "b"
				}
				vs = append(vs, sized(acct, n, 1000, t0.Add(time.Duration(n)*time.Minute)))
			}
			must(t, s.SaveBatch(context.Background(), vs))
			s.Close()
			s = open(t, dir, tc.opts)
			prune(t, s, t0.Add(time.Hour))
			if got := uids(list(t, s, Filter{})); !slices.Equal(got, tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeepForZero_StoresNothing_AndPruneEmptiesTheStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Retention: Retention{KeepFor: time.Hour}, Accounts: map[string]Retention{"off": {}}})
	if s.Keeps("off") || !s.Keeps("on") {
		t.Fatal("Keeps: want off false, on true")
	}
	must(t, s.SaveBatch(context.Background(), []Version{ver("off", 1, t0), ver("on", 2, t0)}))
	if got := uids(list(t, s, Filter{})); !slices.Equal(got, []string{"uid-2"}) {
		t.Fatalf("kept %v, want only the account that keeps versions", got)
	}
	s.Close()

	s = open(t, dir, Options{})
	if s.Keeps("on") {
		t.Fatal("zero Options keep versions")
	}
	must(t, s.Save(context.Background(), ver("on", 3, t0)))
	if n := len(list(t, s, Filter{})); n != 1 {
		t.Fatalf("%d versions, want the one kept before", n)
	}
	rep := prune(t, s, t0)
	if rep.Removed != 1 || len(list(t, s, Filter{})) != 0 {
		t.Fatalf("prune with KeepFor 0: %+v", rep)
	}
	if files := dirFiles(t, dir); len(files) != 0 {
		t.Fatalf("left %v", files)
	}
}

func TestPrune_WhileSavesGoOn_NoSaveLostNoOldVersionLeft(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Retention: Retention{KeepFor: 24 * time.Hour}})
	var old []Version
	for i := range 2000 {
		old = append(old, ver("a", i, t0.Add(-48*time.Hour+time.Duration(i)*time.Second)))
	}
	must(t, s.SaveBatch(context.Background(), old))
	other := open(t, dir, Options{Retention: Retention{KeepFor: 24 * time.Hour}}) // a second process
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				store := s
				if w == 2 {
					store = other
				}
				errs <- store.Save(context.Background(), ver("new", w*1000+i, t0))
			}
		}()
	}
	rep, err := s.Prune(context.Background(), t0)
	wg.Wait()
	close(errs)
	must(t, err)
	for err := range errs {
		must(t, err)
	}
	got := list(t, s, Filter{})
	if len(got) != 300 || rep.Removed != 2000 {
		t.Fatalf("%d versions after prune (want the 300 new), removed %d", len(got), rep.Removed)
	}
	for _, e := range got {
		if e.Account != "new" {
			t.Fatalf("old version %s left", e.UID)
		}
		data, _, err := s.Read(e.ID)
		must(t, err)
		if string(data) != string(event(e.UID, "Event "+e.UID[len("uid-"):])) {
			t.Fatalf("%s: bytes %q", e.UID, data)
		}
	}
	if _, err := os.Stat(dir + "/" + dayOf(t0.Add(-48*time.Hour))); !os.IsNotExist(err) {
		t.Fatalf("emptied day directory left: %v", err)
	}
}
