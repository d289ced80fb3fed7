// Package work names the long steps of a sync pass and counts how far
// they came: the engine reports a calendar's downloads and uploads to a
// Progress as they go, and a Meter keeps the step in hand for those who
// show it (the progress lines of `vdird sync`, `vdird status`).
package work

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress hears how far the long steps of a pass have come. Calls come
// from one pass at a time and in order: Start, any number of Add, Done.
// Add comes once per item, so it must be cheap.
type Progress interface {
	Start(s Step)
	Add(items, bytes int)
	Done()
}

// Op is what a step does.
type Op string

// The kinds of steps a pass reports.
const (
	Downloading Op = "download"
	Uploading   Op = "upload"
)

// Step is one long step of a pass over one calendar: its download (a first
// download, or the fetch of new and changed items) or its uploads.
type Step struct {
	Account  string `json:"account"`
	Calendar string `json:"calendar"` // local folder name
	Href     string `json:"href"`
	Op       Op     `json:"op"`
	// Total is how many items are coming; 0 when it is not known ahead, as
	// in a first download, which streams the calendar in one answer.
	Total int `json:"total,omitempty"`
}

// Status is how far a step has come.
type Status struct {
	Step
	Done  int       `json:"done"`  // items so far
	Bytes int64     `json:"bytes"` // of item data so far
	Since time.Time `json:"since"` // when the step started
}

// Meter is a Progress that keeps the step in hand and its counts for a
// reader on another goroutine. The zero value is ready to use.
type Meter struct {
	mu     sync.Mutex
	cur    Status
	active bool
	items  atomic.Int64
	bytes  atomic.Int64
}

// Start makes s the step in hand, with nothing done yet.
func (m *Meter) Start(s Step) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cur, m.active = Status{Step: s, Since: time.Now()}, true
	m.items.Store(0)
	m.bytes.Store(0)
}

// Add counts items and bytes done.
func (m *Meter) Add(items, bytes int) {
	m.items.Add(int64(items))
	m.bytes.Add(int64(bytes))
}

// Done ends the step in hand.
func (m *Meter) Done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active = false
}

// Now returns the step in hand and how far it came; ok is false when there
// is none.
func (m *Meter) Now() (st Status, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.active {
		return Status{}, false
	}
	st = m.cur
	st.Done, st.Bytes = int(m.items.Load()), m.bytes.Load()
	return st, true
}
