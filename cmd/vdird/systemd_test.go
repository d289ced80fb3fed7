package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
)

// TestSystemdUnit_VerifyIsClean runs systemd-analyze verify on the shipped
// unit with ExecStart pointing at a freshly built binary.
func TestSystemdUnit_VerifyIsClean(t *testing.T) {
	testserver.Need(t, "systemd-analyze")
	dir := t.TempDir()
	bin := filepath.Join(dir, "vdird")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("../../systemd/vdird.service")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(unit), "ExecStart=%h/.local/bin/vdird", "ExecStart="+bin, 1)
	if text == string(unit) {
		t.Fatal("ExecStart line not found in the unit")
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "ExecReload=", "ProtectSystem=strict"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	path := filepath.Join(dir, "vdird.service")
	os.WriteFile(path, []byte(text), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
