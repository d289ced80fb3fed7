package undo

import (
	"strings"
	"time"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/vdir"
	"github.com/vdird/vdird/versions"
)

// Count is what the versions store holds of one calendar, in
// `vdird status --json`.
type Count struct {
	Count  int       `json:"count"`
	Bytes  int64     `json:"bytes"`
	Oldest time.Time `json:"oldest"`
}

// StatusRow is a row of `vdird status --json`: the calendar's status and
// the versions kept of its items.
type StatusRow struct {
	engine.CalendarStatus
	Versions *Count `json:"versions,omitempty"`
}

// WithCounts adds to each calendar's and address book's row what vs holds
// of it (nothing when vs is nil or cannot be read). A version belongs to a
// collection by account, kind and href, as the engine keys collections, so
// a calendar and an address book at one href never share a count; its kind
// is its file's (.vcf: an address book).
func WithCounts(vs *versions.Store, sts []engine.CalendarStatus) []StatusRow {
	rows := make([]StatusRow, len(sts))
	counts := map[string]*Count{}
	if vs != nil {
		es, _ := vs.List(versions.Filter{})
		for _, e := range es {
			key := countKey(e.Account, strings.HasSuffix(e.File, vdir.VCF), e.Collection)
			c := counts[key]
			if c == nil {
				c = &Count{}
				counts[key] = c
			}
			c.Count++
			c.Bytes += e.Size
			if c.Oldest.IsZero() || e.Time.Before(c.Oldest) {
				c.Oldest = e.Time
			}
		}
	}
	for i, s := range sts {
		rows[i] = StatusRow{CalendarStatus: s}
		if s.Calendar != "*" {
			rows[i].Versions = counts[countKey(s.Account, s.AddressBook, s.Href)]
		}
	}
	return rows
}

// countKey is the key of a collection's count: account, kind and href.
func countKey(account string, addressBook bool, href string) string {
	kind := "calendar"
	if addressBook {
		kind = "addressbook"
	}
	return account + "\x00" + kind + "\x00" + href
}
