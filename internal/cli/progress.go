package cli

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/work"
	"github.com/vdird/vdird/internal/progress"
)

// consoleWriter writes log events as readable lines to out, a terminal.
func consoleWriter(out io.Writer) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05.000"}
}

// canRedraw tells whether w is a terminal that live lines can be redrawn on.
func canRedraw(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb"
}

// startProgress shows the progress of a sync run in this process as live
// lines on stderr, unless quiet is set or stderr is no terminal: it sets
// opts.Progress, and log then writes its lines above the live ones. stop
// removes the lines; call it before printing anything else.
func startProgress(stderr io.Writer, quiet bool, opts *engine.SyncOptions, log *zerolog.Logger) (stop func()) {
	if quiet || !canRedraw(stderr) {
		return func() {}
	}
	m := &work.Meter{}
	lines := progress.Start(stderr, m)
	opts.Progress = m
	*log = log.Output(consoleWriter(lines))
	return lines.Stop
}
