package engine

import (
	"strings"
	"testing"

	"github.com/vdird/vdird/engine/fresh"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
)

// TestFreshDownload_TwoServerObjectsOneUID_OneFileBothHrefsReported: a
// calendar whose storage holds two objects with one UID (an import, or a
// server more lenient than Radicale's PUT) is first downloaded by the
// planner's rule: one file for the UID, the other object reported as a
// duplicate naming both hrefs, on the first pass and on every later one.
// The copies are small enough to share a batch of the first download, or
// each bigger than a batch may hold, so that they come in different ones.
func TestFreshDownload_TwoServerObjectsOneUID_OneFileBothHrefsReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind testserver.Kind
		size int // of each copy; 0 = a small event
	}{{"one batch", testserver.Radicale, 0}, {"each copy in its own batch", testserver.Xandikos, fresh.BatchBytes + 1<<10}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.kind)
			copyOf := func(summary string) []byte {
				if tc.size == 0 {
					return event("dup", summary)
				}
				return lfBigEvent("dup", summary, tc.size)
			}
			cal := e.Srv.SeedCalendar(t, "dupcal", "Dup", map[string][]byte{
				"a.ics": copyOf("copy A"), "b.ics": copyOf("copy B"), "c.ics": event("c", "C")})
			e.Cfg.Accounts[0].Calendars = []string{cal}

			for pass := 1; pass <= 3; pass++ {
				s := lfSummary(t, e.sync(SyncOptions{}), cal)
				report := strings.Join(append(append([]string{}, s.Skipped...), s.Problems...), "\n")
				uids := map[string][]string{}
				for _, n := range e.LocalNames(cal) {
					if info, err := ics.Inspect(e.ReadFile(cal, n)); err == nil {
						uids[info.UID] = append(uids[info.UID], n)
					}
				}
				t.Logf("pass %d: ↓%d err=%v files by UID %v; reported %q", pass, s.Downloaded, s.Err, uids, report)
				if s.Err != nil {
					t.Fatalf("pass %d failed: %v", pass, s.Err)
				}
				if len(uids["dup"]) != 1 || len(uids["c"]) != 1 {
					t.Fatalf("pass %d: want one file per UID, got %v", pass, uids)
				}
				if !strings.Contains(report, "duplicate UID dup") || !strings.Contains(report, cal+"a.ics") || !strings.Contains(report, cal+"b.ics") {
					t.Fatalf("pass %d: the duplicate is not reported naming both hrefs: %q", pass, report)
				}
				if tc.size == 0 && uids["dup"][0] != "a.ics" {
					t.Errorf("pass %d: the first href in sort order should be downloaded, got %v", pass, uids["dup"])
				}
			}
		})
	}
}
