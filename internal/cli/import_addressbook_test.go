package cli

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/internal/vcard"
)

// vdirsyncerBothConfig is what a vdirsyncer user who syncs calendars and
// contacts with one server has: a caldav pair into ~/.calendars and a
// carddav pair into ~/.contacts, the password from one command.
const vdirsyncerBothConfig = `[general]
status_path = "~/.vdirsyncer/status/"

[pair dav]
a = "dav_server"
b = "dav_local"
collections = ["from a", "from b"]

[storage dav_server]
type = "caldav"
url = "%[1]s"
username = "%[2]s"
password.fetch = ["command", "cat", "~/.dav-password"]

[storage dav_local]
type = "filesystem"
path = "~/.calendars/"
fileext = ".ics"

[pair contacts]
a = "contacts_server"
b = "contacts_local"
collections = ["from a", "from b"]
metadata = ["displayname"]

[storage contacts_server]
type = "carddav"
url = "%[1]s"
username = "%[2]s"
password.fetch = ["command", "cat", "~/.dav-password"]

[storage contacts_local]
type = "filesystem"
path = "~/.contacts/"
fileext = ".vcf"
`

// cardUIDs lists the UIDs of card files, sorted, with a repeated one twice.
func cardUIDs(t *testing.T, files map[string]itemFile) []string {
	t.Helper()
	var out []string
	for name, f := range files {
		info, err := vcard.Inspect(f.data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, filepath.Dir(name)+"/"+info.UID)
	}
	slices.Sort(out)
	return out
}

// untouched wants every file of before in after, with the same bytes,
// inode and mtime.
func untouched(t *testing.T, before, after map[string]itemFile) {
	t.Helper()
	for name, b := range before {
		a, ok := after[name]
		if !ok || !bytes.Equal(a.data, b.data) || a.ino != b.ino || !a.mtime.Equal(b.mtime) {
			t.Errorf("%s was written by the first sync (or is gone)", name)
		}
	}
}

