package pass

import (
	"context"
	"fmt"
	"strings"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/vdir"
)

// folderMeta reads the metadata files of the folder d. An address book
// has no colour on the server, so its folder's color file is not synced.
func folderMeta(d *vdir.Dir, kind davclient.Kind) (plan.Meta, error) {
	var m plan.Meta
	var err error
	if m.DisplayName, err = d.DisplayName(); err != nil {
		return m, err
	}
	if m.Color, err = d.Color(); err != nil {
		return m, err
	}
	if kind != davclient.KindCalendar {
		m.Color = ""
	}
	m.Description, err = d.Description()
	return m, err
}

// writeFolderMeta writes the named fields of m into the folder d.
func writeFolderMeta(d *vdir.Dir, m plan.Meta, fields []string) error {
	set := map[string]func(string) error{"displayname": d.SetDisplayName, "color": d.SetColor, "description": d.SetDescription}
	val := map[string]string{"displayname": m.DisplayName, "color": m.Color, "description": m.Description}
	for _, f := range fields {
		if err := set[f](val[f]); err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
	}
	return nil
}

// serverMeta is the collection's metadata as the listing showed it.
func (p *pass) serverMeta() plan.Meta {
	return plan.Meta{DisplayName: p.cal.DisplayName, Color: p.cal.Color, Description: p.cal.Description}
}

// recordedMeta is the collection's metadata as last synced.
func (p *pass) recordedMeta() plan.Meta {
	return plan.Meta{DisplayName: p.col.DisplayName, Color: p.col.Color, Description: p.col.Description}
}

// folderMetaAsRecorded tells that the folder's metadata files hold what
// the last pass recorded; it reads three small files and sends nothing.
func (p *pass) folderMetaAsRecorded() bool {
	d, err := vdir.Open(p.col.Dir, p.fmt.Ext)
	if err != nil {
		return true // a missing folder is the item listing's to handle
	}
	m, err := folderMeta(d, p.cal.Kind)
	if err != nil {
		return false
	}
	rec := p.recordedMeta()
	return plan.PlanMeta(rec, m, rec, true, false).PushFields == nil
}

// syncMeta brings the collection's display name, colour and description
// in step between the folder d and the server (plan.PlanMeta): a local
// change is set on the server by PROPPATCH, a server change is written to
// the folder. p.meta holds the values to record. A property the server
// refuses keeps its server value, written to the folder, and is noted. A
// dry run notes what it would do.
func (p *pass) syncMeta(ctx context.Context, d *vdir.Dir, existed bool) error {
	p.meta = p.serverMeta()
	if d == nil && !p.opts.DryRun {
		return nil
	}
	var local plan.Meta
	if d != nil {
		var err error
		if local, err = folderMeta(d, p.cal.Kind); err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
	}
	mp := plan.PlanMeta(p.recordedMeta(), local, p.serverMeta(), existed, p.cal.ReadOnly)
	p.s.Notes = append(p.s.Notes, mp.Notes...)
	if p.opts.DryRun {
		if mp.PushFields != nil {
			p.s.Notes = append(p.s.Notes, "the folder's display name and colour would be set on the server ("+strings.Join(mp.PushFields, ", ")+")")
		}
		if mp.PullFields != nil {
			p.s.Notes = append(p.s.Notes, "the calendar's display name and colour are written to its folder ("+strings.Join(mp.PullFields, ", ")+")")
		}
		return nil
	}
	p.meta = mp.Base
	if mp.PushFields != nil {
		if err := p.pushMeta(ctx, d, mp); err != nil {
			return err
		}
	}
	return writeFolderMeta(d, mp.Pull, mp.PullFields)
}
