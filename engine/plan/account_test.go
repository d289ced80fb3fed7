package plan

import "testing"

func TestRetryRefused_OneRowPerRule(t *testing.T) {
	rec := AccountRecords{
		Calendars: []string{"/u/events/", "/u/work/"},
		Hrefs:     map[string]bool{"/u/events/kept.ics": true},
		UIDs:      map[string]bool{"kept": true},
	}
	for _, c := range []struct {
		name string
		r    RefusedCreate
		want bool
	}{
		{"holder deleted by this pass: moved between calendars, retry", RefusedCreate{UID: "x", Holder: "/u/events/x.ics"}, true},
		{"holder still recorded: the UID really is in use, refusal stands", RefusedCreate{UID: "kept", Holder: "/u/events/kept.ics"}, false},
		{"holder outside the account's calendars: nothing here removed it", RefusedCreate{UID: "x", Holder: "/u/shared/x.ics"}, false},
		{"no holder named, UID no longer recorded: retry", RefusedCreate{UID: "x"}, true},
		{"no holder named, UID still recorded: refusal stands", RefusedCreate{UID: "kept"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := RetryRefused([]RefusedCreate{c.r}, rec); len(got) != 1 || got[0] != c.want {
				t.Errorf("RetryRefused(%+v) = %v, want %v", c.r, got, c.want)
			}
		})
	}
}
