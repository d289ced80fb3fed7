package engine

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/testserver"
)

// The vdirsyncer fixture, testdata/vdirsyncer, one folder per calendar of
// the test account (events, tasks) on each side:
//
//   - server/ is what a phone put on the server: a recurring event with a
//     time zone, exceptions and two moved occurrences, an event with two
//     alarms, one with long folded lines in several scripts, an all-day
//     event, and a task with an alarm;
//   - folder/ is what vdirsyncer wrote after syncing those from Radicale:
//     the server's items in Radicale's layout but with LF line endings,
//     named after their UID, or a random UUID where the UID holds a
//     character vdirsyncer keeps out of file names.
//
// TestVdirsyncerFixture_IsWhatVdirsyncerWrites runs vdirsyncer to show
// that folder/ is its output.
const vdirsyncerFixture = "testdata/vdirsyncer"

// fixtureFiles reads the fixture's files of side ("server" or "folder")
// for calendar folder cal, by file name.
func fixtureFiles(t *testing.T, side, cal string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(vdirsyncerFixture, side, cal)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, en := range ents {
		b, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[en.Name()] = b
	}
	return out
}

// seedFixtureServer puts the fixture's server items on e's server, each at
// its file name in its calendar.
func (e *env) seedFixtureServer() {
	e.t.Helper()
	for _, cal := range []string{e.Events, e.Tasks} {
		for name, data := range fixtureFiles(e.t, "server", calDir(cal)) {
			e.Srv.Put(e.t, cal+name, data)
		}
	}
}

// runVdirsyncer syncs every calendar of e's account into a filesystem
// storage at root with the real vdirsyncer (Debian package), as its
// documentation sets it up: discover, then sync.
func runVdirsyncer(t *testing.T, e *env, root string) {
	t.Helper()
	testserver.Need(t, "vdirsyncer")
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[general]
status_path = %q

[pair calendars]
a = "server"
b = "folder"
collections = ["from a"]

[storage server]
type = "caldav"
url = %q
username = %q
password = %q

[storage folder]
type = "filesystem"
path = %q
fileext = ".ics"
`, filepath.Join(dir, "status")+"/", e.Srv.URL, e.Srv.User, e.Srv.Password, root+"/")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"discover", "sync"} {
		c := exec.Command("vdirsyncer", "-c", conf, cmd)
		c.Env = append(os.Environ(), "HOME="+dir)
		c.Stdin = strings.NewReader(strings.Repeat("y\n", 10)) // discover asks before making each local folder
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("vdirsyncer %s: %v\n%s", cmd, err, out)
		}
	}
}

// byUID maps the UID of each item file in files to its name and bytes.
func byUID(t *testing.T, files map[string][]byte) map[string]namedFile {
	t.Helper()
	out := map[string]namedFile{}
	for name, data := range files {
		info, err := ics.Inspect(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[info.UID] = namedFile{name, data}
	}
	return out
}

type namedFile struct {
	name string
	data []byte
}

var uuidName = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.ics$`)

// TestVdirsyncerFixture_IsWhatVdirsyncerWrites syncs the fixture's server
// items from a real Radicale with the real vdirsyncer and compares what it
// wrote with the fixture's folder, byte for byte: the same items, each
// under its UID or a random UUID.
func TestVdirsyncerFixture_IsWhatVdirsyncerWrites(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.seedFixtureServer()
	root := t.TempDir()
	runVdirsyncer(t, e, root)
	for _, cal := range []string{"events", "tasks"} {
		want := byUID(t, fixtureFiles(t, "folder", cal))
		gotFiles := map[string][]byte{}
		ents, err := os.ReadDir(filepath.Join(root, cal))
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range ents {
			b, err := os.ReadFile(filepath.Join(root, cal, en.Name()))
			if err != nil {
				t.Fatal(err)
			}
			gotFiles[en.Name()] = b
		}
		got := byUID(t, gotFiles)
		if len(got) != len(want) {
			t.Errorf("%s: vdirsyncer wrote %d items, the fixture holds %d", cal, len(got), len(want))
		}
		for uid, w := range want {
			g, ok := got[uid]
			switch {
			case !ok:
				t.Errorf("%s: vdirsyncer wrote no file for %s", cal, uid)
			case !bytes.Equal(g.data, w.data):
				t.Errorf("%s: %s differs from the fixture's %s:\n%s", cal, g.name, w.name, g.data)
			case g.name != w.name && !(uuidName.MatchString(g.name) && uuidName.MatchString(w.name)):
				t.Errorf("%s: %s named %s, the fixture names it %s", cal, uid, g.name, w.name)
			}
		}
	}
}
