package subscription

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/vdir"
)

// itemFiles returns the .ics files of a folder state.
func itemFiles(st map[string]fileState) map[string]fileState {
	out := map[string]fileState{}
	for n, f := range st {
		if strings.HasSuffix(n, ".ics") {
			out[n] = f
		}
	}
	return out
}

func TestSync_FirstFetch_OneValidFilePerUIDWithItsZones(t *testing.T) {
	feed := testdata(t, "google-team.ics")
	srv := newFeedServer(t, feed)
	sub := testSub(t, srv.URL+"/team.ics")
	res := syncOK(t, sub, Options{})
	if res.Added != 4 || res.Updated != 0 || res.Removed != 0 {
		t.Fatalf("added %d updated %d removed %d; want 4 files added", res.Added, res.Updated, res.Removed)
	}
	st := folder(t, sub.Dir)
	files := itemFiles(st)
	uids := map[string]bool{}
	for name, f := range files {
		info, err := ics.Inspect([]byte(f.data))
		if err != nil {
			t.Fatalf("%s is not one valid item: %v\n%s", name, err, f.data)
		}
		if name != ItemName(info.UID) || uids[info.UID] {
			t.Fatalf("%s holds UID %s: want one file per UID, named after it", name, info.UID)
		}
		uids[info.UID] = true
	}
	standup := files["5k2j9h8g7f6d5s4a3q2w1e0r9t@google.com.ics"].data
	if strings.Count(standup, "BEGIN:VEVENT") != 3 || !strings.Contains(standup, "SUMMARY:Standup (late)") ||
		!strings.Contains(standup, "TZID:Europe/Berlin") || strings.Contains(standup, "TZID:America/New_York") {
		t.Errorf("the series: want the master and both overrides with the Berlin zone only:\n%s", standup)
	}
	review := files["1a2b3c4d5e6f7g8h9i0j1k2l3m@google.com.ics"].data
	if !strings.Contains(review, "TZID:America/New_York") || strings.Contains(review, "TZID:Europe/Berlin\r\n") {
		t.Errorf("the New York event: want the New York zone only:\n%s", review)
	}
	if utc := files["z9x8c7v6b5n4m3l2k1j0h9g8f7@google.com.ics"].data; strings.Contains(utc, "VTIMEZONE") {
		t.Errorf("an event in UTC got a zone:\n%s", utc)
	}
	for name, f := range files {
		if strings.Contains(f.data, "METHOD:") || strings.Contains(f.data, "X-WR-CALNAME") || !strings.Contains(f.data, "PRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n") {
			t.Errorf("%s: want the feed's PRODID, and neither METHOD nor the calendar's name:\n%s", name, f.data)
		}
	}
	if st["displayname"].data != "Team calendar" {
		t.Errorf("displayname %q, want the feed's X-WR-CALNAME", st["displayname"].data)
	}
}

func TestSync_SameFeedFromAServerWithoutValidators_NothingRewritten(t *testing.T) {
	srv := newFeedServer(t, testdata(t, "uk-bank-holidays.ics"))
	srv.noValidators = true
	sub := testSub(t, srv.URL+"/england-and-wales.ics")
	syncOK(t, sub, Options{})
	before := folder(t, sub.Dir)
	if len(itemFiles(before)) != 65 {
		t.Fatalf("%d files, want the 65 holidays", len(itemFiles(before)))
	}
	res := syncOK(t, sub, Options{})
	if all, cond := srv.counts(); all != 2 || cond != 0 {
		t.Fatalf("%d requests, %d conditional; want 2 plain GETs from a server that gives no validators", all, cond)
	}
	if !res.Unchanged || res.NotModified || res.Added+res.Updated+res.Removed != 0 {
		t.Fatalf("result %+v: want unchanged", res)
	}
	if after := folder(t, sub.Dir); !maps.Equal(before, after) {
		t.Fatal("files rewritten (content, mtime or inode changed) though the feed is the same")
	}
}

func TestSync_NotModified_OneConditionalRequestNothingWritten(t *testing.T) {
	srv := newFeedServer(t, testdata(t, "google-team.ics"))
	sub := testSub(t, srv.URL+"/team.ics")
	syncOK(t, sub, Options{})
	before := folder(t, sub.Dir)
	res := syncOK(t, sub, Options{})
	if all, cond := srv.counts(); all != 2 || cond != 1 {
		t.Fatalf("%d requests, %d conditional; want the second fetch to be one conditional GET", all, cond)
	}
	if !res.NotModified || !res.Unchanged {
		t.Fatalf("result %+v: want not modified", res)
	}
	if after := folder(t, sub.Dir); !maps.Equal(before, after) {
		t.Fatal("a 304 changed the folder")
	}
	st, err := StatusOf(sub)
	if err != nil || st.Items != 4 || st.LastFetch.IsZero() || st.Failing() {
		t.Fatalf("status %+v, %v", st, err)
	}
}

