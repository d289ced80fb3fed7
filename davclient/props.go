package davclient

import (
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/vdird/vdird/davclient/webdav"
)

// Props are the properties of a collection SetProps changes. A nil field
// is left as it is; a pointer to "" removes the property.
type Props struct {
	DisplayName *string // DAV:displayname
	Color       *string // ICAL:calendar-color; calendars only
	Description *string // CALDAV:calendar-description or CARDDAV:addressbook-description
}

// PropsError is a PROPPATCH the server answered, refusing some of its
// properties: Refused holds the status of each one it did not set, by the
// property's local name. A PROPPATCH is all or nothing (RFC 4918 §9.2), so
// the others come back 424 Failed Dependency.
type PropsError struct {
	Href    string
	Refused map[string]int
}

func (e *PropsError) Error() string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(e.Refused)) {
		parts = append(parts, fmt.Sprintf("%s %d %s", n, e.Refused[n], http.StatusText(e.Refused[n])))
	}
	return fmt.Sprintf("PROPPATCH %s refused: %s", e.Href, strings.Join(parts, ", "))
}

// descriptionProp is the description property of a kind of collection.
func descriptionProp(k Kind) (space, local string) {
	if k == KindAddressBook {
		return nsCardDAV, "addressbook-description"
	}
	return nsCalDAV, "calendar-description"
}

// SetProps sets or removes the given properties of the collection cal with
// one PROPPATCH (RFC 4918 §9.2) and reads the status of each from the 207
// answer; a property the server did not set makes a *PropsError.
func (c *Client) SetProps(ctx context.Context, cal Calendar, p Props) error {
	href, err := c.dav.CollectionHref(cal.Href)
	if err != nil {
		return err
	}
	dspace, dlocal := descriptionProp(cal.Kind)
	props := [][3]string{{nsDAV, "displayname", "D"}, {nsICal, "calendar-color", "I"}, {dspace, dlocal, "X"}}
	vals := []*string{p.DisplayName, p.Color, p.Description}
	if cal.Kind != KindCalendar {
		vals[1] = nil
	}
	var set, remove strings.Builder
	for i, pr := range props {
		if v := vals[i]; v != nil && *v == "" {
			fmt.Fprintf(&remove, "<%s:%s/>", pr[2], pr[1])
		} else if v != nil {
			fmt.Fprintf(&set, "<%s:%s>", pr[2], pr[1])
			_ = xml.EscapeText(&set, []byte(*v))
			fmt.Fprintf(&set, "</%s:%s>", pr[2], pr[1])
		}
	}
	if set.Len()+remove.Len() == 0 {
		return nil
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:I="%s" xmlns:X="%s">%s%s</D:propertyupdate>`, nsICal, dspace,
		strings.ReplaceAll("<D:set><D:prop>"+set.String()+"</D:prop></D:set>", "<D:set><D:prop></D:prop></D:set>", ""),
		strings.ReplaceAll("<D:remove><D:prop>"+remove.String()+"</D:prop></D:remove>", "<D:remove><D:prop></D:prop></D:remove>", ""))
	r, err := c.dav.One(ctx, webdav.Request{Method: "PROPPATCH", Href: href, Body: []byte(body)})
	if err != nil {
		return fmt.Errorf("setting the properties of %s: %w", href, err)
	}
	perr := &PropsError{Href: href, Refused: map[string]int{}}
	for i, pr := range props {
		if st := r.PropStatus(pr[0], pr[1]); vals[i] != nil && st != 0 && st/100 != 2 {
			perr.Refused[pr[1]] = st
		}
	}
	if len(perr.Refused) > 0 {
		return perr
	}
	return nil
}
