package progress

import (
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/vdird/vdird/engine/work"
)

func TestDescribe_ItemsBytesRateAndTimeLeftWhenTheTotalIsKnown(t *testing.T) {
	since := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	now := since.Add(4 * time.Second)
	for _, tc := range []struct {
		name string
		ws   work.Status
		want string
	}{
		{"DownloadOfKnownSize",
			work.Status{Step: work.Step{Op: work.Downloading, Total: 3000}, Done: 1200, Bytes: 4300000, Since: since},
			"↓ 1200 of 3000 items · 4.1 MiB · 300 items/s · 6s left"},
		{"FirstDownload_NoTotalNoTimeLeft",
			work.Status{Step: work.Step{Op: work.Downloading}, Done: 800, Bytes: 2048, Since: since},
			"↓ 800 items · 2.0 KiB · 200 items/s"},
		{"Upload",
			work.Status{Step: work.Step{Op: work.Uploading, Total: 10}, Done: 2, Bytes: 900, Since: since},
			"↑ 2 of 10 items · 900 B · 0.5 items/s · 16s left"},
		{"NothingYet_NoRate",
			work.Status{Step: work.Step{Op: work.Uploading, Total: 10}, Since: since},
			"↑ 0 of 10 items · 0 B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Describe(tc.ws, now); got != tc.want {
				t.Errorf("Describe = %q, want %q", got, tc.want)
			}
		})
	}
}

// terminal is a pseudo-terminal whose output a test reads.
type terminal struct {
	tty *os.File
	mu  sync.Mutex
	out strings.Builder
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{tty: tty}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-done
	})
	return term
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the terminal shows want, and fails t after 5 s.
func (term *terminal) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(term.text(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q:\n%q", want, term.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLines_OnATerminal_ShowTheWorkInHandWithLogLinesAbove(t *testing.T) {
	term := newTerminal(t)
	var m work.Meter
	lines := Start(term.tty, &m)
	defer lines.Stop()

	m.Start(work.Step{Account: "alice", Calendar: "work", Op: work.Downloading, Total: 100})
	m.Add(40, 4096)
	term.waitFor(t, "alice/work ↓ 40 of 100 items · 4.0 KiB")
	if _, err := io.WriteString(lines, "a log line\n"); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "a log line")
	m.Add(10, 1024)
	term.waitFor(t, "alice/work ↓ 50 of 100 items · 5.0 KiB")
	m.Done()

	m.Start(work.Step{Account: "alice", Calendar: "home", Op: work.Uploading, Total: 3})
	m.Add(1, 10)
	term.waitFor(t, "alice/home ↑ 1 of 3 items")
	m.Done()
	lines.Stop()
	if _, err := io.WriteString(lines, "after the lines\n"); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "after the lines")
}

func TestLines_ShortWork_NeverShown(t *testing.T) {
	term := newTerminal(t)
	var m work.Meter
	lines := Start(term.tty, &m)
	m.Start(work.Step{Account: "alice", Calendar: "work", Op: work.Uploading, Total: 2})
	m.Add(2, 100)
	time.Sleep(showAfter / 2)
	m.Done()
	time.Sleep(showAfter)
	lines.Stop()
	if out := term.text(); out != "" {
		t.Errorf("work done within %v drew on the terminal: %q", showAfter, out)
	}
}
