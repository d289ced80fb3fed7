package testserver

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// radicaleRights is owner_only, except that the owner's calendars named
// "readonly…" are read-only (RFC 3744 current-user-privilege-set then
// lacks write), for tests of read-only calendars. Create them with
// SeedCalendar: MKCALENDAR there is refused.
const radicaleRights = `[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[readonly]
user: .+
collection: {user}/readonly[^/]*
permissions: r

[calendars]
user: .+
collection: {user}/[^/]+
permissions: rw
`

// Seed writes a VEVENT calendar straight into the server's storage, below
// s.User's home, with n items: item(i) gives the file name and bytes of
// the ith. It returns the calendar's href. That is far quicker than n PUTs
// (Xandikos commits each PUT to git; here the items are one commit), and
// on Radicale it is the only way to make a read-only
// ("readonly…") calendar. The server may be running.
func (s *Server) Seed(name, displayName string, n int, item func(i int) (file string, data []byte)) (string, error) {
	return s.seed(false, name, displayName, n, item)
}

// SeedAddressBook is Seed for an address book of n vCards, below
// BookHomeHref.
func (s *Server) SeedAddressBook(name, displayName string, n int, item func(i int) (file string, data []byte)) (string, error) {
	return s.seed(true, name, displayName, n, item)
}

func (s *Server) seed(book bool, name, displayName string, n int, item func(i int) (file string, data []byte)) (string, error) {
	var dir, metaFile string
	var meta []byte
	home := s.HomeHref
	if book {
		home = s.BookHomeHref
	}
	switch s.Kind {
	case Radicale:
		dir = filepath.Join(s.Storage, "collections", "collection-root", s.User, name)
		metaFile = ".Radicale.props"
		props := map[string]string{"tag": "VCALENDAR", "D:displayname": displayName, "C:supported-calendar-component-set": "VEVENT"}
		if book {
			props = map[string]string{"tag": "VADDRESSBOOK", "D:displayname": displayName}
		}
		meta, _ = json.Marshal(props)
	case Xandikos:
		dir = filepath.Join(s.Storage, filepath.FromSlash(strings.Trim(home, "/")), name)
		metaFile = ".xandikos"
		kind := "calendar"
		if book {
			kind = "addressbook"
		}
		meta = []byte("[DEFAULT]\ntype = " + kind + "\ndisplayname = " + displayName + "\n")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("testserver: seed %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, metaFile), meta, 0o600); err != nil {
		return "", fmt.Errorf("testserver: seed %s: %w", name, err)
	}
	for i := 0; i < n; i++ {
		file, data := item(i)
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o600); err != nil {
			return "", fmt.Errorf("testserver: seed %s: %w", name, err)
		}
	}
	if s.Kind == Xandikos {
		if err := commitAll(dir); err != nil {
			return "", fmt.Errorf("testserver: seed %s: %w", name, err)
		}
	}
	return home + name + "/", nil
}

// commitAll makes dir a git repository holding everything in it in one
// commit: Xandikos keeps each collection so.
func commitAll(dir string) error {
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "seed"}} {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=testserver",
			"-c", "user.email=testserver@localhost", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// SeedCalendar is Seed for tests, with the items given as file name → bytes.
func (s *Server) SeedCalendar(t testing.TB, name, displayName string, items map[string][]byte) string {
	t.Helper()
	files := slices.Sorted(maps.Keys(items))
	href, err := s.Seed(name, displayName, len(files), func(i int) (string, []byte) { return files[i], items[files[i]] })
	if err != nil {
		t.Fatal(err)
	}
	return href
}
