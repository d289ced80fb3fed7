package ics

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspect_ValidEventAndTask(t *testing.T) {
	for name, tc := range map[string]struct{ data, uid, comp string }{
		"event":  {"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:abc\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "abc", "VEVENT"},
		"task":   {"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nUID:t1\nSUMMARY:x\nEND:VTODO\nEND:VCALENDAR\n", "t1", "VTODO"},
		"folded": {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:long-\r\n uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "long-uid", "VEVENT"},
		"override": {"BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:r\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n" +
			"BEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID:20250102T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "r", "VEVENT"},
	} {
		t.Run(name, func(t *testing.T) {
			info, err := Inspect([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if info.UID != tc.uid || info.Component != tc.comp {
				t.Fatalf("got %+v, want %s %s", info, tc.uid, tc.comp)
			}
		})
	}
}

func TestInspect_RejectsInvalid(t *testing.T) {
	for name, data := range map[string]string{
		"empty":         "",
		"not ical":      "hello world\n",
		"no uid":        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"two uids":      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"mixed":         "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
		"no item":       "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
		"two calendars": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"unterminated":  "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n",
		"vcard":         "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n",
		"deep":          "BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:X\r\n", 100000) + "END:VCALENDAR\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			if info, err := Inspect([]byte(data)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %+v, %v; want ErrInvalid", info, err)
			}
		})
	}
}

// TestInspect_NastyFiles runs every file in testdata/nasty: names starting
// with "ok-" must validate, all others must be refused, none may panic.
func TestInspect_NastyFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/nasty/*")
	if len(files) == 0 {
		t.Fatal("no testdata/nasty files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Inspect(data)
		if ok := strings.HasPrefix(filepath.Base(f), "ok-"); ok != (err == nil) {
			t.Errorf("%s: err = %v", f, err)
		}
	}
}

func TestReplaceUID_ChangesOnlyUIDLines(t *testing.T) {
	in := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:old-\r\n folded\r\nX-FOO:bar\r\nDESCRIPTION:UID:not a prop\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nuid;X=1:old-folded\r\nRECURRENCE-ID:20250101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	want := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:new\r\nX-FOO:bar\r\nDESCRIPTION:UID:not a prop\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:new\r\nRECURRENCE-ID:20250101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if got := string(ReplaceUID([]byte(in), "new")); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	info, err := Inspect(ReplaceUID([]byte(in), "new"))
	if err != nil || info.UID != "new" {
		t.Fatalf("%+v %v", info, err)
	}
}

func FuzzInspect(f *testing.F) {
	files, _ := filepath.Glob("testdata/nasty/*")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data)
		if err == nil && info.UID == "" {
			t.Fatal("valid object without UID")
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error not typed: %v", err)
		}
	})
}

func TestEquivalent_IgnoresFoldingOrderAndLineEndings(t *testing.T) {
	a := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:a long\r\n  value\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	b := []byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20250101T100000Z\nSUMMARY:a long value\nUID:x\nEND:VEVENT\nVERSION:2.0\nEND:VCALENDAR\n")
	if !Equivalent(a, b) {
		t.Fatal("reordered/refolded copy not equivalent")
	}
	c := []byte(strings.Replace(string(b), "a long value", "another value", 1))
	if Equivalent(a, c) {
		t.Fatal("changed value reported equivalent")
	}
	if Equivalent(a, append(b, "X-EXTRA:1\n"...)) {
		t.Fatal("extra line reported equivalent")
	}
}

func BenchmarkInspect(b *testing.B) {
	data := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:abc\r\nDTSTART:20250101T100000Z\r\nSUMMARY:" + strings.Repeat("x", 1000) + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Inspect(data); err != nil {
			b.Fatal(err)
		}
	}
}
