// Package control is the daemon's control socket, which lets `vdird
// status`, `vdird sync`, `vdird restore` and `vdird forget` talk to a running daemon
// instead of fighting it over the state file's lock: where the socket is,
// the requests and answers, the client calls and the server that answers
// them for a Handler.
package control

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/restore"
)

// The protocol is newline-delimited JSON: one Request line in, one
// Response line out, any number of times per connection.

// ErrNoDaemon means no daemon listens on the control socket: callers then do
// the work in-process.
var ErrNoDaemon = errors.New("no vdird daemon is running")

// ErrDaemonRunning means another daemon already answers on the control socket.
var ErrDaemonRunning = errors.New("another vdird daemon is listening")

// maxLine caps one request line; requests are tiny.
const maxLine = 1 << 20

// Request is one command sent to the daemon.
type Request struct {
	Cmd             string   `json:"cmd"` // "status", "sync", "restore" or "forget"
	AllowMassDelete bool     `json:"allow_mass_delete,omitempty"`
	DryRun          bool     `json:"dry_run,omitempty"`
	Calendars       []string `json:"calendars,omitempty"`

	Restore *restore.Selection `json:"restore,omitempty"`
	Forget  *ForgetRequest     `json:"forget,omitempty"`
}

// ForgetRequest is what `vdird forget` asks (engine.Engine.Forget).
type ForgetRequest struct {
	Names []string `json:"names"`
	Undo  bool     `json:"undo,omitempty"`
}

// Response answers one Request. Error is set when the command
// failed as a whole.
type Response struct {
	Error     string                  `json:"error,omitempty"`
	Status    []engine.CalendarStatus `json:"status,omitempty"`
	Summaries []*engine.Summary       `json:"summaries,omitempty"`

	// UnknownCalendar is set with Error when a sync or a forget named
	// calendars that match nothing, so the caller gets the engine's typed
	// error back.
	UnknownCalendar *engine.UnknownCalendarError `json:"unknown_calendar,omitempty"`
	// AmbiguousCalendar is set with Error when a forget named several
	// collections.
	AmbiguousCalendar *engine.AmbiguousCalendarError `json:"ambiguous_calendar,omitempty"`

	Restore   *restore.Result    `json:"restore,omitempty"`
	Forgotten []engine.Forgotten `json:"forgotten,omitempty"`
}

// maxSocketPath is the longest path a unix socket address holds on Linux
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// SocketPath is where the daemon listens: $XDG_RUNTIME_DIR/vdird.sock,
// or beside the state file when there is no runtime directory. A path too
// long for a socket address becomes one in the temp directory named after
// the user and the state file, so the daemon and the CLI still agree on it.
func SocketPath(statePath string) string {
	p := filepath.Join(filepath.Dir(statePath), "vdird.sock")
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		p = filepath.Join(d, "vdird.sock")
	}
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(statePath))
	return filepath.Join(os.TempDir(), fmt.Sprintf("vdird-%d-%s.sock", os.Getuid(), hex.EncodeToString(sum[:6])))
}

// Control sends one request to the daemon at socketPath and returns its
// answer. It returns an error wrapping ErrNoDaemon when nobody listens.
func Do(ctx context.Context, socketPath string, req Request) (*Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTSOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrNoDaemon, socketPath)
		}
		return nil, fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	defer conn.Close()
	// A cancelled ctx unblocks the read below.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("control socket %s: send: %w", socketPath, err)
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64*1024), 256<<20)
	if !sc.Scan() {
		err := sc.Err()
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if err == nil {
			err = errors.New("daemon closed the connection without an answer")
		}
		return nil, fmt.Errorf("control socket %s: %w", socketPath, err)
	}
	var resp Response
	if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("control socket %s: bad answer: %w", socketPath, err)
	}
	if resp.Error != "" {
		return &resp, fmt.Errorf("daemon: %s", resp.Error)
	}
	return &resp, nil
}

// Status asks a running daemon for the status of every calendar.
func Status(ctx context.Context, socketPath string) ([]engine.CalendarStatus, error) {
	resp, err := Do(ctx, socketPath, Request{Cmd: "status"})
	if err != nil {
		return nil, err
	}
	return resp.Status, nil
}

// Sync asks a running daemon for a full pass now, waits for it and
// returns the summaries.
func Sync(ctx context.Context, socketPath string, opts engine.SyncOptions) ([]*engine.Summary, error) {
	resp, err := Do(ctx, socketPath, Request{Cmd: "sync", AllowMassDelete: opts.AllowMassDelete,
		DryRun: opts.DryRun, Calendars: opts.Calendars})
	if resp != nil && resp.UnknownCalendar != nil {
		return nil, resp.UnknownCalendar
	}
	if err != nil {
		return nil, err
	}
	return resp.Summaries, nil
}

// Handler is what the socket serves; the daemon's loop implements it.
type Handler interface {
	Status() ([]engine.CalendarStatus, error)
	SyncNow(ctx context.Context, opts engine.SyncOptions) []*engine.Summary
	// CheckCalendars returns an *engine.UnknownCalendarError when a name
	// matches no calendar (engine.Engine.CheckCalendars).
	CheckCalendars(ctx context.Context, names []string) error
	Restore(ctx context.Context, sel restore.Selection) (*restore.Result, error)
	// Forget returns an *engine.UnknownCalendarError when a name matches
	// no calendar, an *engine.AmbiguousCalendarError when one matches
	// several (engine.Engine.Forget).
	Forget(names []string, undo bool) ([]engine.Forgotten, error)
}

