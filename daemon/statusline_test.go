package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/engine"
)

func TestStatusLine_ReadsLikeTheSpec(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 1, 5, 0, time.Local)
	now := at.Add(time.Hour)
	if got := statusLine(collections{calendars: 3}, at, 0, 0, nil, now); got != "3 calendars, last sync 12:01:05, 0 errors" {
		t.Fatalf("got %q", got)
	}
	if got := statusLine(collections{calendars: 1}, time.Time{}, 1, 0, nil, now); got != "1 calendar, last sync never, 1 error" {
		t.Fatalf("got %q", got)
	}
	if got := statusLine(collections{calendars: 3}, at, 0, 2, nil, now); got != "3 calendars, last sync 12:01:05, 0 errors, 2 conflicts" {
		t.Fatalf("got %q", got)
	}
	failing := []engine.CalendarStatus{
		{Account: "work", Calendar: "*", FailingSince: at.Add(-30 * time.Minute), Attempts: 4,
			LastError: "account work: PROPFIND https://dav.example/: authentication failed for alice (401 Unauthorized)"},
		{Account: "home", Calendar: "*", FailingSince: at.AddDate(0, 0, -2), Attempts: 1, LastError: strings.Repeat("x", 200)},
	}
	want := "work failing since 11:31:05 (4 attempts): PROPFIND https://dav.example/: authentication failed for alice (401 Unauthorized); " +
		"home failing since 2025-02-27 12:01:05 (1 attempt): " + strings.Repeat("x", 160) + "…; " +
		"2 calendars, last sync 12:01:05, 2 errors"
	if got := statusLine(collections{calendars: 2}, at, 2, 0, failing, now); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestStatusLine_CountsCalendarsAndAddressBooksApart_LeavingOutAKindWithNone(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 1, 5, 0, time.Local)
	for _, c := range []struct {
		n    collections
		want string
	}{
		{collections{calendars: 2, books: 1}, "2 calendars, 1 address book, last sync 12:01:05, 0 errors"},
		{collections{calendars: 1, books: 2}, "1 calendar, 2 address books, last sync 12:01:05, 0 errors"},
		{collections{books: 1}, "1 address book, last sync 12:01:05, 0 errors"},
		{collections{}, "0 calendars, last sync 12:01:05, 0 errors"},
	} {
		if got := statusLine(c.n, at, 0, 0, nil, at); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.n, got, c.want)
		}
	}
}
