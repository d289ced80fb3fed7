package control

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/restore"
)

// shortDir returns a temp dir with a short path: unix socket paths are
// limited to 108 bytes and t.TempDir() names can be longer.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// fakeHandler answers control requests without an engine.
type fakeHandler struct {
	st   []engine.CalendarStatus
	sums []*engine.Summary
	got  chan engine.SyncOptions
}

func (f *fakeHandler) Status() ([]engine.CalendarStatus, error) { return f.st, nil }
func (f *fakeHandler) CheckCalendars(ctx context.Context, names []string) error {
	return nil
}
func (f *fakeHandler) Restore(context.Context, restore.Selection) (*restore.Result, error) {
	return nil, errors.New("no restore here")
}
func (f *fakeHandler) Forget(names []string, undo bool) ([]engine.Forgotten, error) {
	switch names[0] {
	case "nosuch":
		return nil, &engine.UnknownCalendarError{Names: names, Calendars: []string{"work"}}
	case "twice":
		return nil, &engine.AmbiguousCalendarError{Name: names[0], Matches: []string{"a/twice", "b/twice"}}
	}
	return []engine.Forgotten{{Account: "a", Calendar: names[0], Dir: "/c/" + names[0], AsBefore: undo}}, nil
}
func (f *fakeHandler) SyncNow(ctx context.Context, opts engine.SyncOptions) []*engine.Summary {
	f.got <- opts
	return f.sums
}

func TestControl_StatusAndSync_RoundTripOverTheSocket(t *testing.T) {
	sock := filepath.Join(shortDir(t), "vdird.sock")
	when := time.Date(2025, 3, 1, 12, 1, 5, 0, time.UTC)
	h := &fakeHandler{
		st: []engine.CalendarStatus{
			{Account: "a", Calendar: "*", LastError: "401", FailingSince: when, Attempts: 3},
			{Account: "a", Calendar: "work", LastSync: when, PendingLocal: 2, ConflictFiles: []string{"x.ics.conflict-1"},
				Refused: "mass delete", Rejected: []string{"a.ics: refused by the server"}},
		},
		sums: []*engine.Summary{{Account: "a", Calendar: "work", Downloaded: 3}, {Account: "a", Calendar: "*", Err: errors.New("boom")}},
		got:  make(chan engine.SyncOptions, 1),
	}
	srv, err := Start(context.Background(), sock, h, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&fs.ModeSocket == 0 {
		t.Fatalf("socket mode %v, want a 0600 socket", fi.Mode())
	}

	st, err := Status(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[1].Calendar != "work" || !st[1].LastSync.Equal(when) || st[1].PendingLocal != 2 || len(st[1].ConflictFiles) != 1 ||
		st[1].Refused != "mass delete" || len(st[1].Rejected) != 1 {
		t.Fatalf("status = %+v", st)
	}
	if a := st[0]; a.Calendar != "*" || a.LastError != "401" || a.Attempts != 3 || !a.FailingSince.Equal(when) {
		t.Fatalf("account row = %+v", a)
	}

	sums, err := Sync(context.Background(), sock, engine.SyncOptions{AllowMassDelete: true, Calendars: []string{"work"}})
	if err != nil {
		t.Fatal(err)
	}
	if opts := <-h.got; !opts.AllowMassDelete || len(opts.Calendars) != 1 || opts.Calendars[0] != "work" || opts.LocalOnly {
		t.Fatalf("daemon got options %+v", opts)
	}
	if len(sums) != 2 || sums[0].Downloaded != 3 || sums[1].Err == nil || sums[1].Err.Error() != "boom" || !sums[1].Failed() {
		t.Fatalf("summaries = %+v %+v", sums[0], sums[1])
	}

	if _, err := Do(context.Background(), sock, Request{Cmd: "frobnicate"}); err == nil {
		t.Fatal("unknown command accepted")
	}

	srv.Close()
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file left behind after close: %v", err)
	}
	if _, err := Status(context.Background(), sock); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("after close: err = %v, want ErrNoDaemon", err)
	}
}

