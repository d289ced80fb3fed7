// Package khaltest runs the real khal over a folder of calendars in tests,
// with a locale fixed so that its output can be compared.
package khaltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
)

// Khal is khal configured on every calendar folder under one root.
type Khal struct {
	t    testing.TB
	bin  string
	conf string
}

// New configures khal on the folders under root (type = discover),
// read-only when readonly. A missing khal is testserver.Unavailable.
func New(t testing.TB, root string, readonly bool) *Khal {
	t.Helper()
	bin, err := exec.LookPath("khal")
	if err != nil {
		testserver.Unavailable(t, "khal not installed (apt-get install khal): %v", err)
	}
	dir := t.TempDir()
	ro := ""
	if readonly {
		ro = "readonly = True\n"
	}
	conf := filepath.Join(dir, "khal.conf")
	err = os.WriteFile(conf, []byte(fmt.Sprintf(`[calendars]
[[synced]]
path = %s/*
type = discover
%s[sqlite]
path = %s/khal.db
[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
default_timezone = UTC
local_timezone = UTC
`, root, ro, dir)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return &Khal{t: t, bin: bin, conf: conf}
}

// Run runs khal with args and returns what it printed; a failure fails
// the test.
func (k *Khal) Run(args ...string) string {
	k.t.Helper()
	out, err := exec.Command(k.bin, append([]string{"-c", k.conf}, args...)...).CombinedOutput()
	if err != nil {
		k.t.Fatalf("khal %v: %v\n%s", args, err, out)
	}
	return string(out)
}
