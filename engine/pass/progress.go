package pass

import "github.com/vdird/vdird/engine/work"

// calendarWork reports the steps of one pass over one calendar to the
// pass's Progress, if it has one. It also serves the remote source, whose
// steps are downloads.
type calendarWork struct {
	p work.Progress
	s work.Step
}

// start begins a step of op with total items (0: not known).
func (c *calendarWork) start(op work.Op, total int) {
	if c.p == nil {
		return
	}
	s := c.s
	s.Op, s.Total = op, total
	c.p.Start(s)
}

// Start begins a download of total items (0: not known).
func (c *calendarWork) Start(total int) { c.start(work.Downloading, total) }

// Add counts items and bytes done.
func (c *calendarWork) Add(items, bytes int) {
	if c.p != nil {
		c.p.Add(items, bytes)
	}
}

// Done ends the step.
func (c *calendarWork) Done() {
	if c.p != nil {
		c.p.Done()
	}
}
