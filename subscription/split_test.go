package subscription

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/ics"
)

func TestSplit_SameFeedSameBytes_LinesAsTheFeedWroteThemWithCRLF(t *testing.T) {
	lf := testdata(t, "uk-bank-holidays.ics") // LF line ends, as gov.uk serves it
	a, err := Split(lf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Split(bytes.Clone(lf))
	if len(a.Items) != 65 || len(b.Items) != 65 {
		t.Fatalf("%d and %d items, want 65", len(a.Items), len(b.Items))
	}
	for i := range a.Items {
		if a.Items[i].Name != b.Items[i].Name || !bytes.Equal(a.Items[i].Data, b.Items[i].Data) {
			t.Fatalf("item %d differs between two splits of the same feed", i)
		}
	}
	want := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//uk.gov/GOVUK calendars//EN\r\nCALSCALE:GREGORIAN\r\nBEGIN:VEVENT\r\n" +
		"DTEND;VALUE=DATE:20120103\r\nDTSTART;VALUE=DATE:20120102\r\nSUMMARY:New Year’s Day\r\nUID:ca6af7456b0088abad9a69f9f620f5ac-0@gov.uk\r\n" +
		"SEQUENCE:0\r\nDTSTAMP:20180806T114130Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	for _, it := range a.Items {
		if it.UID == "ca6af7456b0088abad9a69f9f620f5ac-0@gov.uk" && string(it.Data) != want {
			t.Fatalf("got\n%q\nwant\n%q", it.Data, want)
		}
	}
}

func TestSplit_ZonesOnlyWhereUsed_QuotedAndSpacedTZIDs(t *testing.T) {
	f, err := Split(testdata(t, "outlook-rooms.ics"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 3 || f.DisplayName != "Conference rooms" {
		t.Fatalf("%d items, name %q", len(f.Items), f.DisplayName)
	}
	for _, it := range f.Items {
		d := string(it.Data)
		w, g := strings.Contains(d, "TZID:W. Europe Standard Time"), strings.Contains(d, "TZID:GMT Standard Time")
		switch {
		case strings.Contains(d, "weekly planning"):
			if !w || g || strings.Count(d, "BEGIN:VEVENT") != 2 {
				t.Errorf("the weekly planning: want its two components and the W. Europe zone only:\n%s", d)
			}
		case strings.Contains(d, "board meeting"):
			if w || !g {
				t.Errorf("the board meeting: want the GMT zone only:\n%s", d)
			}
		default:
			if w || g {
				t.Errorf("an all-day event got a zone:\n%s", d)
			}
		}
	}
}

func TestSplit_UnusableComponents_ReportedTheirFilesHeld(t *testing.T) {
	feed := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:PUBLISH\r\n" +
		"BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20250101T100000Z\r\nSUMMARY:fine\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:broken\r\nDTSTART;X=\"unterminated:20250101T100000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nDTSTART:20250101T100000Z\r\nSUMMARY:no uid\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:mixed\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\n" +
		"BEGIN:VTODO\r\nUID:mixed\r\nSUMMARY:a task with the event's UID\r\nEND:VTODO\r\n" +
		"BEGIN:VFREEBUSY\r\nUID:fb\r\nEND:VFREEBUSY\r\n" +
		"END:VCALENDAR\r\n"
	f, err := Split([]byte(feed))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 2 || f.Items[0].UID != "good" || !strings.HasPrefix(f.Items[1].UID, "vdird-") {
		t.Fatalf("items %+v: want the good one and the one without UID, given one", f.Items)
	}
	if !f.Held[ItemName("broken")] || !f.Held[ItemName("mixed")] || f.Unreadable != 0 || len(f.Problems) != 2 {
		t.Fatalf("held %v, unreadable %d, problems %q", f.Held, f.Unreadable, f.Problems)
	}
	again, _ := Split([]byte(feed))
	if again.Items[1].UID != f.Items[1].UID {
		t.Fatal("the UID given to a component without one differs between two fetches")
	}
	// A component that cannot be read and shows no UID could be any item:
	// no file may be removed.
	f, _ = Split([]byte(strings.Replace(feed, "UID:broken\r\n", "", 1)))
	if f.Unreadable != 1 {
		t.Fatalf("unreadable %d, want 1", f.Unreadable)
	}
}

func TestSplit_FeedShapes(t *testing.T) {
	ev := "BEGIN:VEVENT\r\nUID:%s\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\n"
	one := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + strings.ReplaceAll(ev, "%s", "a") + "END:VCALENDAR\r\n"
	for name, tc := range map[string]struct {
		feed  string
		items int
		bad   string
	}{
		"byte order mark":          {"\xef\xbb\xbf" + one, 1, ""},
		"lower case, blank lines":  {strings.Replace(one, "BEGIN:VCALENDAR\r\n", "begin:vcalendar\r\n\r\n", 1), 1, ""},
		"two calendars":            {one + strings.ReplaceAll(one, "UID:a", "UID:b"), 2, ""},
		"no VERSION nor PRODID":    {"BEGIN:VCALENDAR\r\n" + strings.ReplaceAll(ev, "%s", "a") + "END:VCALENDAR\r\n", 1, ""},
		"no items":                 {"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", 0, ""},
		"text after the calendar":  {one + "<html>\r\n", 0, "follows END:VCALENDAR"},
		"cut after a component":    {strings.TrimSuffix(one, "END:VCALENDAR\r\n"), 0, "without END:VCALENDAR"},
		"component never closed":   {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VCALENDAR\r\n", 0, "END:VCALENDAR at line 4 where END:VEVENT belongs"},
		"nested too deep":          {"BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:X\r\n", 20) + strings.Repeat("END:X\r\n", 20) + "END:VCALENDAR\r\n", 0, "nested deeper"},
		"END of the calendar only": {"END:VCALENDAR\r\n", 0, "not BEGIN:VCALENDAR"},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Split([]byte(tc.feed))
			if tc.bad != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("err %v, want ErrMalformed saying %q", err, tc.bad)
				}
				return
			}
			if err != nil || len(f.Items) != tc.items {
				t.Fatalf("err %v, items %d; want %d", err, len(f.Items), tc.items)
			}
			for _, it := range f.Items {
				if _, err := ics.Inspect(it.Data); err != nil || !bytes.HasPrefix(it.Data, []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")) {
					t.Fatalf("item %s: %v\n%s", it.Name, err, it.Data)
				}
			}
		})
	}
}

