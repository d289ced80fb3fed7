package vcard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestInspect_ValidCards_UIDKindAndVersion(t *testing.T) {
	for name, tc := range map[string]struct{ data, uid, kind, version string }{
		"3.0":         {"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nN:Ann;;;;\r\nUID:a\r\nEND:VCARD\r\n", "a", "individual", "3.0"},
		"4.0 urn uid": {"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bo\r\nUID:urn:uuid:b\r\nEND:VCARD\r\n", "urn:uuid:b", "individual", "4.0"},
		"4.0 group":   {"BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:G\r\nMEMBER:urn:uuid:b\r\nUID:g\r\nEND:VCARD\r\n", "g", "group", "4.0"},
		"apple group": {"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:G\r\nX-ADDRESSBOOKSERVER-KIND:GROUP\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:b\r\nUID:g\r\nEND:VCARD\r\n", "g", "group", "3.0"},
		"without N":   {"BEGIN:VCARD\nVERSION:3.0\nFN:Shop\nUID:s\nEND:VCARD\n", "s", "individual", "3.0"},
		"folded uid":  {"BEGIN:VCARD\r\nUID:long-\r\n uid\r\nEND:VCARD\r\n", "long-uid", "individual", ""},
	} {
		t.Run(name, func(t *testing.T) {
			info, err := Inspect([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if info.UID != tc.uid || info.Kind != tc.kind || info.Version != tc.version {
				t.Fatalf("got %+v, want %s %s %s", info, tc.uid, tc.kind, tc.version)
			}
		})
	}
}

func TestInspect_RejectsInvalid(t *testing.T) {
	for name, data := range map[string]string{
		"empty":          "",
		"not a vcard":    "hello world\n",
		"no uid":         "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n",
		"two cards":      "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nUID:b\r\nEND:VCARD\r\n",
		"two uids":       "BEGIN:VCARD\r\nUID:a\r\nUID:b\r\nEND:VCARD\r\n",
		"unterminated":   "BEGIN:VCARD\r\nUID:a\r\n",
		"text before":    "Contact:\r\nBEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n",
		"text after":     "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\nthanks\r\n",
		"icalendar":      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"wrong end":      "BEGIN:VCARD\r\nUID:a\r\nEND:VCALENDAR\r\n",
		"over the limit": "BEGIN:VCARD\r\nUID:a\r\nNOTE:" + strings.Repeat("x", MaxSize) + "\r\nEND:VCARD\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			if info, err := Inspect([]byte(data)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %+v, %v; want ErrInvalid", info, err)
			}
		})
	}
}

// TestInspect_NastyCards runs every file in testdata/nasty, cards as
// phones, Apple, Google and old exports write them: names starting with
// "ok-" must validate, all others must be refused, none may panic.
func TestInspect_NastyCards(t *testing.T) {
	files, _ := filepath.Glob("testdata/nasty/*")
	if len(files) < 10 {
		t.Fatalf("only %d testdata/nasty files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Inspect(data)
		if ok := strings.HasPrefix(filepath.Base(f), "ok-"); ok != (err == nil) {
			t.Errorf("%s: %+v, err = %v", f, info, err)
		}
	}
}

func TestInspect_NeverChangesItsInput(t *testing.T) {
	data := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nNOTE:a\\, b\r\nUID:a\r\nEND:VCARD\r\n")
	before := bytes.Clone(data)
	if _, err := Inspect(data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, before) {
		t.Fatal("Inspect changed its input")
	}
}

func TestEquivalent_LineEndingsFoldingAndPropertyOrder(t *testing.T) {
	crlf := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:Ann Example\r\nNOTE:a long note that a client fo\r\n lded\r\nEMAIL;TYPE=HOME;TYPE=INTERNET:ann@example.org\r\nEND:VCARD\r\n")
	lf := []byte("BEGIN:VCARD\nVERSION:3.0\nUID:a\nFN:Ann Example\nNOTE:a long note that a client folded\nEMAIL;TYPE=HOME;TYPE=INTERNET:ann@example.org\nEND:VCARD\n")
	// Radicale's layout: properties reordered, parameters reordered.
	radicale := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL;TYPE=INTERNET;TYPE=HOME:ann@example.org\r\nFN:Ann Example\r\nNOTE:a long note that a client folded\r\nUID:a\r\nEND:VCARD\r\n")
	for name, other := range map[string][]byte{"LF": lf, "reordered": radicale} {
		if !Equivalent(crlf, other) {
			t.Errorf("%s: not equivalent", name)
		}
	}
	edited := bytes.Replace(lf, []byte("ann@example.org"), []byte("ann@example.net"), 1)
	if Equivalent(crlf, edited) {
		t.Fatal("an edited e-mail address reported equivalent")
	}
}

func TestReplaceUID_NewContactStillValid(t *testing.T) {
	in := []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nUID:urn:uuid:\r\n old\r\nNOTE:UID:not a property\r\nEND:VCARD\r\n")
	out := ReplaceUID(in, "new")
	want := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nUID:new\r\nNOTE:UID:not a property\r\nEND:VCARD\r\n"
	if string(out) != want {
		t.Fatalf("got %q", out)
	}
	if info, err := Inspect(out); err != nil || info.UID != "new" {
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
		if err == nil && strings.TrimSpace(info.UID) == "" {
			t.Fatal("valid card without UID")
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error not typed: %v", err)
		}
		if err == nil && !Equivalent(data, bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))) {
			t.Fatal("a valid card is not equivalent to itself with LF line endings")
		}
	})
}

// A card with a photo of a megabyte, its UID after the photo: read
// without copying the photo around (the decoder would copy it several
// times over), and the UID found all the same.
func TestInspect_BigPhoto_UIDReadWithoutCopyingThePhoto(t *testing.T) {
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Pat\r\nitem1.PHOTO;ENCODING=b;TYPE=JPEG:")
	photo := strings.Repeat("QUJDREVGR0g", 100000)
	for i := 0; i < len(photo); i += 74 {
		if i > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString(photo[i:min(i+74, len(photo))])
	}
	b.WriteString("\r\nLOGO;VALUE=uri:data:image/png;base64," + strings.Repeat("A", 200000) + "\r\nUID:pat\r\nEND:VCARD\r\n")
	data := []byte(b.String())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	info, err := Inspect(data)
	runtime.ReadMemStats(&after)
	if err != nil || info.UID != "pat" {
		t.Fatalf("%+v %v", info, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(data))/4 {
		t.Errorf("Inspect of a %d-byte card allocated %d bytes", len(data), alloc)
	}
}
