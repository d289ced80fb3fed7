package conflictview

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdird/vdird/config"
)

const (
	event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:plan\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	card  = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann\r\nFN:%s\r\nN:Ann;;;;\r\nEND:VCARD\r\n"
)

// withConflict writes an item and a conflict copy of it that differs in one
// property into dir.
func withConflict(t *testing.T, dir, name, format string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for file, value := range map[string]string{name: "Server's", name + ".conflict-20261203T074233Z": "Mine"} {
		if err := os.WriteFile(filepath.Join(dir, file), fmt.Appendf(nil, format, value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestList_FirstColumnNamedByWhatTheConflictsAreIn: conflicts in calendars
// only head their column CALENDAR, in address books only ADDRESS BOOK, in
// both COLLECTION.
func TestList_FirstColumnNamedByWhatTheConflictsAreIn(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cals, books bool
		want        string
	}{
		{"Calendars", true, false, "CALENDAR"},
		{"AddressBooks", false, true, "ADDRESS BOOK"},
		{"Both", true, true, "COLLECTION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cals, books := filepath.Join(dir, "cals"), filepath.Join(dir, "books")
			toml := fmt.Sprintf("[[account]]\nname = \"t\"\nurl = \"http://127.0.0.1:1/\"\nsync = [\"calendars\", \"addressbooks\"]\nlocal_root = %q\ncontacts_root = %q\n", cals, books)
			cfg, err := config.Parse("config.toml", []byte(toml))
			if err != nil {
				t.Fatal(err)
			}
			if tc.cals {
				withConflict(t, filepath.Join(cals, "work"), "plan.ics", event)
			}
			if tc.books {
				withConflict(t, filepath.Join(books, "contacts"), "ann.vcf", card)
			}
			var out, errs bytes.Buffer
			if code := List(cfg, false, &out, &errs); code != 0 {
				t.Fatalf("code %d: %s", code, errs.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if head := strings.Fields(lines[0]); len(lines) != map[bool]int{true: 3, false: 2}[tc.cals && tc.books] ||
				strings.Join(head[:len(head)-4], " ") != tc.want {
				t.Errorf("want the first column %s:\n%s", tc.want, out.String())
			}
		})
	}
}
