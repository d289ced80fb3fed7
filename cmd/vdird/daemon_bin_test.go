package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/testserver"
)

// TestDaemonBinary_NotifyReadyStatus_SIGTERMExitsCleanly runs the real
// binary the way systemd does (NOTIFY_SOCKET set) and checks READY=1 and
// STATUS= arrive, `vdird status` talks to it, a second daemon fails fast
// with a clear message, and SIGTERM ends it with status 0 within seconds.
func TestDaemonBinary_NotifyReadyStatus_SIGTERMExitsCleanly(t *testing.T) {
	bin := buildVdird(t)
	srv := testserver.Start(t, testserver.Radicale)
	cal := srv.MakeCalendar(t, "work", "Work", "VEVENT")
	srv.Put(t, cal+"a.ics", []byte(fmt.Sprintf(ev, "a", "A")))
	cfg := srv.WriteVdirdConfig(t, "t", filepath.Join(t.TempDir(), "cals"))

	sockDir, err := os.MkdirTemp("", "vdird-notify")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	notifyPath := filepath.Join(sockDir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()

	env := append(os.Environ(), "NOTIFY_SOCKET="+notifyPath, "XDG_RUNTIME_DIR="+sockDir)
	cmd := exec.Command(bin, "--config", cfg, "daemon")
	cmd.Env = env
	var logs testserver.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()

	var ready, status bool
	deadline := time.After(30 * time.Second)
	for !(ready && status) {
		select {
		case m := <-msgs:
			ready = ready || strings.Contains(m, "READY=1")
			status = status || strings.Contains(m, "STATUS=1 calendar, last sync ")
		case <-deadline:
			t.Fatalf("no READY=1/STATUS= within 30 s (ready %v status %v); log:\n%s", ready, status, logs.String())
		}
	}
	st := exec.Command(bin, "--config", cfg, "status")
	st.Env = env
	out, err := st.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "t/work") {
		t.Fatalf("vdird status against the daemon: %v\n%s", err, out)
	}

	second := exec.Command(bin, "--config", cfg, "daemon")
	second.Env = env
	start := time.Now()
	out, err = second.CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), "another vdird is using") || time.Since(start) > 5*time.Second {
		t.Fatalf("second daemon: exit %d after %v\n%s", code, time.Since(start), out)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("daemon did not exit within 5 s of SIGTERM")
	}
	sawStopping := false
	for len(msgs) > 0 {
		if strings.Contains(<-msgs, "STOPPING=1") {
			sawStopping = true
		}
	}
	if !sawStopping {
		t.Error("no STOPPING=1 on shutdown")
	}
	if strings.Contains(logs.String(), srv.Password) {
		t.Fatal("password in the daemon's log")
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
