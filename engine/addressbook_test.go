package engine

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
)

var (
	card      = synctest.Card
	photoCard = synctest.PhotoCard
)

// The cards of a first sync: vCard 3.0 and 4.0, an Apple group card and a
// vCard 4.0 group (neither has N), and a card with a 200 kB photo.
func seedCards(t *testing.T, e *env, book string) map[string][]byte {
	t.Helper()
	cards := map[string][]byte{
		"ann.vcf": card("3.0", "ann", "Ann Three"),
		"bo.vcf":  card("4.0", "urn:uuid:bo", "Bo Four"),
		"friends.vcf": []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:friends\r\nFN:Friends\r\nX-ADDRESSBOOKSERVER-KIND:group\r\n" +
			"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:ann\r\nEND:VCARD\r\n"),
		"club.vcf": []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:Book club\r\nMEMBER:urn:uuid:bo\r\nUID:club\r\nEND:VCARD\r\n"),
		"pat.vcf":  photoCard("pat", 200<<10),
	}
	for name, data := range cards {
		e.Srv.Put(t, book+name, data)
	}
	return cards
}

func TestSync_AddressBook_FirstSyncByteIdenticalOneVcfPerContact(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		cards := seedCards(t, e, book)
		s := e.syncOK()[book]
		if s == nil || s.Downloaded != len(cards) || len(s.Problems) != 0 || !s.AddressBook {
			t.Fatalf("address book summary %+v", s)
		}
		var items []string
		for _, n := range e.LocalNames(book) {
			if strings.HasSuffix(n, ".vcf") {
				items = append(items, n)
			}
		}
		if len(items) != len(cards) {
			t.Fatalf("folder %v, want one .vcf per contact", e.LocalNames(book))
		}
		for name := range cards {
			want, _ := e.Srv.Get(t, book+name)
			if got := e.ReadFile(book, name); !bytes.Equal(got, want) {
				t.Errorf("%s: %d local bytes differ from the %d the server serves", name, len(got), len(want))
			}
		}
		if _, err := os.Stat(filepath.Join(e.Root, "contacts")); err == nil {
			t.Error("the address book went into the calendars' root")
		}
		if dn, _ := os.ReadFile(filepath.Join(e.Contacts, "contacts", "displayname")); strings.TrimSpace(string(dn)) != "Contacts" {
			t.Errorf("displayname file = %q", dn)
		}
	})
}

// A second sync with nothing changed lists each home once: one request
// for an account of address books only, and one for calendars and address
// books where they share a home (Radicale), two where they do not
// (Xandikos).
func TestSync_AddressBook_NoChangeSyncOneRequestPerHome(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		e.Srv.Put(t, book+"ann.vcf", card("3.0", "ann", "Ann"))
		e.Srv.Put(t, e.Events+"a.ics", event("a", "Alpha"))
		e.syncOK()
		e.Rec.Take()
		sums := e.syncOK()
		want := 2
		if e.Srv.HomeHref == e.Srv.BookHomeHref {
			want = 1
		}
		if reqs := e.Rec.Take(); len(reqs) != want || !sums[book].Unchanged || !sums[e.Events].Unchanged {
			t.Fatalf("no-change sync of calendars and address books: %d requests %+v, want %d", len(reqs), reqs, want)
		}

		a := &e.Cfg.Accounts[0]
		a.Sync, a.Calendars, a.LocalRoot = []string{config.SyncAddressBooks}, nil, ""
		e.syncOK() // rediscovers: the account looks for other kinds now
		e.Rec.Take()
		sums = e.syncOK()
		if reqs := e.Rec.Take(); len(reqs) != 1 || !sums[book].Unchanged || sums[e.Events].Notes == nil {
			t.Fatalf("no-change sync of an address-book-only account: %d requests %+v, summaries %v", len(reqs), reqs, sums)
		}
	})
}