func TestSync_ChangedFeed_OnlyChangedFilesRewritten(t *testing.T) {
	feed := testdata(t, "google-team.ics")
	srv := newFeedServer(t, feed)
	sub := testSub(t, srv.URL+"/team.ics")
	syncOK(t, sub, Options{})
	before := folder(t, sub.Dir)

	changed := bytes.Replace(feed, []byte("SUMMARY:Client review (NYC)"), []byte("SUMMARY:Client review (NYC, moved to room 5)"), 1)
	changed = removeEvent(t, changed, "UID:z9x8c7v6b5n4m3l2k1j0h9g8f7@google.com")
	changed = bytes.Replace(changed, []byte("END:VCALENDAR"), []byte("BEGIN:VEVENT\r\nDTSTART:20250401T090000Z\r\nDTEND:20250401T100000Z\r\nDTSTAMP:20250401T080000Z\r\nUID:new-one@google.com\r\nSUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR"), 1)
	srv.set(changed)
	res := syncOK(t, sub, Options{})
	if res.Added != 1 || res.Updated != 1 || res.Removed != 1 {
		t.Fatalf("added %d updated %d removed %d; want 1 each", res.Added, res.Updated, res.Removed)
	}
	after := folder(t, sub.Dir)
	for name, f := range before {
		switch name {
		case "1a2b3c4d5e6f7g8h9i0j1k2l3m@google.com.ics":
			if !strings.Contains(after[name].data, "moved to room 5") {
				t.Errorf("the changed event was not rewritten:\n%s", after[name].data)
			}
		case "z9x8c7v6b5n4m3l2k1j0h9g8f7@google.com.ics":
			if _, ok := after[name]; ok {
				t.Errorf("the event gone from the feed is still there")
			}
		default:
			if after[name] != f {
				t.Errorf("%s rewritten (content, mtime or inode changed) though its item did not change", name)
			}
		}
	}
	if !strings.Contains(after["new-one@google.com.ics"].data, "SUMMARY:Planning") {
		t.Error("the new event was not written")
	}
}

// removeEvent returns feed without the VEVENT holding the line uidLine.
func removeEvent(t *testing.T, feed []byte, uidLine string) []byte {
	t.Helper()
	i := bytes.Index(feed, []byte(uidLine))
	start := bytes.LastIndex(feed[:i], []byte("BEGIN:VEVENT"))
	end := i + bytes.Index(feed[i:], []byte("END:VEVENT\r\n")) + len("END:VEVENT\r\n")
	if i < 0 || start < 0 || end < i {
		t.Fatalf("no event with %s", uidLine)
	}
	return append(slices.Clone(feed[:start]), feed[end:]...)
}

func TestSync_MalformedFeed_NothingChangesOneClearError(t *testing.T) {
	good := testdata(t, "google-team.ics")
	cases := map[string]struct {
		body   []byte
		status int
		want   string
	}{
		"HTML error page with 200": {[]byte("<!DOCTYPE html>\n<html><body>Service temporarily unavailable</body></html>\n"), 200, `it begins with "<!DOCTYPE html>"`},
		"cut off":                  {good[:len(good)/2], 200, "without END:VCALENDAR"},
		"JSON":                     {[]byte(`{"error": "quota"}`), 200, "not BEGIN:VCALENDAR"},
		"empty":                    {nil, 200, "empty"},
		"mismatched END":           {bytes.Replace(good, []byte("END:VALARM"), []byte("END:VEVENT"), 1), 200, "END:VEVENT at line"},
		"not found":                {nil, 404, "404 Not Found"},
		"server error":             {nil, 500, "500 Internal Server Error"},
		"huge":                     {nil, -1, "larger than 64 MiB"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newFeedServer(t, good)
			sub := testSub(t, srv.URL+"/team.ics")
			syncOK(t, sub, Options{})
			before := folder(t, sub.Dir)
			srv.handler = func(w http.ResponseWriter, r *http.Request) {
				switch tc.status {
				case -1:
					chunk := bytes.Repeat([]byte("X-FILLER:0123456789abcdef\r\n"), 4096)
					_, _ = w.Write([]byte("BEGIN:VCALENDAR\r\n"))
					for n := 0; n <= MaxFeedBytes; n += len(chunk) {
						if _, err := w.Write(chunk); err != nil {
							return
						}
					}
				case 200:
					_, _ = w.Write(tc.body)
				default:
					http.Error(w, "no", tc.status)
				}
			}
			res := Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
			if res.Err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			msg := res.Err.Error()
			if !strings.Contains(msg, "subscription feed, "+srv.URL+"/team.ics: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q: want it to name the subscription and the URL, and say %q", msg, tc.want)
			}
			if after := folder(t, sub.Dir); !maps.Equal(before, after) {
				t.Error("a bad answer changed the folder")
			}
			st, _ := StatusOf(sub)
			if st.LastError != msg || st.Items != 4 {
				t.Errorf("status %+v: want the error and the 4 items", st)
			}
		})
	}
}

