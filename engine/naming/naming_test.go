package naming

import (
	"errors"
	"slices"
	"testing"

	"github.com/vdird/vdird/state"
)

var known = []state.Collection{
	{Key: "home//cal/home/work/", Account: "home", Href: "/cal/home/work/", Dir: "/c/home/work", DisplayName: "Work"},
	{Key: "home//cal/home/trips/", Account: "home", Href: "/cal/home/trips/", Dir: "/c/home/trips", DisplayName: "Travel"},
	{Key: "office//cal/office/work/", Account: "office", Href: "/cal/office/work/", Dir: "/c/office/work"},
}

// folders are the "account/folder" of cols.
func folders(cols []state.Collection) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Account+"/"+c.Dir[len("/c/"+c.Account+"/"):])
	}
	return out
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		names   []string
		chosen  []string
		unknown []string
	}{
		{"FolderName", []string{"trips"}, []string{"home/trips"}, nil},
		{"DisplayName", []string{"Travel"}, []string{"home/trips"}, nil},
		{"Href", []string{"/cal/office/work/"}, []string{"office/work"}, nil},
		{"AccountSlashFolder", []string{"office/work"}, []string{"office/work"}, nil},
		{"AccountSlashDisplayName", []string{"home/Work"}, []string{"home/work"}, nil},
		{"SameCollectionTwice_ChosenOnce", []string{"trips", "Travel"}, []string{"home/trips"}, nil},
		{"Unknown", []string{"trips", "nosuch", "office/trips"}, []string{"home/trips"}, []string{"nosuch", "office/trips"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chosen, unknown, err := Choose(known, tc.names)
			if err != nil || !slices.Equal(folders(chosen), tc.chosen) || !slices.Equal(unknown, tc.unknown) {
				t.Fatalf("Choose(%q) = %v, %v, %v; want %v, %v", tc.names, folders(chosen), unknown, err, tc.chosen, tc.unknown)
			}
		})
	}
}

func TestChoose_NameOfSeveralAccounts_AmbiguousListingThem_NothingChosen(t *testing.T) {
	chosen, _, err := Choose(known, []string{"trips", "work"})
	var a *AmbiguousError
	if !errors.As(err, &a) || a.Name != "work" || !slices.Equal(a.Matches, []string{"home/work", "office/work"}) || chosen != nil {
		t.Fatalf("Choose(trips, work) = %v, %v", folders(chosen), err)
	}
	if want := `"work" names several collections: home/work, office/work; name one as ACCOUNT/NAME, as in "home/work"`; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestChoices_AccountShownOnlyWhenSeveral(t *testing.T) {
	if got := Choices(known); !slices.Equal(got, []string{"home/work", "home/trips", "office/work"}) {
		t.Fatalf("Choices of two accounts: %v", got)
	}
	if got := Choices(known[:2]); !slices.Equal(got, []string{"work", "trips"}) {
		t.Fatalf("Choices of one account: %v", got)
	}
	if got := Choices(nil); len(got) != 0 {
		t.Fatalf("Choices of none: %v", got)
	}
}

func TestAlone_AccountOnlyWhenAnotherAccountHasTheName(t *testing.T) {
	for i, want := range []string{"home/work", "trips", "office/work"} {
		if got := Alone(known, known[i]); got != want {
			t.Errorf("Alone(%s) = %q, want %q", known[i].Dir, got, want)
		}
	}
}

// personal is a calendar and an address book of one account whose folders
// share the name "personal".
var personal = []state.Collection{
	{Key: "home//cal/home/personal/", Account: "home", Href: "/cal/home/personal/", Dir: "/c/home/personal"},
	{Key: "home/addressbook/card/home/personal/", Account: "home", Href: "/card/home/personal/", Dir: "/b/home/personal"},
	{Key: "home//cal/home/trips/", Account: "home", Href: "/cal/home/trips/", Dir: "/c/home/trips"},
}

func TestChoose_CalendarAndAddressBookOfOneNameInOneAccount_AmbiguousListingTheirPaths_APathChoosesOne(t *testing.T) {
	for _, name := range []string{"personal", "home/personal"} {
		chosen, _, err := Choose(personal, []string{"trips", name})
		var a *AmbiguousError
		if !errors.As(err, &a) || !a.ByPath || !slices.Equal(a.Matches, []string{"/c/home/personal", "/b/home/personal"}) || chosen != nil {
			t.Fatalf("Choose(trips, %s) = %v, %v", name, chosen, err)
		}
		want := `"` + name + `" names several collections: /c/home/personal, /b/home/personal; name one by its folder's path, as in "/c/home/personal"`
		if err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
	}
	chosen, unknown, err := Choose(personal, []string{"/b/home/personal/"})
	if err != nil || len(unknown) != 0 || len(chosen) != 1 || chosen[0].Key != personal[1].Key {
		t.Fatalf("Choose(the address book's path) = %v, %v, %v; want the address book alone", chosen, unknown, err)
	}
	if got := Alone(personal, personal[1]); got != "/b/home/personal" {
		t.Fatalf("Alone(address book) = %q, want its path", got)
	}
}

func TestChoose_DisplayNameOfTwoCollectionsInOneAccount_AmbiguousListingThem(t *testing.T) {
	two := []state.Collection{
		{Key: "home//cal/home/a/", Account: "home", Href: "/cal/home/a/", Dir: "/c/home/a", DisplayName: "Work"},
		{Key: "home//cal/home/b/", Account: "home", Href: "/cal/home/b/", Dir: "/c/home/b", DisplayName: "Work"},
	}
	_, _, err := Choose(two, []string{"Work"})
	var a *AmbiguousError
	if !errors.As(err, &a) || a.ByPath || !slices.Equal(a.Matches, []string{"home/a", "home/b"}) {
		t.Fatalf("Choose(Work) = %v", err)
	}
}
