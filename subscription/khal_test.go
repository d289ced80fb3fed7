package subscription

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/khaltest"
)

// TestSync_KhalListsTheFetchedFeeds runs the real khal over the folders of
// two subscriptions: a public-holiday feed and a Google-like export with
// time zones and a recurring event with a moved and a cancelled instance.
func TestSync_KhalListsTheFetchedFeeds(t *testing.T) {
	holidays := newFeedServer(t, testdata(t, "uk-bank-holidays.ics"))
	team := newFeedServer(t, testdata(t, "google-team.ics"))
	h := testSub(t, holidays.URL+"/england-and-wales.ics")
	tm := testSub(t, team.URL+"/team.ics")
	h.Name, h.Dir = "uk-holidays", filepath.Join(h.LocalRoot, "uk-holidays")
	tm.Name, tm.LocalRoot, tm.Dir = "team", h.LocalRoot, filepath.Join(h.LocalRoot, "team")
	syncOK(t, h, Options{})
	syncOK(t, tm, Options{})

	khal := khaltest.New(t, h.LocalRoot, true)
	list := func(from, to string) string {
		out := khal.Run("list", "--format", "{start-end-time-style} {title} [{calendar}]", from, to)
		t.Logf("khal list %s %s:\n%s", from, to, out)
		return out
	}
	for _, tc := range []struct{ from, to, want string }{
		{"2019-12-25", "2019-12-26", "Christmas Day [uk-holidays]"},
		{"2012-06-05", "2012-06-06", "Queen’s Diamond Jubilee [uk-holidays]"},
		{"2025-03-10", "2025-03-11", "08:30-08:45 Standup [Team calendar]"},
		{"2025-03-12", "2025-03-13", "10:00-10:15 Standup (late) [Team calendar]"},
		{"2025-03-12", "2025-03-13", "15:00-16:00 Client review (NYC) [Team calendar]"},
		{"2025-05-14", "2025-05-15", "Team offsite [Team calendar]"},
	} {
		if out := list(tc.from, tc.to); !strings.Contains(out, tc.want) {
			t.Errorf("khal list %s %s: want %q", tc.from, tc.to, tc.want)
		}
	}
	if out := list("2025-03-12", "2025-03-13"); strings.Contains(out, "08:30-08:45") {
		t.Errorf("the moved standup is also shown at its old time:\n%s", out)
	}
}
