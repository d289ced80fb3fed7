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
	names := slices.Sorted(maps.Keys(e.Refused))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d %s", n, e.Refused[n], http.StatusText(e.Refused[n]))
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
	type prop struct {
		space, local, prefix string
		v                    *string
	}
	dspace, dlocal := descriptionProp(cal.Kind)
	props := []prop{{nsDAV, "displayname", "D", p.DisplayName}, {nsICal, "calendar-color", "I", p.Color}, {dspace, dlocal, "X", p.Description}}
	if cal.Kind != KindCalendar {
		props[1].v = nil
	}
	var set, remove strings.Builder
	var sent []prop
	for _, pr := range props {
		switch {
		case pr.v == nil:
			continue
		case *pr.v == "":
			fmt.Fprintf(&remove, "<%s:%s/>", pr.prefix, pr.local)
		default:
			fmt.Fprintf(&set, "<%s:%s>", pr.prefix, pr.local)
			_ = xml.EscapeText(&set, []byte(*pr.v))
			fmt.Fprintf(&set, "</%s:%s>", pr.prefix, pr.local)
		}
		sent = append(sent, pr)
	}
	if len(sent) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:I="%s" xmlns:X="%s">`, nsICal, dspace)
	if set.Len() > 0 {
		b.WriteString("<D:set><D:prop>" + set.String() + "</D:prop></D:set>")
	}
	if remove.Len() > 0 {
		b.WriteString("<D:remove><D:prop>" + remove.String() + "</D:prop></D:remove>")
	}
	b.WriteString("</D:propertyupdate>")
	r, err := c.dav.One(ctx, webdav.Request{Method: "PROPPATCH", Href: href, Body: []byte(b.String())})
	if err != nil {
		return fmt.Errorf("setting the properties of %s: %w", href, err)
	}
	perr := &PropsError{Href: href, Refused: map[string]int{}}
	for _, pr := range sent {
		if st := r.PropStatus(pr.space, pr.local); st != 0 && st/100 != 2 {
			perr.Refused[pr.local] = st
		}
	}
	if len(perr.Refused) > 0 {
		return perr
	}
	return nil
}
