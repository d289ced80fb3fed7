package window

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

func TestParseOffset_UnitsAndSigns(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"-30d", time.Date(2026, 2, 13, 10, 30, 0, 0, time.UTC)},
		{"+365d", time.Date(2027, 3, 15, 10, 30, 0, 0, time.UTC)},
		{"10d", time.Date(2026, 3, 25, 10, 30, 0, 0, time.UTC)},
		{"0d", now},
		{"-2w", time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)},
		{"+6m", time.Date(2026, 9, 15, 10, 30, 0, 0, time.UTC)},
		{"-1y", time.Date(2025, 3, 15, 10, 30, 0, 0, time.UTC)},
		{" +1y ", time.Date(2027, 3, 15, 10, 30, 0, 0, time.UTC)},
	} {
		o, err := ParseOffset(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := o.From(now); !got.Equal(tc.want) {
			t.Errorf("%q from %v = %v, want %v", tc.in, now, got, tc.want)
		}
	}
}

func TestParseOffset_BadValuesRefused(t *testing.T) {
	for _, in := range []string{"", "d", "30", "-30", "30h", "-30 days", "+-3d", "--3d", "+d", "3.5d", "1e3d", "99999d", "-30D", "now"} {
		if o, err := ParseOffset(in); !errors.Is(err, ErrOffset) {
			t.Errorf("%q: got %v, %v; want ErrOffset", in, o, err)
		}
	}
}

func TestParse_TwoOffsetsStartBeforeEnd(t *testing.T) {
	for _, tc := range []struct {
		in []string
		ok bool
	}{
		{[]string{"-30d", "+365d"}, true},
		{[]string{"-1y", "0d"}, true},
		{[]string{"+1d", "+2w"}, true},
		{[]string{"-30d"}, false},
		{[]string{"-30d", "+1d", "+2d"}, false},
		{nil, false},
		{[]string{"+30d", "-30d"}, false},
		{[]string{"0d", "0d"}, false},
		{[]string{"-30d", "soon"}, false},
		{[]string{"-1m", "-31d"}, false},
	} {
		_, err := Parse(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q): err %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

func TestRange_WholeUTCDaysCoveringBothOffsets(t *testing.T) {
	w := Window{Start: Offset{-30, 'd'}, End: Offset{365, 'd'}}
	for _, tc := range []struct {
		now, start, end time.Time
	}{
		{time.Date(2026, 3, 15, 10, 30, 0, 0, time.UTC), time.Date(2026, 2, 13, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 16, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 13, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)},
		// A time in another zone is taken in UTC.
		{time.Date(2026, 3, 15, 1, 0, 0, 0, time.FixedZone("CET", 3600)), time.Date(2026, 2, 13, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)},
	} {
		s, e := w.Range(tc.now)
		if !s.Equal(tc.start) || !e.Equal(tc.end) {
			t.Errorf("Range(%v) = %v–%v, want %v–%v", tc.now, s, e, tc.start, tc.end)
		}
	}
}

func TestScopeKey_MovesOnceADayAndWithTheConfiguration(t *testing.T) {
	w, _ := Parse([]string{"-30d", "+365d"})
	morning := time.Date(2026, 3, 15, 1, 0, 0, 0, time.UTC)
	evening := time.Date(2026, 3, 15, 23, 0, 0, 0, time.UTC)
	next := time.Date(2026, 3, 16, 0, 1, 0, 0, time.UTC)
	s := Scope{Window: w}
	if (Scope{}).Key(morning) != "" {
		t.Error("a whole calendar has a key")
	}
	if s.Key(morning) != s.Key(evening) {
		t.Errorf("the key moved within a day: %q, %q", s.Key(morning), s.Key(evening))
	}
	if s.Key(evening) == s.Key(next) {
		t.Errorf("the key did not move with the day: %q", s.Key(next))
	}
	ev := Scope{Window: w, Components: []string{"VEVENT"}}
	if ev.Key(morning) == s.Key(morning) || (Scope{Components: []string{"VEVENT"}}).Key(morning) == "" {
		t.Errorf("components not in the key: %q", ev.Key(morning))
	}
}

func TestScopeHolds(t *testing.T) {
	if !(Scope{}).Holds("VTODO") {
		t.Error("no components: every type")
	}
	s := Scope{Components: []string{"VEVENT"}}
	if !s.Holds("VEVENT") || !s.Holds("vevent") || s.Holds("VTODO") {
		t.Error("VEVENT only")
	}
}

func TestMembers_RecordedMembersAbsentFromTheListing(t *testing.T) {
	known := map[string]string{"/c/in": `"1"`, "/c/out": `"2"`, "/c/gone": `"3"`, "/c/unanswered": `"4"`, "/c/outchanged": `"5"`}
	for _, tc := range []struct {
		name    string
		listed  map[string]string
		present map[string]string
		gone    []string
		want    map[string]string
		absent  []string
	}{
		{
			name:    "OutsideTheWindowPresent_KeptWithItsEtag_GoneDropped_UnansweredAsRecorded",
			listed:  map[string]string{"/c/in": `"1"`, "/c/new": `"9"`},
			present: map[string]string{"/c/out": `"2"`, "/c/outchanged": `"6"`},
			gone:    []string{"/c/gone"},
			want:    map[string]string{"/c/in": `"1"`, "/c/new": `"9"`, "/c/out": `"2"`, "/c/outchanged": `"6"`, "/c/unanswered": `"4"`},
			absent:  []string{"/c/gone", "/c/out", "/c/outchanged", "/c/unanswered"},
		},
		{
			name:   "EmptyListingNothingAnswered_EverythingAsRecorded",
			listed: nil,
			want:   known,
			absent: []string{"/c/gone", "/c/in", "/c/out", "/c/outchanged", "/c/unanswered"},
		},
		{
			name:   "EverythingGone_NothingLeft",
			listed: map[string]string{},
			gone:   []string{"/c/in", "/c/out", "/c/gone", "/c/unanswered", "/c/outchanged"},
			want:   map[string]string{},
			absent: []string{"/c/gone", "/c/in", "/c/out", "/c/outchanged", "/c/unanswered"},
		},
		{
			name:   "ListedChangedEtag_TheListingWins",
			listed: map[string]string{"/c/in": `"7"`, "/c/out": `"2"`, "/c/gone": `"3"`, "/c/unanswered": `"4"`, "/c/outchanged": `"5"`},
			want:   map[string]string{"/c/in": `"7"`, "/c/out": `"2"`, "/c/gone": `"3"`, "/c/unanswered": `"4"`, "/c/outchanged": `"5"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Absent(known, tc.listed); !slices.Equal(got, tc.absent) {
				t.Errorf("Absent = %v, want %v", got, tc.absent)
			}
			if got := Members(known, tc.listed, tc.present, tc.gone); !maps.Equal(got, tc.want) {
				t.Errorf("Members = %v, want %v", got, tc.want)
			}
		})
	}
}