func TestSync_AddressBook_DecisionTableEndToEnd(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		for _, uid := range []string{"edit-local", "edit-phone", "del-local", "del-phone", "both"} {
			e.Srv.Put(t, book+uid+".vcf", card("3.0", uid, uid+" v1"))
		}
		e.syncOK()
		_, etagBefore := e.Srv.Get(t, book+"edit-local.vcf")

		e.WriteFile(book, "edit-local.vcf", card("3.0", "edit-local", "edit-local v2 local"))
		e.Srv.Put(t, book+"edit-phone.vcf", card("3.0", "edit-phone", "edit-phone v2 phone"))
		os.Remove(e.File(book, "del-local.vcf"))
		e.Srv.Delete(t, book+"del-phone.vcf")
		e.WriteFile(book, "both.vcf", card("3.0", "both", "both v2 local"))
		e.Srv.Put(t, book+"both.vcf", card("3.0", "both", "both v2 phone"))
		e.WriteFile(book, "new-local.vcf", card("4.0", "new-local", "made locally"))
		e.Srv.Put(t, book+"new-phone.vcf", card("3.0", "new-phone", "made on phone"))
		e.Rec.Take()

		s := e.syncOK()[book]
		reqs := e.Rec.Take()
		if s.Uploaded != 2 || s.Downloaded != 2 || s.DeletedLocal != 1 || s.DeletedRemote != 1 || s.Conflicts != 1 {
			t.Fatalf("summary %+v", s)
		}
		want := map[string]bool{"PUT edit-local.vcf If-Match": false, "PUT new-local.vcf If-None-Match": false, "DELETE del-local.vcf If-Match": false}
		for _, r := range synctest.Writes(reqs) {
			cond := "If-Match"
			if r.IfNoneMatch == "*" {
				cond = "If-None-Match"
			}
			if r.IfMatch == "" && r.IfNoneMatch == "" {
				t.Errorf("%s %s without a precondition", r.Method, r.Path)
			}
			if r.Method == "PUT" && strings.HasSuffix(r.Path, "/edit-local.vcf") && r.IfMatch != etagBefore {
				t.Errorf("PUT edit-local.vcf If-Match %q, want %q", r.IfMatch, etagBefore)
			}
			want[r.Method+" "+filepath.Base(r.Path)+" "+cond] = true
		}
		for w, seen := range want {
			if !seen {
				t.Errorf("no %s among %+v", w, reqs)
			}
		}
		for href, text := range map[string]string{"edit-local.vcf": "v2 local", "new-local.vcf": "made locally"} {
			if got, _ := e.Srv.Get(t, book+href); !bytes.Contains(got, []byte(text)) {
				t.Errorf("server %s lacks %q: %q", href, text, got)
			}
		}
		if got, _ := e.Srv.Get(t, book+"del-local.vcf"); got != nil {
			t.Error("local delete did not reach the server")
		}
		if _, err := os.Stat(e.File(book, "del-phone.vcf")); !os.IsNotExist(err) {
			t.Error("phone delete did not remove the file")
		}
		for name, text := range map[string]string{"edit-phone.vcf": "v2 phone", "new-phone.vcf": "made on phone", "both.vcf": "v2 phone"} {
			if !bytes.Contains(e.ReadFile(book, name), []byte(text)) {
				t.Errorf("%s lacks %q", name, text)
			}
		}
		if !e.HasConflictCopy(book, "both.vcf", "v2 local") {
			t.Fatalf("the local version of both.vcf is not kept: %v", e.LocalNames(book))
		}
		e.Rec.Take()
		if s := e.syncOK()[book]; changed(s) != 0 || len(synctest.Writes(e.Rec.Take())) != 0 {
			t.Fatalf("second pass not idle: %+v", s)
		}
	})
}