// Server owns the listener and one goroutine per connection.
type Server struct {
	ln  net.Listener
	h   Handler
	log zerolog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// listenControl listens on path with mode 0600. A socket file nobody answers
// on (a crashed daemon's) is replaced; a live one is ErrDaemonRunning; any
// other kind of file there is left alone and reported.
func listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		fi, serr := os.Lstat(path)
		if serr != nil || fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: path exists and is not a socket", path)
		}
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: %w", path, ErrDaemonRunning)
		}
		if rerr := os.Remove(path); rerr != nil {
			return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, rerr)
		}
		ln, err = net.Listen("unix", path)
	}
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Listen creates the file with the umask's mode; the runtime dir is
	// private anyway, this makes the socket so even in the state-dir fallback.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// Start listens on path (see listen) and serves h there until Close or
// the end of ctx, one goroutine per connection.
func Start(ctx context.Context, path string, h Handler, log zerolog.Logger) (*Server, error) {
	ln, err := listen(path)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, h: h, log: log, conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error().Err(err).Msg("control socket: accept")
				// Avoid a hot loop on a persistent accept error (EMFILE).
				select {
				case <-s.ctx.Done():
				case <-time.After(100 * time.Millisecond):
					continue
				}
			}
			return
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(conn)
	}
}

func (s *Server) serve(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
	}()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), maxLine)
	enc := json.NewEncoder(conn) // Encode ends each value with '\n'
	for sc.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else {
			resp = s.handle(req)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

func (s *Server) handle(req Request) Response {
	switch req.Cmd {
	case "status":
		st, err := s.h.Status()
		if err != nil {
			return Response{Error: err.Error()}
		}
		if st == nil {
			st = []engine.CalendarStatus{}
		}
		return Response{Status: st}
	case "sync":
		s.log.Info().Bool("dry_run", req.DryRun).Strs("calendars", req.Calendars).Msg("sync requested on the control socket")
		if err := s.h.CheckCalendars(s.ctx, req.Calendars); err != nil {
			// A name matches no calendar: no pass, and the typed error goes back.
			resp := Response{Error: err.Error()}
			errors.As(err, &resp.UnknownCalendar)
			return resp
		}
		sums := s.h.SyncNow(s.ctx, engine.SyncOptions{DryRun: req.DryRun, AllowMassDelete: req.AllowMassDelete, Calendars: req.Calendars})
		return Response{Summaries: sums}
	case "restore":
		return s.handleRestore(req)
	case "forget":
		return s.handleForget(req)
	default:
		return Response{Error: fmt.Sprintf("unknown command %q (want status, sync, restore or forget)", req.Cmd)}
	}
}

// Close stops accepting, ends open connections and waits for their
// goroutines. The listener removes the socket file.
func (s *Server) Close() {
	s.cancel()
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		// Let an answer being written finish; a blocked read ends now.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Restore asks a running daemon to restore the versions sel
// selects (engine.Engine.Restore): the daemon holds the state that a
// restore reads. Its watcher then sees the files and uploads them.
func Restore(ctx context.Context, socketPath string, sel restore.Selection) (*restore.Result, error) {
	resp, err := Do(ctx, socketPath, Request{Cmd: "restore", Restore: &sel})
	if err != nil {
		return nil, err
	}
	if resp.Restore == nil {
		return nil, errors.New("daemon: no restore in its answer")
	}
	return resp.Restore, nil
}

func (s *Server) handleRestore(req Request) Response {
	if req.Restore == nil {
		return Response{Error: "restore: nothing selected"}
	}
	s.log.Info().Interface("selection", req.Restore).Msg("restore requested on the control socket")
	res, err := s.h.Restore(s.ctx, *req.Restore)
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{Restore: res}
}

// Forget asks a running daemon to forget the calendars names denote, or
// with undo to sync them again (engine.Engine.Forget): the daemon holds
// the state, and does it between the passes of their accounts.
func Forget(ctx context.Context, socketPath string, names []string, undo bool) ([]engine.Forgotten, error) {
	resp, err := Do(ctx, socketPath, Request{Cmd: "forget", Forget: &ForgetRequest{Names: names, Undo: undo}})
	switch {
	case resp != nil && resp.UnknownCalendar != nil:
		return nil, resp.UnknownCalendar
	case resp != nil && resp.AmbiguousCalendar != nil:
		return nil, resp.AmbiguousCalendar
	}
	if err != nil {
		return nil, err
	}
	return resp.Forgotten, nil
}

func (s *Server) handleForget(req Request) Response {
	if req.Forget == nil || len(req.Forget.Names) == 0 {
		return Response{Error: "forget: no calendar named"}
	}
	s.log.Info().Strs("names", req.Forget.Names).Bool("undo", req.Forget.Undo).Msg("forget requested on the control socket")
	done, err := s.h.Forget(req.Forget.Names, req.Forget.Undo)
	if err != nil {
		resp := Response{Error: err.Error(), Forgotten: done}
		errors.As(err, &resp.UnknownCalendar)
		errors.As(err, &resp.AmbiguousCalendar)
		return resp
	}
	if done == nil {
		done = []engine.Forgotten{}
	}
	return Response{Forgotten: done}
}
