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
	if want := `"work" names collections of several accounts: home/work, office/work; name one as ACCOUNT/NAME, as in "home/work"`; err.Error() != want {
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