func TestSync_ItemRemovedFromFeed_FileGone(t *testing.T) {
	feed := testdata(t, "outlook-rooms.ics")
	srv := newFeedServer(t, feed)
	sub := testSub(t, srv.URL+"/rooms.ics")
	syncOK(t, sub, Options{})
	board := ItemName("040000008200E00074C5B7101A82E00800000000B2C3D4E5F6A7DB01000000000000000010000000A0B1C2D3E4F5061728394A5B6C7D8E9F")
	if _, err := os.Stat(filepath.Join(sub.Dir, board)); err != nil {
		t.Fatal(err)
	}
	srv.set(removeEvent(t, feed, "SUMMARY:Room L1 - board meeting"))
	res := syncOK(t, sub, Options{})
	if res.Removed != 1 || res.Added+res.Updated != 0 {
		t.Fatalf("result %+v: want one file removed", res)
	}
	if _, err := os.Stat(filepath.Join(sub.Dir, board)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the board meeting's file: %v; want it gone", err)
	}
	if n := len(itemFiles(folder(t, sub.Dir))); n != 2 {
		t.Fatalf("%d files left, want 2", n)
	}
}

func TestSync_LocalEdit_ReportedAndKeptThenKeptAsConflictCopyWhenTheFeedChangesIt(t *testing.T) {
	feed := testdata(t, "google-team.ics")
	srv := newFeedServer(t, feed)
	sub := testSub(t, srv.URL+"/team.ics")
	syncOK(t, sub, Options{})
	name := "0p9o8i7u6y5t4r3e2w1q0a9s8d@google.com.ics"
	path := filepath.Join(sub.Dir, name)
	data, _ := os.ReadFile(path)
	edited := bytes.Replace(data, []byte("LOCATION:Lisbon"), []byte("LOCATION:Porto"), 1)
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}

	// The feed has not changed: the edit stays, reported every time.
	for range 2 {
		res := syncOK(t, sub, Options{})
		if len(res.Local) != 1 || !strings.Contains(res.Local[0], name+" was edited here: kept, never uploaded") {
			t.Fatalf("local %q: want the edit reported", res.Local)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, edited) {
			t.Fatal("the local edit was overwritten though the feed did not change the item")
		}
	}
	if all, cond := srv.counts(); all != 3 || cond != 2 {
		t.Fatalf("%d requests, %d conditional: a local edit needs no download", all, cond)
	}

	// The feed changes the item: its version wins, the edit is kept.
	srv.set(bytes.Replace(feed, []byte("LOCATION:Lisbon"), []byte("LOCATION:Lisbon\\, Alfama"), 1))
	res := syncOK(t, sub, Options{})
	if res.Updated != 1 || len(res.ConflictCopies) != 1 || !strings.HasPrefix(res.ConflictCopies[0], name+".conflict-") {
		t.Fatalf("result %+v: want the file updated and one conflict copy", res)
	}
	if got, _ := os.ReadFile(path); !bytes.Contains(got, []byte("LOCATION:Lisbon\\, Alfama")) {
		t.Fatalf("the feed's new version was not written:\n%s", got)
	}
	if copyData, _ := os.ReadFile(filepath.Join(sub.Dir, res.ConflictCopies[0])); !bytes.Equal(copyData, edited) {
		t.Fatal("the conflict copy does not hold the local edit")
	}
	if res := syncOK(t, sub, Options{}); len(res.Local) != 0 || !res.Unchanged {
		t.Fatalf("after the conflict: %+v, want nothing left to report", res)
	}
}

