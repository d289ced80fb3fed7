package versions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the fake clock's start; tests move it by hand.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func event(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

// ver is a deleted-on-server version of item n of account acct at at.
func ver(acct string, n int, at time.Time) Version {
	uid := fmt.Sprintf("uid-%d", n)
	return Version{Meta: Meta{
		Account: acct, Collection: "/cal/" + acct + "/work/", Folder: "work", UID: uid,
		Href: "/cal/" + acct + "/work/" + uid + ".ics", File: uid + ".ics", Side: Local,
		Reason: DeletedOnServer, Pass: "p1", Time: at,
	}, Data: event(uid, fmt.Sprintf("Event %d", n))}
}

func open(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func list(t testing.TB, s *Store, f Filter) []Entry {
	t.Helper()
	es, err := s.List(f)
	must(t, err)
	return es
}

func uids(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.UID)
	}
	return out
}

func TestSaveListRead_RoundTrip_MetaAndBytesVerbatim(t *testing.T) {
	for name, v := range map[string]Version{
		"event with CRLF": ver("a", 1, t0),
		"any bytes": {Meta: Meta{Account: "a", Side: Server, Reason: OverwrittenByLocal, Time: t0},
			Data: []byte("\x00\xff\r\n\tnot an item\n%09%25\n")},
		"empty bytes": {Meta: Meta{Account: "a", Side: Local, Reason: Conflict, Time: t0}, Data: nil},
		"fields with tabs, newlines and percent signs": {Meta: Meta{
			Account: "a", Collection: "/c/%09 x\ty/", Folder: "f\nf", UID: "u\r\nid%25", Href: "/h\t",
			File: "ä.ics", Side: Server, Reason: "a caller's own reason", Pass: "pass\t7",
			Time: t0.In(time.FixedZone("X", 3600)), Summary: "given\tby the caller\n",
		}, Data: event("u", "ignored: the caller gave one")},
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t, t.TempDir(), DefaultOptions())
			must(t, s.Save(context.Background(), v))
			es := list(t, s, Filter{})
			if len(es) != 1 {
				t.Fatalf("listed %d, want 1", len(es))
			}
			want := v.Meta
			want.Time = v.Time.UTC()
			if want.Summary == "" {
				want.Summary = summaryOf(v.Data)
			}
			if es[0].Meta != want || es[0].Size != int64(len(v.Data)) {
				t.Fatalf("listed\n%+v\nwant\n%+v size %d", es[0], want, len(v.Data))
			}
			data, e, err := s.Read(es[0].ID)
			must(t, err)
			if !bytes.Equal(data, v.Data) || e != es[0] {
				t.Fatalf("read %q %+v, want %q %+v", data, e, v.Data, es[0])
			}
		})
	}
}

func TestSave_SummaryReadFromTheBytesWhenNotGiven(t *testing.T) {
	for name, tc := range map[string]struct{ data, want string }{
		"event": {string(event("u", "Dentist")), "Dentist"},
		"task":  {"BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nSUMMARY:Buy milk\nEND:VTODO\nEND:VCALENDAR\n", "Buy milk"},
		"folded and escaped": {"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY;LANGUAGE=en:Lunch\\, then\r\n  a walk\\; \\\\ok\\nbye\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			"Lunch, then a walk; \\ok bye"},
		"quoted colon in a parameter":  {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY;ALTREP=\"http://x/y\":Talk\nEND:VEVENT\nEND:VCALENDAR\n", "Talk"},
		"alarm before the event's own": {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nBEGIN:VALARM\nSUMMARY:Reminder mail\nEND:VALARM\nSUMMARY:Meeting\nEND:VEVENT\nEND:VCALENDAR\n", "Meeting"},
		"timezone first":               {"BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:X\nEND:VTIMEZONE\nBEGIN:VEVENT\nSUMMARY:After tz\nEND:VEVENT\nEND:VCALENDAR", "After tz"},
		"contact":                      {"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nUID:x\r\nEND:VCARD\r\n", "Ada Lovelace"},
		"none":                         {"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\nEND:VCALENDAR\n", ""},
		"not an item":                  {"\x00\x01SUMMARY:no", ""},
		"long":                         {"BEGIN:VEVENT\nSUMMARY:" + strings.Repeat("é", 150) + "\nEND:VEVENT\n", strings.Repeat("é", 100)},
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t, t.TempDir(), DefaultOptions())
			must(t, s.Save(context.Background(), Version{Meta: Meta{Account: "a", Side: Local, Reason: Conflict, Time: t0}, Data: []byte(tc.data)}))
			if got := list(t, s, Filter{})[0].Summary; got != tc.want {
				t.Fatalf("summary %q, want %q", got, tc.want)
			}
		})
	}
}

