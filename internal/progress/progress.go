// Package progress shows how far the long steps of a sync have come: on a
// terminal, one live line per calendar being downloaded or uploaded (drawn
// by mpb), and as one line of text for `vdird status`. Each says the items
// done, of how many when that is known ahead, the bytes, the rate and, with
// a total, the time left. The steps come from a work.Meter.
package progress

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/vdird/vdird/engine/work"
)

const (
	// refresh is how often the lines are redrawn.
	refresh = 150 * time.Millisecond
	// showAfter is how long a step runs before it gets a line: a short one
	// never flashes one.
	showAfter = 500 * time.Millisecond
)

// Describe says how far ws has come at now, for example
// "↓ 1200 of 3000 items · 4.1 MiB · 820 items/s · 2s left".
func Describe(ws work.Status, now time.Time) string {
	var b strings.Builder
	arrow := "↓"
	if ws.Op == work.Uploading {
		arrow = "↑"
	}
	if ws.Total > 0 {
		fmt.Fprintf(&b, "%s %d of %d items", arrow, ws.Done, ws.Total)
	} else {
		fmt.Fprintf(&b, "%s %d items", arrow, ws.Done)
	}
	if ws.Bytes < 1024 {
		fmt.Fprintf(&b, " · %d B", ws.Bytes)
	} else {
		fmt.Fprintf(&b, " · % .1f", decor.SizeB1024(ws.Bytes))
	}
	took := now.Sub(ws.Since)
	if took <= 0 || ws.Done == 0 {
		return b.String()
	}
	rate := float64(ws.Done) / took.Seconds()
	if rate < 10 {
		fmt.Fprintf(&b, " · %.1f items/s", rate)
	} else {
		fmt.Fprintf(&b, " · %.0f items/s", rate)
	}
	if ws.Total > ws.Done {
		left := time.Duration(float64(ws.Total-ws.Done) / rate * float64(time.Second))
		fmt.Fprintf(&b, " · %s left", left.Round(time.Second))
	}
	return b.String()
}

// Lines draws the steps a work.Meter reports as live lines on a terminal,
// one per step while it runs, and writes log lines above them. Start it,
// hand the meter to the engine, and Stop it before printing anything else
// to the terminal.
type Lines struct {
	meter *work.Meter
	out   io.Writer
	p     *mpb.Progress
	stop  chan struct{}
	done  chan struct{}

	bar   *mpb.Bar                    // the poller's
	shown atomic.Pointer[work.Status] // what the bar shows
	once  sync.Once
}

// Start draws what m reports on out, which must be a terminal, until Stop.
func Start(out io.Writer, m *work.Meter) *Lines {
	l := &Lines{meter: m, out: out, stop: make(chan struct{}), done: make(chan struct{}),
		p: mpb.New(mpb.WithOutput(out), mpb.WithRefreshRate(refresh))}
	go l.poll()
	return l
}

// Write writes a log line above the live lines (or, after Stop, as is).
func (l *Lines) Write(b []byte) (int, error) {
	n, err := l.p.Write(b)
	if errors.Is(err, mpb.ErrDone) {
		return l.out.Write(b)
	}
	return n, err
}

// Stop removes the lines and waits until the terminal is left clean.
func (l *Lines) Stop() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.p.Wait()
	})
}

// poll follows the meter until Stop.
func (l *Lines) poll() {
	defer close(l.done)
	t := time.NewTicker(refresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.drop()
			return
		case now := <-t.C:
			l.update(now)
		}
	}
}

// update shows the meter's step at now: a line for a step that has run
// for showAfter, none once it is done.
func (l *Lines) update(now time.Time) {
	ws, ok := l.meter.Now()
	if cur := l.shown.Load(); l.bar != nil && (!ok || cur.Step != ws.Step || !cur.Since.Equal(ws.Since)) {
		l.drop()
	}
	if !ok || l.bar == nil && now.Sub(ws.Since) < showAfter {
		return
	}
	l.shown.Store(&ws)
	if l.bar == nil {
		l.bar = l.newBar(ws)
	}
	l.bar.SetCurrent(int64(ws.Done))
}

// drop removes the line of the step shown.
func (l *Lines) drop() {
	if l.bar != nil {
		l.bar.Abort(true)
		l.bar = nil
	}
}

// newBar is the line of ws: the calendar and how far it came, then a bar
// when the total is known.
func (l *Lines) newBar(ws work.Status) *mpb.Bar {
	var style mpb.BarFillerBuilder = mpb.NopStyle()
	if ws.Total > 0 {
		style = mpb.BarStyle()
	}
	name := ws.Account + "/" + ws.Calendar + " "
	text := decor.Any(func(decor.Statistics) string { return Describe(*l.shown.Load(), time.Now()) + " " })
	return l.p.New(int64(ws.Total), style, mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(name), text))
}
