package restore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vdird/vdird/versions"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// keep saves a version of item uid replaced at t0+min minutes, by pass.
func keep(t *testing.T, s *versions.Store, uid string, min int, pass string) {
	t.Helper()
	v := versions.Version{Data: []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
		Meta: versions.Meta{Account: "a", Collection: "/cal/", Folder: "cal", UID: uid, File: uid + ".ics",
			Side: versions.Local, Reason: versions.OverwrittenByServer, Pass: pass, Time: t0.Add(time.Duration(min) * time.Minute)}}
	if err := s.Save(context.Background(), v); err != nil {
		t.Fatal(err)
	}
}

func TestChoose_RangeGivesEachItemItsOldest_OneItemItsNewestAtOrBefore_LaterVersionsMarkNewer(t *testing.T) {
	s, err := versions.Open(filepath.Join(t.TempDir(), "v"), versions.Options{Retention: versions.Retention{KeepFor: 1 << 62}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keep(t, s, "x", 0, "p1")
	keep(t, s, "x", 10, "p2")
	keep(t, s, "y", 10, "p2")
	keep(t, s, "x", 20, "p3")

	got, newer, err := choose(s, Selection{Since: t0.Add(5 * time.Minute)})
	if err != nil || len(got) != 2 {
		t.Fatalf("since: %v %v", got, err)
	}
	for _, e := range got {
		if e.Time != t0.Add(10*time.Minute) {
			t.Errorf("since: %s restored from %v, want its oldest since (+10m)", e.UID, e.Time)
		}
	}
	if len(newer) != 0 {
		t.Errorf("since: newer %v, want none: everything since is selected", newer)
	}

	got, newer, _ = choose(s, Selection{Pass: "p2"})
	byUID := map[string]versions.Entry{}
	for _, e := range got {
		byUID[e.UID] = e
	}
	if len(got) != 2 || !newer[itemKey(byUID["x"])] || newer[itemKey(byUID["y"])] {
		t.Errorf("pass p2: %v, newer %v: x changed again at +20m, y did not", got, newer)
	}

	got, newer, _ = choose(s, Selection{UID: "x", At: t0.Add(15 * time.Minute)})
	if len(got) != 1 || got[0].Pass != "p2" || !newer[itemKey(got[0])] {
		t.Errorf("x at +15m: %v, newer %v: want p2's, with a newer one", got, newer)
	}
	got, newer, _ = choose(s, Selection{UID: "x"})
	if len(got) != 1 || got[0].Pass != "p3" || newer[itemKey(got[0])] {
		t.Errorf("x: %v, newer %v: want its newest", got, newer)
	}
	if _, _, err := choose(s, Selection{UID: "x", At: t0.Add(-time.Minute)}); !errors.Is(err, ErrNoVersion) {
		t.Errorf("x before its first version: %v", err)
	}
}
