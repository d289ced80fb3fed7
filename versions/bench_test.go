package versions

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cpuMetric reports the process's CPU time per operation next to the wall
// time, which on a shared machine says more about the code than ns/op.
func cpuMetric(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru unix.Rusage
		must(b, unix.Getrusage(unix.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64((cpu()-start).Milliseconds())/float64(b.N), "cpu-ms/op") }
}

// thousand is a mass delete's worth of small versions.
func thousand(round int) []Version {
	vs := make([]Version, 1000)
	for i := range vs {
		vs[i] = ver("a", round*1000+i, t0.Add(time.Duration(round)*time.Second))
	}
	return vs
}

func BenchmarkSaveBatch_1000Versions(b *testing.B) {
	s := open(b, b.TempDir(), DefaultOptions())
	round := 0
	defer cpuMetric(b)()
	for b.Loop() {
		must(b, s.SaveBatch(context.Background(), thousand(round)))
		round++
	}
}

func BenchmarkSave_1000VersionsOneByOne(b *testing.B) {
	s := open(b, b.TempDir(), DefaultOptions())
	round := 0
	defer cpuMetric(b)()
	for b.Loop() {
		for _, v := range thousand(round) {
			must(b, s.Save(context.Background(), v))
		}
		round++
	}
}

// bigStore is a store of n versions over 30 days.
func bigStore(b *testing.B, n int) string {
	dir := b.TempDir()
	s := open(b, dir, DefaultOptions())
	for round := range n / 1000 {
		vs := thousand(round)
		for i := range vs {
			vs[i].Time = t0.Add(time.Duration(round*1000+i) * (30 * 24 * time.Hour / time.Duration(n)))
		}
		must(b, s.SaveBatch(context.Background(), vs))
	}
	s.Close()
	return dir
}

func BenchmarkList_100000Versions(b *testing.B) {
	s := open(b, bigStore(b, 100_000), DefaultOptions())
	defer cpuMetric(b)()
	for b.Loop() {
		if es, err := s.List(Filter{Collection: "work"}); err != nil || len(es) != 100_000 {
			b.Fatal(len(es), err)
		}
	}
}

func BenchmarkOpen_100000Versions(b *testing.B) {
	dir := bigStore(b, 100_000)
	defer cpuMetric(b)()
	for b.Loop() {
		s, err := Open(dir, DefaultOptions())
		must(b, err)
		s.Close()
	}
}
