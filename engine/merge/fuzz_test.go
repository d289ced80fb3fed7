package merge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/ics"
)

// FuzzICal merges arbitrary versions. Seeds are real-world exports in
// testdata/fuzz and testdata (Outlook, Google, Apple, khal, todoman,
// Radicale; long folded lines, mixed line endings, many time zones), each
// with a local and a server edit. A merge never panics; when it succeeds its
// result is one valid item with the local UID, and against an unchanged
// server it is the local bytes.
func FuzzICal(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/*.ics")
	more, _ := filepath.Glob("testdata/*.ics")
	if len(seeds) == 0 || len(more) == 0 {
		f.Fatal("no seeds")
	}
	for _, path := range append(seeds, more...) {
		s, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s, s, s)
		f.Add(s, localEdit(s), serverEdit(s))
		f.Add(s, serverEdit(s), localEdit(s))
	}
	f.Fuzz(func(t *testing.T, base, local, remote []byte) {
		for _, policy := range []Policy{ServerWins, LocalWins} {
			res, err := ICal(base, local, remote, policy)
			if err != nil {
				if !errors.Is(err, ErrCannotMerge) {
					t.Fatalf("error %v does not wrap ErrCannotMerge", err)
				}
				continue
			}
			want, _ := ics.Inspect(local)
			if got, err := ics.Inspect(res.Data); err != nil || got.UID != want.UID {
				t.Fatalf("merged item invalid (%v) or UID %q, not %q:\n%q", err, got.UID, want.UID, res.Data)
			}
			if bytes.Equal(base, remote) && !bytes.Equal(res.Data, local) {
				t.Fatalf("merge against an unchanged server changed the local bytes:\n%q", res.Data)
			}
		}
	})
}

// localEdit changes a property's parameters and value the way an editor
// would, leaving every other byte.
func localEdit(s []byte) []byte {
	return []byte(strings.Replace(strings.Replace(string(s), "SUMMARY", "SUMMARY;LANGUAGE=pt", 1), "DTSTAMP:2026", "DTSTAMP:2027", 1))
}

// serverEdit re-serialises with LF line endings and adds a property and a
// comment to the first component that ends.
func serverEdit(s []byte) []byte {
	out := strings.ReplaceAll(string(s), "\r\n", "\n")
	if i := strings.Index(out, "\nEND:V"); i >= 0 {
		out = out[:i] + "\nCOMMENT:from the server\nX-SERVER:1" + out[i:]
	}
	return []byte(out)
}