func TestSync_AddressBook_MalformedCardReportedOthersSynced(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		e.Srv.Put(t, book+"ann.vcf", card("3.0", "ann", "Ann"))
		e.syncOK()
		e.WriteFile(book, "no-uid.vcf", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody\r\nEND:VCARD\r\n"))
		e.WriteFile(book, "two.vcf", append(card("3.0", "one", "One"), card("3.0", "two", "Two")...))
		e.WriteFile(book, "good.vcf", card("3.0", "good", "Good"))
		e.Rec.Take()
		var s *Summary
		for _, x := range e.sync(SyncOptions{}) {
			if x.Href == book {
				s = x
			}
		}
		if s == nil || s.Uploaded != 1 {
			t.Fatalf("summary %+v", s)
		}
		report := strings.Join(append(s.Skipped, s.Problems...), "\n")
		for _, bad := range []string{"no-uid.vcf", "two.vcf"} {
			if !strings.Contains(report, bad) {
				t.Errorf("%s not reported: %s", bad, report)
			}
		}
		for _, r := range synctest.Writes(e.Rec.Take()) {
			if !strings.HasSuffix(r.Path, "/good.vcf") {
				t.Errorf("wrote %s %s", r.Method, r.Path)
			}
		}
		if got, _ := e.Srv.Get(t, book+"good.vcf"); !bytes.Contains(got, []byte("FN:Good")) {
			t.Errorf("good card not uploaded: %q", got)
		}
	})
}

func TestSync_AddressBook_Guards_EmptiedFolderAndEmptyListingDeleteNothing(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		for i := range 3 {
			e.Srv.Put(t, fmt.Sprintf("%sc%d.vcf", book, i), card("3.0", fmt.Sprint("c", i), "x"))
		}
		e.syncOK()
		refused := func() string {
			for _, s := range e.sync(SyncOptions{}) {
				if s.Href == book {
					return s.Refused
				}
			}
			return ""
		}
		// The folder emptied: nothing is deleted on the server.
		saved := map[string][]byte{}
		for i := range 3 {
			n := fmt.Sprintf("c%d.vcf", i)
			saved[n] = e.ReadFile(book, n)
			os.Remove(e.File(book, n))
		}
		e.Rec.Take()
		if refused() == "" {
			t.Fatal("emptied folder not refused")
		}
		if w := synctest.Writes(e.Rec.Take()); len(w) != 0 {
			t.Fatalf("emptied folder let writes through: %+v", w)
		}
		for n, data := range saved {
			e.WriteFile(book, n, data)
		}
		// The server lists nothing: no local file is deleted.
		for i := range 3 {
			e.Srv.Delete(t, fmt.Sprintf("%sc%d.vcf", book, i))
		}
		if refused() == "" {
			t.Fatal("empty server listing not refused")
		}
		for n := range saved {
			if _, err := os.Stat(e.File(book, n)); err != nil {
				t.Errorf("%s deleted locally after an empty listing: %v", n, err)
			}
		}
	})
}

// A tool that rewrites a card's CRLF line endings as LF has it uploaded
// once; the card is then as synced, and the LF file stays as it is.
func TestSync_AddressBook_CRLFRewrittenAsLF_UploadedOnceThenIdle(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		e.Srv.Put(t, book+"ann.vcf", card("3.0", "ann", "Ann"))
		e.syncOK()
		lf := bytes.ReplaceAll(e.ReadFile(book, "ann.vcf"), []byte("\r\n"), []byte("\n"))
		e.WriteFile(book, "ann.vcf", lf)
		e.Rec.Take()
		if s := e.syncOK()[book]; s.Uploaded != 1 || s.Conflicts != 0 {
			t.Fatalf("first pass after the rewrite: %+v", s)
		}
		e.Rec.Take()
		for i := range 2 {
			if s := e.syncOK()[book]; changed(s) != 0 {
				t.Fatalf("pass %d after the upload not idle: %+v", i+2, s)
			}
			if w := synctest.Writes(e.Rec.Take()); len(w) != 0 {
				t.Fatalf("pass %d after the upload wrote %+v", i+2, w)
			}
		}
		if got := e.ReadFile(book, "ann.vcf"); !bytes.Equal(got, lf) {
			t.Errorf("the LF file was rewritten: %q", got)
		}
	})
}