// TestImportVdirsyncer_AddressBooksAndCalendarsOfOneServer_OneAccountFirstSyncWritesNothing
// is the move from vdirsyncer for someone who syncs contacts too: real
// vdirsyncer syncs two Radicale address books (vCard 3.0 and 4.0 cards,
// group cards, a photo) into ~/.contacts and a calendar into ~/.calendars;
// vdird import vdirsyncer --write makes one account that syncs both; the
// first vdird sync sends nothing but listings, writes no file and leaves
// one copy of each UID on both sides; later edits of cards flow both ways.
func TestImportVdirsyncer_AddressBooksAndCalendarsOfOneServer_OneAccountFirstSyncWritesNothing(t *testing.T) {
	testserver.Need(t, "vdirsyncer")
	srv := testserver.Start(t, testserver.Radicale)
	books := map[string]string{"contacts": srv.MakeAddressBook(t, "contacts", "Contacts"), "family": srv.MakeAddressBook(t, "family", "Family")}
	cards := map[string][]byte{
		"ann.vcf": synctest.Card("3.0", "ann", "Ann Three"),
		"bo.vcf":  synctest.Card("4.0", "urn:uuid:bo", "Bo Four"),
		"friends.vcf": []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:friends\r\nFN:Friends\r\nX-ADDRESSBOOKSERVER-KIND:group\r\n" +
			"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:ann\r\nEND:VCARD\r\n"),
		"club.vcf": []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:Book club\r\nMEMBER:urn:uuid:bo\r\nUID:club\r\nEND:VCARD\r\n"),
		"pat.vcf":  synctest.PhotoCard("pat", 100<<10),
	}
	for name, data := range cards {
		srv.Put(t, books["contacts"]+name, data)
	}
	for i := range 12 {
		srv.Put(t, books["family"]+fmt.Sprintf("f-%d.vcf", i), synctest.Card("3.0", fmt.Sprintf("f-%d", i), fmt.Sprintf("Family %d", i)))
	}
	cal := srv.MakeCalendar(t, "events", "Events", "VEVENT")
	for i := range 4 {
		srv.Put(t, cal+fmt.Sprintf("ev-%d.ics", i), fmt.Appendf(nil, ev, fmt.Sprintf("ev-%d", i), fmt.Sprintf("Event %d", i)))
	}
	home, proxy := vdirsyncerSynced(t, srv, vdirsyncerBothConfig)
	contacts, calendars := filepath.Join(home, ".contacts"), filepath.Join(home, ".calendars")
	cardsBefore, eventsBefore := folderFiles(t, contacts, ".vcf"), folderItems(t, calendars)
	if len(cardsBefore) != len(cards)+12 || len(eventsBefore) != 4 {
		t.Fatalf("vdirsyncer wrote %d cards and %d events, want %d and 4", len(cardsBefore), len(eventsBefore), len(cards)+12)
	}
	members := map[string][]string{"events": srv.Members(t, cal)}
	for name, href := range books {
		members[name] = srv.Members(t, href)
	}

	code, out, errs := cli(t, "import", "vdirsyncer", "--write")
	cfgPath := filepath.Join(home, ".config", "vdird", "config.toml")
	if code != 0 || out != "" || !strings.Contains(errs, "wrote "+cfgPath) || strings.Contains(errs, "not converted") {
		t.Fatalf("import: code %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Accounts[0]; len(cfg.Accounts) != 1 || a.Name != "dav" || !a.SyncsCalendars() || !a.SyncsAddressBooks() ||
		a.LocalRoot != calendars || a.ContactsRoot != contacts || a.URL != proxy.URL || len(a.AddressBooks) != 0 {
		t.Fatalf("imported config: %+v", cfg.Accounts)
	}

	proxy.Take()
	code, out, errs = cli(t, "--log-level", "error", "sync")
	reqs := proxy.Take()
	sums := summaries(out)
	for _, c := range []string{"contacts", "family", "events"} {
		if code != 0 || sums[c] != "↓0 ↑0 ✗0 ⚠0" {
			t.Fatalf("first sync: code %d, %s: %q\nstdout: %s\nstderr: %s", code, c, sums[c], out, errs)
		}
	}
	byMethod := map[string]int{}
	for _, r := range reqs {
		byMethod[r.Method]++
	}
	if others := slices.DeleteFunc(slices.Collect(maps.Keys(byMethod)), func(m string) bool { return m == "PROPFIND" || m == "REPORT" }); len(others) > 0 {
		t.Errorf("first sync sent %v: %v", others, byMethod)
	}
	t.Logf("first sync: requests by method %v", byMethod)
	cardsAfter := folderFiles(t, contacts, ".vcf")
	untouched(t, cardsBefore, cardsAfter)
	untouched(t, eventsBefore, folderItems(t, calendars))
	if got, want := cardUIDs(t, cardsAfter), cardUIDs(t, cardsBefore); len(cardsAfter) != len(cardsBefore) || !slices.Equal(got, want) {
		t.Errorf("cards after the first sync: %v, want %v", got, want)
	}
	for name, href := range map[string]string{"events": cal, "contacts": books["contacts"], "family": books["family"]} {
		if got := srv.Members(t, href); !slices.Equal(got, members[name]) {
			t.Errorf("%s on the server: %v, want %v", name, got, members[name])
		}
	}

	code, out, _ = cli(t, "--log-level", "error", "sync")
	if sums := summaries(out); code != 0 || sums["contacts"] != "unchanged" || sums["family"] != "unchanged" || sums["events"] != "unchanged" {
		t.Fatalf("second sync: code %d\n%s", code, out)
	}

	// A card edited locally reaches the server; a card changed on the
	// server reaches its file.
	ann := fileOf(t, cardsBefore, "contacts", "ann")
	edited := bytes.Replace(cardsBefore[ann].data, []byte("FN:Ann Three"), []byte("FN:Ann Moved"), 1)
	writeFile(t, filepath.Join(contacts, ann), string(edited))
	srv.Put(t, books["family"]+"f-3.vcf", synctest.Card("3.0", "f-3", "Family 3 renamed"))
	code, out, errs = cli(t, "--log-level", "error", "sync")
	if sums := summaries(out); code != 0 || sums["contacts"] != "↓0 ↑1 ✗0 ⚠0" || sums["family"] != "↓1 ↑0 ✗0 ⚠0" || sums["events"] != "unchanged" {
		t.Fatalf("sync after edits: code %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if got, _ := srv.Get(t, books["contacts"]+"ann.vcf"); !bytes.Contains(got, []byte("FN:Ann Moved")) {
		t.Errorf("the server holds after the local edit:\n%s", got)
	}
	f3 := filepath.Join(contacts, fileOf(t, cardsBefore, "family", "f-3"))
	if got, err := os.ReadFile(f3); err != nil || !bytes.Contains(got, []byte("FN:Family 3 renamed")) {
		t.Errorf("the file holds after the server's change (%v):\n%s", err, got)
	}
	if got := cardUIDs(t, folderFiles(t, contacts, ".vcf")); !slices.Equal(got, cardUIDs(t, cardsBefore)) {
		t.Errorf("cards after the edits: %v", got)
	}
}

// fileOf is the file of book that holds uid, as "book/name".
func fileOf(t *testing.T, files map[string]itemFile, book, uid string) string {
	t.Helper()
	for name, f := range files {
		if info, err := vcard.Inspect(f.data); err == nil && info.UID == uid && filepath.Dir(name) == book {
			return name
		}
	}
	t.Fatalf("no file of %s holds %s", book, uid)
	return ""
}
