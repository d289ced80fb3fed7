package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/testserver"
)

// hangingServer answers no request: each waits until the client goes away.
// got receives a value per request that arrived.
func hangingServer(t *testing.T) (url string, got <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 64)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body so the server notices the client going away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case ch <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv.URL + "/", ch
}

// TestBinary_SIGINT_CancelsSyncAndDaemonWithStatus130 interrupts a sync and
// a daemon that wait on the server, as Ctrl-C does, and expects the status a
// shell gives an interrupted command.
func TestBinary_SIGINT_CancelsSyncAndDaemonWithStatus130(t *testing.T) {
	bin := buildVdird(t)
	for _, command := range []string{"sync", "daemon"} {
		t.Run(command, func(t *testing.T) {
			url, got := hangingServer(t)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.toml")
			toml := fmt.Sprintf("state_path = %q\n[[account]]\nname = \"t\"\nurl = %q\nlocal_root = %q\n",
				filepath.Join(dir, "state.db"), url, filepath.Join(dir, "cals"))
			if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
				t.Fatal(err)
			}
			// A short runtime dir of its own: no daemon answers there.
			runtime, err := os.MkdirTemp("", "vdird-sig")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(runtime)
			cmd := exec.Command(bin, "--config", cfg, command)
			cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime)
			var logs testserver.Buffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() { _ = cmd.Process.Kill() }()
			select {
			case <-got:
			case err := <-done:
				t.Fatalf("vdird %s exited (%v) before asking the server:\n%s", command, err, logs.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("vdird %s asked the server nothing within 30 s:\n%s", command, logs.String())
			}
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if code := exitCode(err); code != 130 {
					t.Fatalf("vdird %s after SIGINT: exit %d, want 130\n%s", command, code, logs.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("vdird %s still running 10 s after SIGINT:\n%s", command, logs.String())
			}
		})
	}
}
