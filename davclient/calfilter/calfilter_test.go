package calfilter_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/davclient/calfilter"
	"github.com/vdird/vdird/internal/testserver"
)

func todo(uid string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird//test//EN\r\nBEGIN:VTODO\r\n" +
		"UID:" + uid + "\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Do the dishes\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
}

// calendarOn makes a calendar on s holding items (file name → bytes) and
// returns a client and the calendar as discovery gives it.
func calendarOn(t *testing.T, s *testserver.Server, items map[string][]byte) (*davclient.Client, davclient.Calendar) {
	t.Helper()
	c, err := davclient.New(davclient.Options{URL: s.URL, Username: s.User, Password: s.Password, UserAgent: "vdird-test"})
	if err != nil {
		t.Fatal(err)
	}
	href := s.MakeCalendar(t, "ranged", "Ranged", "VEVENT", "VTODO")
	for name, data := range items {
		s.Put(t, href+name, data)
	}
	cals, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cals, func(k davclient.Calendar) bool { return k.Href == href })
	if i < 0 {
		t.Fatalf("%s not discovered", href)
	}
	return c, cals[i]
}

// rangedEvent is an hour-long event from start, recurring by rrule ("":
// once).
func rangedEvent(uid string, start time.Time, rrule string) []byte {
	const stamp = "20060102T150405Z"
	r := ""
	if rrule != "" {
		r = "RRULE:" + rrule + "\r\n"
	}
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:" + start.Format(stamp) + "\r\nDTEND:" + start.Add(time.Hour).Format(stamp) +
		"\r\nSUMMARY:" + uid + "\r\n" + r + "END:VEVENT\r\nEND:VCALENDAR\r\n")
}

// overlapsUntil2024 stands in for the engine's recurrence check: the
// weekly series overlaps the window, the one that ended in 2023 does not.
func overlapsUntil2024(data []byte) bool { return !bytes.Contains(data, []byte("UNTIL=2023")) }

// The time range is the server's to apply: Radicale expands a series
// that began years before the window, Xandikos 0.2 matches its first
// instance alone and leaves it out. With Overlaps, the listing also asks
// for the recurring members that start before the end, so both servers
// give the series, and the series that ended before the window stays out.
func TestListETags_TimeRange_SeriesFromBeforeTheWindowListedOnBothServers(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		end := start.AddDate(0, 1, 0)
		c, cal := calendarOn(t, s, map[string][]byte{
			"inside.ics":  rangedEvent("inside", start.AddDate(0, 0, 10), ""),
			"before.ics":  rangedEvent("before", start.AddDate(0, 0, -10), ""),
			"after.ics":   rangedEvent("after", end.AddDate(0, 0, 1), ""),
			"weekly.ics":  rangedEvent("weekly", start.AddDate(-3, 0, 0), "FREQ=WEEKLY"),
			"ended.ics":   rangedEvent("ended", start.AddDate(-3, 0, 0), "FREQ=WEEKLY;UNTIL=20230101T000000Z"),
			"dueTask.ics": todo("task"),
		})
		ctx := context.Background()
		names := func(f calfilter.Filter) map[string]bool {
			items, err := calfilter.ListETags(ctx, c, cal, f)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, it := range items {
				if it.ETag == "" {
					t.Errorf("%s listed without an etag", it.Href)
				}
				out[it.Href[len(cal.Href):]] = true
			}
			return out
		}
		serverAlone := names(calfilter.Filter{Components: []string{"VEVENT"}, Start: start, End: end})
		wantAlone := map[string]bool{"inside.ics": true, "weekly.ics": true}
		if s.Kind == testserver.Xandikos {
			wantAlone = map[string]bool{"inside.ics": true} // the first instance alone is matched
		}
		if !maps.Equal(serverAlone, wantAlone) {
			t.Errorf("the server's own time-range: %v, want %v", serverAlone, wantAlone)
		}
		got := names(calfilter.Filter{Components: []string{"VEVENT"}, Start: start, End: end, Overlaps: overlapsUntil2024})
		if want := map[string]bool{"inside.ics": true, "weekly.ics": true}; !maps.Equal(got, want) {
			t.Errorf("with Overlaps: %v, want %v", got, want)
		}
		if got := names(calfilter.Filter{Components: []string{"VTODO"}}); !maps.Equal(got, map[string]bool{"dueTask.ics": true}) {
			t.Errorf("VTODO alone: %v", got)
		}
		var downloaded []string
		err := calfilter.Download(ctx, c, cal, calfilter.Filter{Start: start, End: end, Overlaps: overlapsUntil2024}, func(o davclient.Object) error {
			downloaded = append(downloaded, o.Href[len(cal.Href):])
			return nil
		})
		slices.Sort(downloaded)
		// The undated task matches any time range (RFC 4791 §9.9).
		if want := []string{"dueTask.ics", "inside.ics", "weekly.ics"}; err != nil || !slices.Equal(downloaded, want) {
			t.Errorf("DownloadIn: %v %v, want %v, each once", downloaded, err, want)
		}
	})
}

// A member a narrowed listing left out is gone only when the server says
// 404 for it; one it holds comes back with its etag.
func TestETags_PresentWithTheirEtags_GoneBy404(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		at := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
		c, cal := calendarOn(t, s, map[string][]byte{
			"kept.ics": rangedEvent("kept", at, ""), "deleted.ics": rangedEvent("deleted", at, ""), "other.ics": rangedEvent("other", at, ""),
		})
		s.Delete(t, cal.Href+"deleted.ics")
		_, etag := s.Get(t, cal.Href+"kept.ics")
		hrefs := []string{cal.Href + "deleted.ics", cal.Href + "kept.ics", cal.Href + "other.ics"}
		present, gone, err := calfilter.ETags(context.Background(), c, cal, hrefs, 2)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(present, func(a, b davclient.Item) int { return strings.Compare(a.Href, b.Href) })
		if len(present) != 2 || present[0].Href != cal.Href+"kept.ics" || present[0].ETag != etag || present[1].Href != cal.Href+"other.ics" {
			t.Errorf("present = %+v, want kept.ics (etag %s) and other.ics", present, etag)
		}
		if !slices.Equal(gone, []string{cal.Href + "deleted.ics"}) {
			t.Errorf("gone = %v, want deleted.ics", gone)
		}
	})
}
