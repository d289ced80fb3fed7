package undo

import (
	"time"

	"github.com/vdird/vdird/engine"
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

// WithCounts adds to each calendar's row what vs holds of it (nothing
// when vs is nil or cannot be read).
func WithCounts(vs *versions.Store, sts []engine.CalendarStatus) []StatusRow {
	rows := make([]StatusRow, len(sts))
	counts := map[string]*Count{}
	if vs != nil {
		es, _ := vs.List(versions.Filter{})
		for _, e := range es {
			key := e.Account + "\x00" + e.Collection
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
			rows[i].Versions = counts[s.Account+"\x00"+s.Href]
		}
	}
	return rows
}