// khard, pointed at the synced folder, lists every contact: the files are
// what it reads.
func TestSync_AddressBook_KhardListsEveryContact(t *testing.T) {
	testserver.Need(t, "khard")
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		seedCards(t, e, book)
		e.syncOK()
		dir := t.TempDir()
		conf := filepath.Join(dir, "khard.conf")
		text := "[addressbooks]\n[[contacts]]\npath = " + filepath.Join(e.Contacts, "contacts") + "\n[general]\ndefault_action = list\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("khard", "-c", conf, "list")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("khard list: %v\n%s", err, out)
		}
		t.Logf("khard list:\n%s", out)
		for _, fn := range []string{"Ann Three", "Bo Four", "Friends", "Book club", "Pat Photo"} {
			if !bytes.Contains(out, []byte(fn)) {
				t.Errorf("khard does not list %q:\n%s", fn, out)
			}
		}
	})
}

func TestCollectionKey_CalendarAndAddressBookAtOneHrefNeverMeet(t *testing.T) {
	a := &config.Account{Name: "acct"}
	cal := collectionKey(a, davclient.Calendar{Href: "/addressbook/x/"})
	book := collectionKey(a, davclient.Calendar{Href: "/x/", Kind: davclient.KindAddressBook})
	same := collectionKey(a, davclient.Calendar{Href: "/addressbook/x/", Kind: davclient.KindAddressBook})
	if cal == book || cal == same || book == same {
		t.Fatalf("keys meet: %q %q %q", cal, book, same)
	}
	for key, want := range map[string]davclient.Kind{cal: davclient.KindCalendar, book: davclient.KindAddressBook, same: davclient.KindAddressBook} {
		if got := kindOfKey(key); got != want {
			t.Errorf("kindOfKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// Through a fault proxy: the answers to two card writes are lost, and the
// server refuses a third with 413. The next pass recognises the two as its
// own (the journal): no duplicate, no conflict copy, no second write. The
// refused card is reported by name with the server's answer each pass,
// stays in the folder, and is not sent again while it is unchanged.
func TestFault_AddressBook_LostAnswersSettledAndRefusedCardKept(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		book := e.AddAddressBook("contacts", "Contacts")
		f := withFaultProxy(t, e)
		e.Srv.Put(t, book+"ann.vcf", card("3.0", "ann", "Ann v1"))
		f.runOK()
		big := photoCard("big", 64<<10)
		f.WriteFile(book, "ann.vcf", card("3.0", "ann", "Ann v2"))
		f.WriteFile(book, "cy.vcf", card("3.0", "cy", "Cy"))
		f.WriteFile(book, "big.vcf", big)
		tooLarge := faultproxy.Rule{Method: "PUT", Path: regexp.MustCompile(`/big\.vcf$`), Action: faultproxy.Status(http.StatusRequestEntityTooLarge, "")}
		f.px.Add(tooLarge)
		f.px.Add(faultproxy.Rule{Method: "PUT", Path: regexp.MustCompile(`/(ann|cy)\.vcf$`), Action: faultproxy.LoseAnswer()})
		refusedBig := func(sums []*Summary) {
			t.Helper()
			for _, s := range sums {
				if rej := strings.Join(s.Rejected, "\n"); s.Href == book && (!strings.Contains(rej, "big.vcf") || !strings.Contains(rej, "413")) {
					t.Errorf("the refused card is not reported: %+v", s)
				}
			}
			if got := f.ReadFile(book, "big.vcf"); !bytes.Equal(got, big) {
				t.Error("the refused card changed in the folder")
			}
		}
		refusedBig(f.run(SyncOptions{}))
		f.px.Clear()
		f.px.Add(tooLarge)
		f.px.Take()
		refusedBig(f.run(SyncOptions{}))
		for _, w := range writes(f.px.Take()) {
			t.Errorf("the pass after the lost answers wrote %s %s", w.Method, w.Path)
		}
		for name, text := range map[string]string{"ann.vcf": "Ann v2", "cy.vcf": "FN:Cy"} {
			if got, _ := e.Srv.Get(t, book+name); !bytes.Contains(got, []byte(text)) {
				t.Errorf("server %s: %q", name, got)
			}
		}
		if members := e.Srv.Members(t, book); len(members) != 2 {
			t.Errorf("server holds %v, want ann and cy once each", members)
		}
		for _, n := range f.LocalNames(book) {
			if strings.Contains(n, ".conflict-") {
				t.Errorf("conflict copy %s: our own writes were not recognised", n)
			}
		}
	})
}