func TestList_FiltersAndNewestFirst(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	var vs []Version
	for i := range 6 { // uid-0 … uid-5, an hour apart, uid-5 newest
		v := ver("a", i, t0.Add(time.Duration(i)*time.Hour))
		if i%2 == 1 {
			v.Account, v.Collection, v.Folder, v.Pass = "b", "/cal/b/home/", "home", "p2"
		}
		vs = append(vs, v)
	}
	vs = append(vs, ver("a", 9, t0.Add(48*time.Hour))) // another day
	must(t, s.SaveBatch(context.Background(), vs))
	for name, tc := range map[string]struct {
		f    Filter
		want []string
	}{
		"all, newest first":    {Filter{}, []string{"uid-9", "uid-5", "uid-4", "uid-3", "uid-2", "uid-1", "uid-0"}},
		"account":              {Filter{Account: "b"}, []string{"uid-5", "uid-3", "uid-1"}},
		"collection href":      {Filter{Collection: "/cal/b/home/"}, []string{"uid-5", "uid-3", "uid-1"}},
		"collection folder":    {Filter{Collection: "work"}, []string{"uid-9", "uid-4", "uid-2", "uid-0"}},
		"uid":                  {Filter{UID: "uid-2"}, []string{"uid-2"}},
		"file":                 {Filter{File: "uid-4.ics"}, []string{"uid-4"}},
		"pass":                 {Filter{Pass: "p2"}, []string{"uid-5", "uid-3", "uid-1"}},
		"since, inclusive":     {Filter{Since: t0.Add(4 * time.Hour)}, []string{"uid-9", "uid-5", "uid-4"}},
		"until, exclusive":     {Filter{Until: t0.Add(2 * time.Hour)}, []string{"uid-1", "uid-0"}},
		"since a later day":    {Filter{Since: t0.Add(24 * time.Hour)}, []string{"uid-9"}},
		"since and account":    {Filter{Account: "a", Since: t0.Add(time.Hour)}, []string{"uid-9", "uid-4", "uid-2"}},
		"nothing matches":      {Filter{UID: "uid-2", Account: "b"}, nil},
		"time zones are times": {Filter{Since: t0.Add(5 * time.Hour).In(time.FixedZone("Y", -10*3600))}, []string{"uid-9", "uid-5"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := uids(list(t, s, tc.f)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestList_EqualTimes_LastSavedFirst(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	for i := range 4 {
		must(t, s.Save(context.Background(), ver("a", i, t0)))
	}
	if got := uids(list(t, s, Filter{})); !slices.Equal(got, []string{"uid-3", "uid-2", "uid-1", "uid-0"}) {
		t.Fatalf("got %v", got)
	}
}

func TestRead_UnknownOrMalformedID_ErrNotFound(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	must(t, s.Save(context.Background(), ver("a", 1, t0)))
	for _, id := range []string{"20250314T092653Z-0000000000", "../lock", "", "20250314T092653Z-00000000zz", "index"} {
		if _, _, err := s.Read(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Read(%q): %v, want ErrNotFound", id, err)
		}
	}
}

func TestSave_InvalidVersion_RefusedNamingTheItem(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	good := ver("a", 1, t0)
	for name, mut := range map[string]func(*Version){
		"no side":    func(v *Version) { v.Side = "" },
		"no reason":  func(v *Version) { v.Reason = "" },
		"no time":    func(v *Version) { v.Time = time.Time{} },
		"no account": func(v *Version) { v.Account = "" },
	} {
		t.Run(name, func(t *testing.T) {
			v := good
			mut(&v)
			err := s.Save(context.Background(), v)
			var se *SaveError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "work/uid-1.ics (UID uid-1)") {
				t.Fatalf("got %v, want a *SaveError naming the item", err)
			}
		})
	}
	if n := len(list(t, s, Filter{})); n != 0 {
		t.Fatalf("%d versions kept from invalid saves", n)
	}
}

func TestSaveBatch_OneInvalid_OthersKept(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	vs := []Version{ver("a", 0, t0), ver("a", 1, t0), ver("a", 2, t0)}
	vs[1].Side = "sideways"
	err := s.SaveBatch(context.Background(), vs)
	var be *BatchError
	if !errors.As(err, &be) || be.Errs[0] != nil || be.Errs[1] == nil || be.Errs[2] != nil {
		t.Fatalf("got %v", err)
	}
	if got := uids(list(t, s, Filter{})); !slices.Equal(got, []string{"uid-2", "uid-0"}) {
		t.Fatalf("kept %v", got)
	}
}

func TestStats_CountBytesOldestNewest(t *testing.T) {
	s := open(t, t.TempDir(), DefaultOptions())
	st, err := s.Stats()
	must(t, err)
	if st != (Stats{}) {
		t.Fatalf("empty store: %+v", st)
	}
	var size int64
	for i := range 3 {
		v := ver("a", i, t0.Add(time.Duration(i)*30*time.Hour))
		size += int64(len(v.Data))
		must(t, s.Save(context.Background(), v))
	}
	st, err = s.Stats()
	must(t, err)
	if st.Count != 3 || st.Bytes != size || !st.Oldest.Equal(t0) || !st.Newest.Equal(t0.Add(60*time.Hour)) {
		t.Fatalf("got %+v, want 3 versions, %d bytes, %v … %v", st, size, t0, t0.Add(60*time.Hour))
	}
}

func TestReason_Describe(t *testing.T) {
	for r, want := range map[Reason]string{
		DeletedOnServer:      "deleted on server",
		OverwrittenByLocal:   "overwritten by local edit",
		MassDeleteConfirmed:  "removed by mass-delete confirm",
		"moved-by-a-script":  "moved by a script",
		DeletedLocally:       "deleted locally, removed from server",
		OverwrittenByServer:  "overwritten by server change",
		Reason("conflict-x"): "conflict x",
	} {
		if got := r.Describe(); got != want {
			t.Errorf("%q: %q, want %q", r, got, want)
		}
	}
}

func TestOpen_NegativeRetention_Refused(t *testing.T) {
	for _, o := range []Options{
		{Retention: Retention{KeepFor: -time.Second}},
		{Retention: Retention{MaxBytes: -1}},
		{Accounts: map[string]Retention{"a": {KeepFor: -1}}},
	} {
		if _, err := Open(t.TempDir(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// dirFiles lists every file under dir, relative, but the lock file.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	must(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel != lockName {
			out = append(out, rel)
		}
		return nil
	}))
	return out
}
