package newcol

import (
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/engine/plan"
)

// nameOf is local.CalendarName for the hrefs of these tests: the last
// segment, unescaped.
func nameOf(href string) string {
	seg := path.Base(strings.TrimSuffix(href, "/"))
	if u, err := url.PathUnescape(seg); err == nil {
		return u
	}
	return seg
}

func TestDecide(t *testing.T) {
	work := Folder{Path: "/cal/work", Name: "work", Meta: plan.Meta{DisplayName: "Work", Color: "#112233"}, Items: 2,
		ItemComponents: []string{"VEVENT"}, Fingerprint: "w1"}
	book := Folder{Path: "/books/friends", Name: "friends", AddressBook: true, Items: 2, Fingerprint: "f1"}
	base := func() Input {
		return Input{Home: "/dav/alice/", BookHome: "/dav/alice-books/", NameOf: nameOf}
	}
	with := func(f Folder, edit func(*Folder)) Folder { edit(&f); return f }
	for _, tc := range []struct {
		name    string
		folders []Folder
		edit    func(*Input)
		want    []string // "href components" of each collection made
		notes   int
	}{
		{name: "NewFolderWithItemsAndDisplayName_MadeAtHomePlusItsName", folders: []Folder{work, book},
			want: []string{"/dav/alice-books/friends/ ", "/dav/alice/work/ VEVENT"}},
		{name: "DisplayNameOnly_MadeWithTheServersComponents",
			folders: []Folder{with(work, func(f *Folder) { f.Items, f.ItemComponents = 0, nil })}, want: []string{"/dav/alice/work/ "}},
		{name: "EmptyFolder_NotMade", folders: []Folder{with(work, func(f *Folder) { f.Items, f.Meta = 0, plan.Meta{Color: "#112233"} })}},
		{name: "HiddenFolder_NotMade", folders: []Folder{with(work, func(f *Folder) { f.Name, f.Path = ".work", "/cal/.work" })}},
		{name: "FolderStateRecords_NotMade", folders: []Folder{work},
			edit: func(in *Input) { in.Taken = map[string]bool{"/cal/work": true} }},
		{name: "AccountListLeavesItOut_NotMade", folders: []Folder{work, book},
			edit: func(in *Input) { in.Calendars, in.AddressBooks = []string{"home"}, []string{"friends"} },
			want: []string{"/dav/alice-books/friends/ "}},
		{name: "AccountListNamesItsDisplayName_Made", folders: []Folder{work},
			edit: func(in *Input) { in.Calendars = []string{"Work"} }, want: []string{"/dav/alice/work/ VEVENT"}},
		{name: "SyncNamesAnother_NotMade", folders: []Folder{work, book},
			edit: func(in *Input) { in.Asked = []string{"friends"} }, want: []string{"/dav/alice-books/friends/ "}},
		{name: "Disabled_NotMadeAndNoted", folders: []Folder{work, book},
			edit: func(in *Input) { in.Disabled = true }, notes: 2},
		{name: "RefusedAndUnchanged_NotAskedAgainNorNoted", folders: []Folder{work},
			edit: func(in *Input) { in.Refused = map[string]string{"/cal/work": "w1"} }},
		{name: "RefusedThenChanged_AskedAgain", folders: []Folder{work},
			edit: func(in *Input) { in.Refused = map[string]string{"/cal/work": "w0"} }, want: []string{"/dav/alice/work/ VEVENT"}},
		{name: "RefusedButNamedToSync_AskedAgain", folders: []Folder{work},
			edit: func(in *Input) {
				in.Refused, in.Asked = map[string]string{"/cal/work": "w1"}, []string{"work"}
			}, want: []string{"/dav/alice/work/ VEVENT"}},
		{name: "NoHome_Noted", folders: []Folder{book}, edit: func(in *Input) { in.BookHome = "" }, notes: 1},
		{name: "NameWithSpacesAndSigns_EscapedAndMapsBack",
			folders: []Folder{with(work, func(f *Folder) { f.Name, f.Path = "Team 100% ü?#", "/cal/Team 100% ü?#" })},
			want:    []string{"/dav/alice/Team%20100%25%20%C3%BC%3F%23/ VEVENT"}},
		{name: "NameTheHrefDoesNotGiveBack_Noted",
			folders: []Folder{with(work, func(f *Folder) { f.Name, f.Path = "a\\b", "/cal/a\\b" })}, notes: 1},
		{name: "ComponentsFromItems_InSendingOrder",
			folders: []Folder{with(work, func(f *Folder) { f.ItemComponents = []string{"VTODO", "VEVENT", "VTODO", "VFREEBUSY"} })},
			want:    []string{"/dav/alice/work/ VEVENT,VTODO"}},
		{name: "ComponentsFile_CommaSeparatedOrOneALine_OverItems",
			folders: []Folder{with(work, func(f *Folder) { f.ComponentsFile = "vtodo, VJOURNAL\nVTODO\n" })},
			want:    []string{"/dav/alice/work/ VTODO,VJOURNAL"}},
		{name: "ComponentsFileWithAnUnknownName_NotMadeAndNoted",
			folders: []Folder{with(work, func(f *Folder) { f.ComponentsFile = "VEVENT\nVCARD\n" })}, notes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			in.Folders = tc.folders
			if tc.edit != nil {
				tc.edit(&in)
			}
			p := Decide(in)
			var got []string
			for _, c := range p.Create {
				got = append(got, c.Href+" "+strings.Join(c.Components, ","))
			}
			if !slices.Equal(got, tc.want) || len(p.Notes) != tc.notes {
				t.Fatalf("made %q with notes %q; want %q and %d notes", got, p.Notes, tc.want, tc.notes)
			}
		})
	}
}
