package davclient_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/testserver"
)

func TestSetProps_RenamesRecoloursDescribes_ListingShowsThem(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, s *testserver.Server) {
		href := s.MakeCalendar(t, "meta", "Before", "VEVENT")
		c, _ := newClient(t, s)
		ctx := ctx(t)
		name, color, desc := "After & <more>", "#112233FF", "What it is"
		cal := davclient.Calendar{Href: href, Kind: davclient.KindCalendar}
		err := c.SetProps(ctx, cal, davclient.Props{DisplayName: &name, Color: &color, Description: &desc})
		var perr *davclient.PropsError
		if s.Kind == testserver.Xandikos && errors.As(err, &perr) && perr.Refused["calendar-description"] == http.StatusConflict {
			// Xandikos stores no calendar description: the refusal names
			// it, and the rest goes in a PROPPATCH of its own.
			desc = ""
			err = c.SetProps(ctx, cal, davclient.Props{DisplayName: &name, Color: &color})
		}
		if err != nil {
			t.Fatalf("SetProps: %v", err)
		}
		cols, err := c.ListCollections(ctx, s.HomeHref)
		if err != nil {
			t.Fatalf("ListCollections: %v", err)
		}
		got, ok := findCal(cols, href)
		if !ok {
			t.Fatalf("listing %+v lacks %s", cols, href)
		}
		if got.DisplayName != name || !strings.EqualFold(got.Color, color) || got.Description != desc {
			t.Errorf("after SetProps: name %q colour %q description %q, want %q %q %q", got.DisplayName, got.Color, got.Description, name, color, desc)
		}
	})
}

func TestSetProps_OnePropertyForbidden_ReportsIt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		_, _ = io.WriteString(w, `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"><D:response><D:href>`+r.URL.Path+`</D:href>
<D:propstat><D:prop><I:calendar-color/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status></D:propstat>
<D:propstat><D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 424 Failed Dependency</D:status></D:propstat>
</D:response></D:multistatus>`)
	}))
	defer srv.Close()
	c, err := davclient.New(davclient.Options{URL: srv.URL + "/cal/", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	name, color := "N", "#000000"
	err = c.SetProps(ctx(t), davclient.Calendar{Href: "/cal/", Kind: davclient.KindCalendar}, davclient.Props{DisplayName: &name, Color: &color})
	var perr *davclient.PropsError
	if !errors.As(err, &perr) {
		t.Fatalf("SetProps = %v, want a *PropsError", err)
	}
	if perr.Refused["calendar-color"] != http.StatusForbidden || perr.Refused["displayname"] != http.StatusFailedDependency {
		t.Errorf("Refused = %v, want calendar-color 403 and displayname 424", perr.Refused)
	}
}