func TestSync_LocalDeletionAndForeignFile_DeletedOneWrittenAgainForeignOneLeftAlone(t *testing.T) {
	srv := newFeedServer(t, testdata(t, "outlook-rooms.ics"))
	sub := testSub(t, srv.URL+"/rooms.ics")
	syncOK(t, sub, Options{})
	before := itemFiles(folder(t, sub.Dir))
	victim := slices.Sorted(maps.Keys(before))[0]
	os.Remove(filepath.Join(sub.Dir, victim))
	foreign := fmt.Sprintf(ev, "mine", "My own event")
	os.WriteFile(filepath.Join(sub.Dir, "mine.ics"), []byte(foreign), 0o600)

	res := syncOK(t, sub, Options{})
	if res.Added != 1 || len(res.Local) != 2 {
		t.Fatalf("result %+v: want the deleted file written again and two local reports", res)
	}
	if all, cond := srv.counts(); all != 2 || cond != 0 {
		t.Fatalf("%d requests, %d conditional: a deleted file needs the whole feed", all, cond)
	}
	after := itemFiles(folder(t, sub.Dir))
	if after[victim].data != before[victim].data || after["mine.ics"].data != foreign {
		t.Fatal("want the deleted file back as the feed has it, and the foreign file untouched")
	}
	for _, l := range res.Local {
		if !strings.Contains(l, victim+" was deleted here: written again") && !strings.Contains(l, "mine.ics is not from the feed: left alone") {
			t.Errorf("local report %q", l)
		}
	}
}

const ev = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// feedOf is a feed of n events with UIDs e0…e(n-1).
func feedOf(n int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n")
	for i := range n {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:e%d\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:Event %d\r\nEND:VEVENT\r\n", i, i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func TestSync_Guards_EmptyFeedAndMassRemovalRefusedUntilConfirmed(t *testing.T) {
	for name, tc := range map[string]struct {
		next []byte
		want string
	}{
		"empty feed":   {feedOf(0), "the feed lists no items but 20 were fetched before"},
		"mass removal": {feedOf(4), "16 of 20 items are gone from the feed"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFeedServer(t, feedOf(20))
			sub := testSub(t, srv.URL+"/f.ics")
			syncOK(t, sub, Options{MaxDeleteFraction: 0.5, MaxDeleteMin: 5})
			before := folder(t, sub.Dir)
			srv.set(tc.next)
			res := Sync(t.Context(), sub, Options{MaxDeleteFraction: 0.5, MaxDeleteMin: 5, Log: zerolog.Nop()})
			if !strings.Contains(res.Refused, tc.want) || !strings.Contains(res.Refused, "--allow-mass-delete") {
				t.Fatalf("refused %q, err %v: want %q", res.Refused, res.Err, tc.want)
			}
			if after := folder(t, sub.Dir); !maps.Equal(before, after) {
				t.Fatal("a refused fetch changed the folder")
			}
			if st, _ := StatusOf(sub); st.Refused != res.Refused {
				t.Fatalf("status refused %q", st.Refused)
			}
			syncOK(t, sub, Options{AllowMassDelete: true})
			if got, want := len(itemFiles(folder(t, sub.Dir))), bytes.Count(tc.next, []byte("BEGIN:VEVENT")); got != want {
				t.Fatalf("confirmed: %d files left, want %d", got, want)
			}
			if st, _ := StatusOf(sub); st.Refused != "" {
				t.Fatalf("status still refused after the confirmed fetch: %q", st.Refused)
			}
		})
	}
}

func TestSync_FolderGone_RefusedNothingMadeInItsPlace(t *testing.T) {
	srv := newFeedServer(t, feedOf(3))
	sub := testSub(t, srv.URL+"/f.ics")
	syncOK(t, sub, Options{})
	if err := os.RemoveAll(sub.Dir); err != nil {
		t.Fatal(err)
	}
	res := Sync(t.Context(), sub, Options{AllowMassDelete: true, Log: zerolog.Nop()})
	if !strings.Contains(res.Refused, "missing") {
		t.Fatalf("refused %q, err %v: want the missing folder refused", res.Refused, res.Err)
	}
	if _, err := os.Stat(sub.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a folder was made in place of the missing one")
	}
	os.Mkdir(sub.Dir, 0o700)
	if res := syncOK(t, sub, Options{}); res.Added != 3 {
		t.Fatalf("into the folder made again: %+v, want the 3 files written", res)
	}
}