func TestItemName_SafeUIDsAsTheyAreOthersHashed(t *testing.T) {
	for uid, want := range map[string]string{
		"20250101_abc@google.com": "20250101_abc@google.com.ics",
		"../../etc/passwd":        "",
		".hidden":                 "",
		"a/b":                     "",
		"x.ics.conflict-1":        "",
	} {
		got := ItemName(uid)
		if want != "" && got != want || want == "" && (!strings.HasPrefix(got, "h") || len(got) != 45 || filepath.Base(got) != got) {
			t.Errorf("ItemName(%q) = %q", uid, got)
		}
	}
	if ItemName("a") == ItemName("A") || ItemName("x") == ItemName("x.ics") {
		t.Error("distinct UIDs share a name")
	}
}

// FuzzSplit feeds nasty feeds to Split: it never panics; a feed it
// accepts gives items that are each one valid item named after its UID,
// names that differ, and the same bytes when split again.
func FuzzSplit(f *testing.F) {
	for _, name := range []string{"uk-bank-holidays.ics", "google-team.ics", "outlook-rooms.ics"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	nasty, _ := filepath.Glob("../internal/ics/testdata/nasty/*.ics")
	for _, p := range nasty {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	for _, s := range []string{
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n DTSTART;TZID=\"Z\r\n :1\r\nEND:VEVENT\r\nEND:VCALENDAR",
		"BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:Z\nEND:VTIMEZONE\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=Z:20250101T100000\nEND:VEVENT\nBEGIN:VEVENT\nUID:a\nRECURRENCE-ID;TZID=Z:20250101T100000\nEND:VEVENT\nEND:VCALENDAR\n",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"\xef\xbb\xbfbegin:vcalendar\r\nbegin:vtodo\r\nuid:x\r\nend:vtodo\r\nend:vcalendar\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := Split(data)
		if err != nil {
			return
		}
		again, err := Split(data)
		if err != nil || len(again.Items) != len(feed.Items) {
			t.Fatalf("second split: %v", err)
		}
		names := map[string]bool{}
		for i, it := range feed.Items {
			info, err := ics.Inspect(it.Data)
			if err != nil || info.UID != it.UID || it.Name != ItemName(it.UID) || names[it.Name] {
				t.Fatalf("item %q: %v (UID %q)\n%q", it.Name, err, info.UID, it.Data)
			}
			names[it.Name] = true
			if !bytes.Equal(again.Items[i].Data, it.Data) {
				t.Fatal("the same feed split twice gave other bytes")
			}
		}
	})
}
