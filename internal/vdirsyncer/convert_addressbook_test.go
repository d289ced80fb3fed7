package vdirsyncer

import (
	"path/filepath"
	"strings"
	"testing"
)

// contacts is a filesystem storage of address books, as khard reads them.
const contacts = "path = \"~/.contacts/\"\nfileext = \".vcf\""

// cardConf is conf with a carddav storage in place of the caldav one.
func cardConf(pair, srv, folder string) string {
	return strings.Replace(conf(pair, srv, folder), `"caldav"`, `"carddav"`, 1)
}

// book is the account cardConf converts to with no lines added.
func book(h string) acct {
	return acct{Name: "cal", URL: "https://dav.example.org/", Username: "alice", Sync: []string{"addressbooks"},
		ContactsRoot: filepath.Join(h, ".contacts"), Policy: "server-wins", Auth: "auto"}
}

// oneBook is the book account changed by edit.
func oneBook(edit func(a *acct, h string)) func(h string) []acct {
	return func(h string) []acct {
		a := book(h)
		edit(&a, h)
		return []acct{a}
	}
}

func TestConvert_AddressBooks(t *testing.T) {
	runCases(t, []convertCase{
		{name: "FromServer_EveryAddressBookInThePath", text: cardConf(fromA, server, contacts), want: oneBook(func(*acct, string) {})},
		{name: "FromBothSides_EveryAddressBook", text: cardConf(`collections = ["from a", "from b"]`, server, contacts), want: oneBook(func(*acct, string) {})},
		{name: "FromFolderOnly_EveryAddressBookAndReported", text: cardConf(`collections = ["from b"]`, server, contacts),
			want:  oneBook(func(*acct, string) {}),
			notes: []string{`[pair cal] collections: "from b": vdird syncs every address book the server lists, not only those with a folder in ~/.contacts; name the ones to sync in addressbooks`}},
		{name: "NamedCollections_AddressBooks", text: cardConf(`collections = ["family", "work", "family"]`, server, contacts),
			want: oneBook(func(a *acct, _ string) { a.AddressBooks = []string{"family", "work"} })},
		{name: "AliasWithAnotherFolderName_RenameReported", text: cardConf(`collections = [["c", "default", "contacts"]]`, server, contacts),
			want:  oneBook(func(a *acct, _ string) { a.AddressBooks, a.NoCreate = []string{"default"}, true }),
			notes: []string{`[pair cal] collections: ["c", "default", "contacts"]: vdird keeps the address book "default" in a folder named after it: rename ~/.contacts/contacts to ~/.contacts/default before the first sync, or vdird downloads the address book again`}},
		{name: "NullCollections_URLIsTheAddressBookPathItsFolder",
			text: cardConf("collections = null", "url = \"https://dav.example.org/alice/family/\"", "path = \"~/.contacts/family\"\nfileext = \".vcf\""),
			want: oneBook(func(a *acct, _ string) {
				a.URL, a.Username, a.AddressBooks = "https://dav.example.org/alice/family/", "", []string{"family"}
			})},
		{name: "NullCollectionsInAFolderOfAnotherName_RenameReported",
			text: cardConf("collections = null", "url = \"https://dav.example.org/alice/ab-1/\"", "path = \"/srv/contacts/mine\"\nfileext = \".vcf\""),
			want: oneBook(func(a *acct, _ string) {
				a.URL, a.Username, a.ContactsRoot, a.AddressBooks = "https://dav.example.org/alice/ab-1/", "", "/srv/contacts", []string{"ab-1"}
				a.NoCreate = true
			}),
			notes: []string{"[pair cal] collections: null: vdird keeps the address book at https://dav.example.org/alice/ab-1/ in a folder named after it: rename /srv/contacts/mine to /srv/contacts/ab-1"}},
		{name: "NullCollectionsOnTheServerRoot_NotConverted", text: cardConf("collections = null", server, contacts),
			notes: []string{"[pair cal] collections: the pair is not converted: null makes the url https://dav.example.org/ one address book, but it names none"}},
		{name: "EmptyCollections_NotConverted", text: cardConf("collections = []", server, contacts),
			notes: []string{"[pair cal] collections: the pair is not converted: []: no address book to sync"}},
		{name: "FileExtIcs_NotConverted", text: cardConf(fromA, server, "path = \"~/.contacts/\"\nfileext = \".ics\""),
			notes: []string{`[pair cal]: not converted: [storage folder] fileext: ".ics": vdird reads only .vcf files here`}},
		{name: "CalendarServerIntoVcfFiles_NotConverted", text: conf(fromA, server, contacts),
			notes: []string{`[pair cal]: not converted: [storage folder] fileext: ".vcf": vdird reads only .ics files here`}},
		{name: "ConflictResolutionFolderSideWins_LocalWins", text: cardConf(fromA+"\nconflict_resolution = \"b wins\"", server, contacts),
			want: oneBook(func(a *acct, _ string) { a.Policy = "local-wins" })},
		{name: "MetadataColour_Reported", text: cardConf(fromA+"\nmetadata = [\"displayname\", \"color\"]", server, contacts),
			want:  oneBook(func(*acct, string) {}),
			notes: []string{`[pair cal] metadata: "color" not converted: vdird keeps the displayname of each address book in its folder`}},
		{name: "CredentialsAndTLS_CarriedOver",
			text: cardConf(fromA, server+"\npassword.fetch = [\"command\", \"pass\", \"dav\"]\nauth = \"digest\"\nverify = \"/etc/ca.pem\"", contacts),
			want: oneBook(func(a *acct, _ string) { a.PasswordCommand, a.Auth, a.CAFile = "pass dav", "digest", "/etc/ca.pem" })},
		{name: "CalDAVOnlyKeys_NoSuchSetting", text: cardConf(fromA, server+"\nstart_date = \"datetime.now()\"\nitem_types = [\"VCARD\"]", contacts),
			want:  oneBook(func(*acct, string) {}),
			notes: []string{"[storage server] start_date: not converted: vdird has no such setting", "[storage server] item_types: not converted: vdird has no such setting"}},
		{name: "ReadOnlyServer_NotConverted", text: cardConf(fromA, server+"\nread_only = true", contacts),
			notes: []string{"[pair cal]: not converted: [storage server] read_only: true"}},
		{name: "GoogleContacts_NotConverted", text: strings.Replace(conf(fromA, "token_file = \"t\"\nclient_id = \"1\"\nclient_secret = \"s\"", contacts), `"caldav"`, `"google_contacts"`, 1),
			notes: []string{"[pair cal]: not converted: [storage server] type: google_contacts: vdird signs in to Google for Google Calendar; Google's address books are not converted"}},
	})
}