func TestSync_CrashAfterWritesBeforeTheRecord_OwnFilesNotTakenForEdits(t *testing.T) {
	feed := feedOf(3)
	srv := newFeedServer(t, feed)
	sub := testSub(t, srv.URL+"/f.ics")
	syncOK(t, sub, Options{})
	old, err := os.ReadFile(sub.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.ReplaceAll(feed, []byte("SUMMARY:Event"), []byte("SUMMARY:Meeting"))
	srv.set(changed)
	syncOK(t, sub, Options{})
	// The state a crash between the writes and the final record leaves:
	// the files written, the record as announced before them.
	rec := &record{}
	if err := json.Unmarshal(old, rec); err != nil {
		t.Fatal(err)
	}
	split, _ := Split(changed)
	for _, it := range split.Items {
		rec.Items[it.Name].Next = vdir.Hash(it.Data)
	}
	if err := rec.save(sub.StateFile); err != nil {
		t.Fatal(err)
	}
	// The feed changes once more before the next fetch: the files of the
	// interrupted fetch are replaced as vdird's own, not kept as edits.
	srv.set(bytes.ReplaceAll(feed, []byte("SUMMARY:Event"), []byte("SUMMARY:Workshop")))
	res := syncOK(t, sub, Options{})
	if len(res.ConflictCopies) != 0 || len(res.Local) != 0 || res.Updated != 3 {
		t.Fatalf("result %+v: want vdird's own writes recognised and updated, no conflict copy", res)
	}
}

func TestSync_DryRun_PlansAndWritesNothing(t *testing.T) {
	srv := newFeedServer(t, feedOf(3))
	sub := testSub(t, srv.URL+"/f.ics")
	res := syncOK(t, sub, Options{DryRun: true})
	if len(res.Planned) != 3 || res.Planned[0].Kind != "add" {
		t.Fatalf("planned %+v, want 3 adds", res.Planned)
	}
	for _, p := range []string{sub.Dir, sub.StateFile} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a dry run made %s", p)
		}
	}
}

func TestSync_ColourFromTheFeed_WrittenAsRGB(t *testing.T) {
	feed := bytes.Replace(feedOf(1), []byte("PRODID:-//t//EN\r\n"), []byte("PRODID:-//Apple Inc.//iCloud 2.0//EN\r\nX-WR-CALNAME:Family\r\nX-APPLE-CALENDAR-COLOR:#FF2968FF\r\n"), 1)
	srv := newFeedServer(t, feed)
	sub := testSub(t, srv.URL+"/f.ics")
	syncOK(t, sub, Options{})
	st := folder(t, sub.Dir)
	if st["color"].data != "#FF2968" || st["displayname"].data != "Family" {
		t.Fatalf("color %q, displayname %q", st["color"].data, st["displayname"].data)
	}
}

func TestSync_LocalEditOfAnItemGoneFromTheFeed_KeptAsConflictCopy(t *testing.T) {
	srv := newFeedServer(t, feedOf(3))
	sub := testSub(t, srv.URL+"/f.ics")
	syncOK(t, sub, Options{})
	path := filepath.Join(sub.Dir, "e2.ics")
	edited := []byte(fmt.Sprintf(ev, "e2", "Event 2, with my notes"))
	os.WriteFile(path, edited, 0o600)
	srv.set(feedOf(2))
	res := syncOK(t, sub, Options{})
	if res.Removed != 1 || len(res.ConflictCopies) != 1 || len(res.Local) != 1 || !strings.Contains(res.Local[0], "gone from the feed") {
		t.Fatalf("result %+v: want the file removed, its edit kept as a conflict copy and reported", res)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the item gone from the feed is still there")
	}
	if got, _ := os.ReadFile(filepath.Join(sub.Dir, res.ConflictCopies[0])); !bytes.Equal(got, edited) {
		t.Fatal("the conflict copy does not hold the edit")
	}
}

func TestSync_FeedWithAnUnreadableComponent_NoFileRemovedTheRestApplied(t *testing.T) {
	srv := newFeedServer(t, feedOf(3))
	sub := testSub(t, srv.URL+"/f.ics")
	syncOK(t, sub, Options{})
	next := bytes.Replace(feedOf(2), []byte("SUMMARY:Event 1"), []byte("SUMMARY:Event 1, renamed"), 1)
	next = bytes.Replace(next, []byte("END:VCALENDAR"), []byte("BEGIN:VEVENT\r\nDTSTART;X=\"open:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR"), 1)
	srv.set(next)
	res := Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
	if res.Err != nil || res.Removed != 0 || res.Updated != 1 || len(res.Problems) != 1 || len(res.Notes) != 1 {
		t.Fatalf("result %+v: want the change applied, nothing removed, the component and the held removals reported", res)
	}
	if _, err := os.Stat(filepath.Join(sub.Dir, "e2.ics")); err != nil {
		t.Fatalf("e2.ics, gone from the feed beside a component that could be it: %v", err)
	}
}
