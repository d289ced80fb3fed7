package local

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestNewFolder_NamedByTheHref_GoogleCalendarsByTheirID(t *testing.T) {
	for href, want := range map[string]string{
		"/alice/work/": "work",
		"/remote.php/dav/calendars/alice/events/":                              "events",
		"/caldav/v2/alice%40gmail.com/events/":                                 "alice@gmail.com",
		"/caldav/v2/team%40group.calendar.google.com/events/":                  "team@group.calendar.google.com",
		"/caldav/v2/en.german%23holiday%40group.v.calendar.google.com/events/": "en.german#holiday@group.v.calendar.google.com",
		"/dav/..%2F/": "",
	} {
		got := filepath.Base(NewFolder("/root", href, nil))
		if want == "" {
			if !strings.HasPrefix(got, "cal-") {
				t.Errorf("%s: folder %q, want a hash name", href, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: folder %q, want %q", href, got, want)
		}
	}
	taken := map[string]bool{"/root/alice@gmail.com": true}
	if got := NewFolder("/root", "/caldav/v2/alice%40gmail.com/events/", taken); got != "/root/alice@gmail.com-2" {
		t.Errorf("taken: %q", got)
	}
}