// bothPairs is a vdirsyncer config with a calendar pair "cals" and an
// address book pair "cards", their servers' lines given, the calendar pair
// first unless cardsFirst.
func bothPairs(calSrv, cardSrv, extraCal, extraCard string, cardsFirst bool) string {
	cals := "[pair cals]\na = \"cals_remote\"\nb = \"cals_local\"\ncollections = [\"from a\", \"from b\"]\n" + extraCal + "\n\n" +
		"[storage cals_remote]\ntype = \"caldav\"\n" + calSrv + "\n\n[storage cals_local]\ntype = \"filesystem\"\n" + calendars + "\n\n"
	cards := "[pair cards]\na = \"cards_remote\"\nb = \"cards_local\"\ncollections = [\"from a\", \"from b\"]\n" + extraCard + "\n\n" +
		"[storage cards_remote]\ntype = \"carddav\"\n" + cardSrv + "\n\n[storage cards_local]\ntype = \"filesystem\"\n" + contacts + "\n\n"
	if cardsFirst {
		return generalSec + cards + cals
	}
	return generalSec + cals + cards
}

func TestConvert_CalendarsAndAddressBooks(t *testing.T) {
	both := func(name string) func(h string) []acct {
		return func(h string) []acct {
			a := base(h)
			a.Name, a.Sync, a.ContactsRoot = name, []string{"calendars", "addressbooks"}, filepath.Join(h, ".contacts")
			return []acct{a}
		}
	}
	apart := func(cardURL, cardUser, cardPolicy string) func(h string) []acct {
		return func(h string) []acct {
			cal, card := base(h), book(h)
			cal.Name, card.Name, card.URL, card.Username, card.Policy = "cals", "cards", cardURL, cardUser, cardPolicy
			return []acct{cal, card}
		}
	}
	other := "url = \"https://contacts.example.org/\"\nusername = \"alice\""
	runCases(t, []convertCase{
		{name: "SameServerAndUser_OneAccountSyncingBoth", text: bothPairs(server, server, "", "", false), want: both("cals")},
		{name: "SameServerAddressBooksFirst_OneAccountNamedAfterThem", text: bothPairs(server, server, "", "", true), want: both("cards")},
		{name: "SameOriginOtherPath_OneAccount", text: bothPairs(server, "url = \"https://dav.example.org/carddav/\"\nusername = \"alice\"", "", "", false),
			want: both("cals")},
		{name: "AnotherServer_TwoAccounts", text: bothPairs(server, other, "", "", false),
			want: apart("https://contacts.example.org/", "alice", "server-wins")},
		{name: "AnotherUser_TwoAccounts", text: bothPairs(server, "url = \"https://dav.example.org/\"\nusername = \"bob\"", "", "", false),
			want: apart("https://dav.example.org/", "bob", "server-wins")},
		{name: "AnotherConflictResolution_TwoAccounts", text: bothPairs(server, server, "conflict_resolution = \"a wins\"", "conflict_resolution = \"b wins\"", false),
			want: apart("https://dav.example.org/", "alice", "local-wins")},
		{name: "AddressBooksInTheCalendarsFolder_NotConverted",
			text:  strings.Replace(bothPairs(server, server, "", "", false), contacts, "path = \"~/.calendars/\"\nfileext = \".vcf\"", 1),
			want:  one(func(a *acct, _ string) { a.Name = "cals" }),
			notes: []string{"[pair cards]: not converted: its folder ~/.calendars holds the calendars of [pair cals]; vdird keeps calendars and address books in folders of their own"}},
		{name: "OneAddressBookPerPairBesideTheCalendars_OneAccount",
			text: generalSec + "[pair cals]\na = \"s\"\nb = \"f\"\ncollections = [\"from a\"]\n[storage s]\ntype = \"caldav\"\n" + server + "\n[storage f]\ntype = \"filesystem\"\n" + calendars + "\n" +
				"[pair family]\na = \"fs\"\nb = \"ff\"\ncollections = null\n[storage fs]\ntype = \"carddav\"\nurl = \"https://dav.example.org/alice/family/\"\nusername = \"alice\"\n" +
				"[storage ff]\ntype = \"filesystem\"\npath = \"~/.contacts/family\"\nfileext = \".vcf\"\n" +
				"[pair work]\na = \"ws\"\nb = \"wf\"\ncollections = null\n[storage ws]\ntype = \"carddav\"\nurl = \"https://dav.example.org/alice/work/\"\nusername = \"alice\"\n" +
				"[storage wf]\ntype = \"filesystem\"\npath = \"~/.contacts/work\"\nfileext = \".vcf\"\n",
			want: func(h string) []acct {
				a := both("cals")(h)
				a[0].AddressBooks = []string{"family", "work"}
				return a
			}},
	})
}
