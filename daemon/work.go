package daemon

import (
	"slices"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/work"
)

// working returns the work the account workers have in hand.
func (r *runner) working() []work.Status {
	r.mu.Lock()
	f := r.fleet
	r.mu.Unlock()
	if f == nil {
		return nil // the control socket opens before the first workers start
	}
	var out []work.Status
	for _, w := range f.workers {
		if ws, ok := w.meter.Now(); ok {
			out = append(out, ws)
		}
	}
	return out
}

// withWork puts each piece of work in hand into the status of its
// calendar. A first download being made is work in hand, not the
// error an unfinished one is. A calendar that state does not hold yet (a first download
// before its first batch is recorded) gets an entry of its own.
func withWork(sts []engine.CalendarStatus, steps []work.Status) []engine.CalendarStatus {
	for _, ws := range steps {
		i := slices.IndexFunc(sts, func(s engine.CalendarStatus) bool { return s.Account == ws.Account && s.Href == ws.Href })
		if i < 0 {
			sts = append(sts, engine.CalendarStatus{Account: ws.Account, Calendar: ws.Calendar, Href: ws.Href})
			i = len(sts) - 1
		}
		sts[i].Progress = &ws
		if sts[i].Staged && ws.Op == work.Downloading {
			// The first download is in hand, not stuck: no error to show.
			sts[i].LastError = ""
		}
	}
	return sts
}
