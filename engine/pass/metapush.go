package pass

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/vdir"
)

// pushMeta sets the fields of mp.Push on the server. A field the server
// refuses keeps the server's value, in the folder and in p.meta, so it is
// not sent again until the folder changes it; the fields that failed only
// because of it (424 Failed Dependency, a PROPPATCH being all or nothing)
// are sent again on their own.
func (p *pass) pushMeta(ctx context.Context, d *vdir.Dir, mp plan.MetaPlan) error {
	var set, refused, reasons []string
	fields := mp.PushFields
	for try := 0; try < 2 && len(fields) > 0; try++ {
		err := p.c.SetProps(ctx, p.cal, pushProps(mp.Push, fields))
		var perr *davclient.PropsError
		if !errors.As(err, &perr) {
			if err != nil {
				return err
			}
			set = append(set, fields...)
			break
		}
		var again []string
		for _, f := range fields {
			prop := propName(f, p.cal.Kind)
			st, ok := perr.Refused[prop]
			switch {
			case !ok: // set: the server does not hold a PROPPATCH all or nothing
				set = append(set, f)
			case st == http.StatusFailedDependency && try == 0:
				again = append(again, f)
			default:
				refused = append(refused, f)
				reasons = append(reasons, fmt.Sprintf("%s %d %s", prop, st, http.StatusText(st)))
			}
		}
		fields = again
	}
	if len(set) > 0 {
		p.s.Notes = append(p.s.Notes, "the folder's "+strings.Join(set, ", ")+" set on the server")
	}
	if len(refused) == 0 {
		return nil
	}
	p.s.Notes = append(p.s.Notes, fmt.Sprintf("the server refused the folder's %s (%s): the server's value is written to the folder",
		strings.Join(refused, ", "), strings.Join(reasons, ", ")))
	server := p.serverMeta()
	for _, f := range refused {
		*metaField(&p.meta, f) = *metaField(&server, f)
	}
	return writeFolderMeta(d, p.meta, refused)
}

// pushProps are the properties of m named by fields, to set.
func pushProps(m plan.Meta, fields []string) davclient.Props {
	var props davclient.Props
	for _, f := range fields {
		v := *metaField(&m, f)
		switch f {
		case "displayname":
			props.DisplayName = &v
		case "color":
			props.Color = &v
		case "description":
			props.Description = &v
		}
	}
	return props
}

// metaField is the field of m named f.
func metaField(m *plan.Meta, f string) *string {
	switch f {
	case "color":
		return &m.Color
	case "description":
		return &m.Description
	}
	return &m.DisplayName
}

// propName is the server's name of the metadata field f of a collection of
// kind k, as davclient.PropsError names it.
func propName(f string, k davclient.Kind) string {
	switch {
	case f == "color":
		return "calendar-color"
	case f == "description" && k == davclient.KindAddressBook:
		return "addressbook-description"
	case f == "description":
		return "calendar-description"
	}
	return f
}