func TestControl_StaleSocketIsReplaced_LiveOneRefused(t *testing.T) {
	sock := filepath.Join(shortDir(t), "vdird.sock")
	// A crashed daemon leaves its socket file behind with nobody listening.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Status(context.Background(), sock); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("stale socket: err = %v, want ErrNoDaemon", err)
	}
	h := &fakeHandler{got: make(chan engine.SyncOptions, 1)}
	srv, err := Start(context.Background(), sock, h, zerolog.Nop())
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer srv.Close()
	if _, err := Start(context.Background(), sock, h, zerolog.Nop()); !errors.Is(err, ErrDaemonRunning) {
		t.Fatalf("second listener: err = %v, want ErrDaemonRunning", err)
	}
	if _, err := Status(context.Background(), sock); err != nil {
		t.Fatalf("first daemon no longer answers: %v", err)
	}
}

func TestControl_RegularFileAtSocketPath_IsNotRemoved(t *testing.T) {
	sock := filepath.Join(shortDir(t), "vdird.sock")
	if err := os.WriteFile(sock, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listen(sock); err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(sock); string(b) != "precious" {
		t.Fatal("regular file was replaced")
	}
}

func TestControlSocketPath_RuntimeDirElseBesideState(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := SocketPath("/home/u/.local/state/vdird/state.db"); got != "/run/user/1000/vdird.sock" {
		t.Fatalf("got %s", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := SocketPath("/home/u/.local/state/vdird/state.db"); got != "/home/u/.local/state/vdird/vdird.sock" {
		t.Fatalf("got %s", got)
	}
}

// A state path too deep for a socket address (over 107 bytes) must not
// make the daemon fail to listen and the CLI fail to connect.
func TestControlSocketPath_DeepStatePath_ShortSocketTheDaemonAndCLIShare(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60), "state.db")
	sock := SocketPath(deep)
	if len(sock) > maxSocketPath {
		t.Fatalf("socket path %d bytes: %s", len(sock), sock)
	}
	if again := SocketPath(deep); again != sock {
		t.Fatalf("not stable: %s then %s", sock, again)
	}
	if other := SocketPath(deep + "2"); other == sock {
		t.Fatalf("two state files share %s", sock)
	}
	ln, err := listen(sock)
	if err != nil {
		t.Fatalf("listen on %s: %v", sock, err)
	}
	defer os.Remove(sock)
	defer ln.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	c.Close()
}

func TestControl_Forget_RoundTripOverTheSocket_UnknownAndAmbiguousNamesTyped(t *testing.T) {
	sock := filepath.Join(shortDir(t), "vdird.sock")
	srv, err := Start(context.Background(), sock, &fakeHandler{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got, err := Forget(context.Background(), sock, []string{"work"}, true)
	if err != nil || len(got) != 1 || got[0] != (engine.Forgotten{Account: "a", Calendar: "work", Dir: "/c/work", AsBefore: true}) {
		t.Fatalf("Forget = %+v, %v", got, err)
	}
	_, err = Forget(context.Background(), sock, []string{"nosuch"}, false)
	var unknown *engine.UnknownCalendarError
	if !errors.As(err, &unknown) || unknown.Names[0] != "nosuch" || unknown.Calendars[0] != "work" {
		t.Fatalf("Forget nosuch: %v, want the engine's UnknownCalendarError", err)
	}
	_, err = Forget(context.Background(), sock, []string{"twice"}, false)
	var ambiguous *engine.AmbiguousCalendarError
	if !errors.As(err, &ambiguous) || ambiguous.Name != "twice" || len(ambiguous.Matches) != 2 {
		t.Fatalf("Forget twice: %v, want the engine's AmbiguousCalendarError", err)
	}
	if _, err := Forget(context.Background(), filepath.Join(shortDir(t), "none.sock"), []string{"work"}, false); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Forget with no daemon: %v, want ErrNoDaemon", err)
	}
}
