package undo

import (
	"testing"
	"time"
)

func TestParseWhen_DurationsBackFromNow_LocalTimesWithTheSpanTheyLeaveOpen(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.Local)
	for _, c := range []struct {
		in   string
		want time.Time
		span time.Duration
	}{
		{"90m", now.Add(-90 * time.Minute), 0},
		{"2d", now.Add(-48 * time.Hour), 0},
		{"1w", now.Add(-7 * 24 * time.Hour), 0},
		{"2025-03-14 09:26:53", time.Date(2025, 3, 14, 9, 26, 53, 0, time.Local), time.Second},
		{"2025-03-14T09:26", time.Date(2025, 3, 14, 9, 26, 0, 0, time.Local), time.Minute},
		{"2025-03-13", time.Date(2025, 3, 13, 0, 0, 0, 0, time.Local), 24 * time.Hour},
		{"2025-03-14T09:26:53.5Z", time.Date(2025, 3, 14, 9, 26, 53, 5e8, time.UTC), 0},
	} {
		got, span, err := ParseWhen(c.in, now)
		if err != nil || !got.Equal(c.want) || span != c.span {
			t.Errorf("%q: %v %v %v, want %v %v", c.in, got, span, err, c.want, c.span)
		}
	}
	if _, _, err := ParseWhen("-2d", now); err == nil {
		t.Error("-2d accepted")
	}
}
