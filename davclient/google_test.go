package davclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/googletest"
)

// googleClient is a client of the Google fake, with a live token.
func googleClient(t *testing.T) (*Client, *googletest.CalDAV) {
	t.Helper()
	o := googletest.NewOAuth(t)
	g := googletest.NewCalDAV(t, o, "alice@gmail.com")
	access, _ := o.Issue(time.Hour)
	c, err := New(Options{URL: g.URL + "/caldav/v2/", Auth: AuthBearer,
		Token: ReuseToken(func(context.Context) (string, error) { return access, nil })})
	if err != nil {
		t.Fatal(err)
	}
	return c, g
}

func TestDiscover_Google_CalendarsOutsideTheHomeListed(t *testing.T) {
	c, g := googleClient(t)
	g.AddCalendar("team@group.calendar.google.com", "Team")
	cals, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cal := range cals {
		got = append(got, fmt.Sprintf("%s %s %v", cal.Href, cal.DisplayName, cal.Components))
	}
	want := []string{"/caldav/v2/alice@gmail.com/events/ alice@gmail.com [VEVENT]", "/caldav/v2/team@group.calendar.google.com/events/ Team [VEVENT]"}
	if !slices.Equal(got, want) {
		t.Errorf("calendars\n%q\nwant\n%q", got, want)
	}
	if homes, err := c.Homes(context.Background()); homes.Calendars != "/caldav/v2/alice@gmail.com/" || err != nil {
		t.Errorf("homes %+v, %v", homes, err)
	}
}

func TestSyncCollection_GooglePages_507UntilTheLastPage(t *testing.T) {
	c, g := googleClient(t)
	g.PageSize = 2
	for i := range 5 {
		g.Put("alice@gmail.com", fmt.Sprintf("e%d.ics", i), []byte(fmt.Sprintf(evFmt, i)))
	}
	href := googletest.Href("alice@gmail.com", "")
	var pages []string
	tok := ""
	for range 5 {
		res, err := c.SyncCollection(context.Background(), href, tok)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, fmt.Sprintf("%d %v", len(res.Changed), res.Truncated))
		tok = res.Token
		if !res.Truncated {
			break
		}
	}
	if want := []string{"2 true", "2 true", "1 false"}; !slices.Equal(pages, want) {
		t.Errorf("pages %q, want %q", pages, want)
	}
}

func TestCreate_Google_LocationOfTheUIDsHref(t *testing.T) {
	c, g := googleClient(t)
	res, err := c.Create(context.Background(), Calendar{}, googletest.Href("alice@gmail.com", "local-name.ics"), []byte(fmt.Sprintf(evFmt, 7)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Href != "/caldav/v2/alice@gmail.com/events/ev-7@google.com.ics" || res.ETag == "" {
		t.Errorf("created at %q etag %q", res.Href, res.ETag)
	}
	if _, ok := g.Objects("alice@gmail.com")["ev-7@google.com.ics"]; !ok {
		t.Error("the fake holds no event at the UID's href")
	}
	g.Conflict("alice@gmail.com", "ev-7@google.com.ics")
	_, err = c.Put(context.Background(), Calendar{}, res.Href, []byte(fmt.Sprintf(evFmt, 7)), res.ETag)
	if !errors.Is(err, ErrConflict) {
		t.Errorf("edit refused with 409: %v", err)
	}
}

const evFmt = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:ev-%d@google.com\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
