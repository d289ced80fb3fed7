package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig_WithoutSyncKey_CalendarsOnlyAsBefore(t *testing.T) {
	cfg, err := Parse("c", []byte("[[account]]\nurl = \"https://x/\"\nlocal_root = \"/tmp/cals\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Accounts[0]
	if !a.SyncsCalendars() || a.SyncsAddressBooks() || a.LocalRoot != "/tmp/cals" || a.ContactsRoot != "" {
		t.Fatalf("%+v", a)
	}
}

func TestConfig_AddressBooks_DefaultsAndContactsOnly(t *testing.T) {
	home, _ := os.UserHomeDir()
	cfg, err := Parse("c", []byte(`[[account]]
name = "both"
url = "https://x/"
sync = ["calendars", "addressbooks"]
[[account]]
name = "cards"
url = "https://y/"
sync = ["addressbooks"]
contacts_root = "~/cards"
addressbooks = ["family"]
vcard_version = "4.0"
`))
	if err != nil {
		t.Fatal(err)
	}
	both, cards := cfg.Accounts[0], cfg.Accounts[1]
	if !both.SyncsCalendars() || !both.SyncsAddressBooks() || both.LocalRoot != filepath.Join(home, ".calendars") ||
		both.ContactsRoot != filepath.Join(home, ".contacts") || both.VCardVersion != "3.0" || both.AddressBooks != nil {
		t.Errorf("both: %+v", both)
	}
	if cards.SyncsCalendars() || !cards.SyncsAddressBooks() || cards.LocalRoot != "" || cards.ContactsRoot != filepath.Join(home, "cards") ||
		cards.VCardVersion != "4.0" || strings.Join(cards.AddressBooks, ",") != "family" {
		t.Errorf("cards: %+v", cards)
	}
}

func TestConfig_AddressBookMistakes_NameTheLine(t *testing.T) {
	for name, tc := range map[string]struct {
		text string
		line int
		want string
	}{
		"contacts_root without sync":  {"[[account]]\nurl = \"https://x/\"\ncontacts_root = \"/tmp/c\"\n", 3, `sync does not list "addressbooks"`},
		"addressbooks without sync":   {"[[account]]\nurl = \"https://x/\"\n\naddressbooks = [\"a\"]\n", 4, `sync does not list "addressbooks"`},
		"local_root of contacts-only": {"[[account]]\nurl = \"https://x/\"\nsync = [\"addressbooks\"]\nlocal_root = \"/tmp/c\"\n", 4, `sync does not list "calendars"`},
		"empty sync":                  {"[[account]]\nurl = \"https://x/\"\nsync = []\n", 3, "sync is empty"},
		"unknown sync":                {"[[account]]\nurl = \"https://x/\"\nsync = [\"tasks\"]\n", 3, `"tasks"`},
		"bad version":                 {"[[account]]\nurl = \"https://x/\"\nsync = [\"addressbooks\"]\nvcard_version = \"2.1\"\n", 4, "vcard_version"},
		"relative contacts_root":      {"[[account]]\nurl = \"https://x/\"\nsync = [\"addressbooks\"]\ncontacts_root = \"cards\"\n", 4, "absolute"},
		"one folder for both":         {"[[account]]\nurl = \"https://x/\"\nsync = [\"calendars\", \"addressbooks\"]\nlocal_root = \"/tmp/d\"\ncontacts_root = \"/tmp/d\"\n", 5, "share the folder"},
		"another account's folder":    {"[[account]]\nname = \"a\"\nurl = \"https://x/\"\nlocal_root = \"/tmp/d\"\n[[account]]\nname = \"b\"\nurl = \"https://x/\"\nsync = [\"addressbooks\"]\ncontacts_root = \"/tmp/d\"\n", 9, `account "a"'s local_root`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want Error", err)
			}
			if ce.Line != tc.line || !strings.Contains(ce.Error(), tc.want) {
				t.Fatalf("got %q (line %d), want line %d containing %q", ce.Error(), ce.Line, tc.line, tc.want)
			}
		})
	}
}
