package gone

import (
	"reflect"
	"testing"
)

func TestPlan_DecisionTable(t *testing.T) {
	meta := []string{"displayname", "color", "description"}
	file := func(n string) Entry { return Entry{Name: n, Regular: true} }
	for _, tc := range []struct {
		name string
		in   Input
		g    Collection
		want Action
	}{
		{name: "Never_FolderWithItems_Reported",
			in: Input{Fresh: true}, g: Collection{Entries: []Entry{file("a.ics")}},
			want: Action{Op: Report}},
		{name: "Never_EmptyFolder_Reported",
			in: Input{Fresh: true}, g: Collection{},
			want: Action{Op: Report}},
		{name: "Empty_OnlyMetadataFiles_Removed",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Entries: []Entry{file("displayname"), file("color"), file("description")}},
			want: Action{Op: Remove, Files: []string{"color", "description", "displayname"}}},
		{name: "Empty_NothingInTheFolder_Removed",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{},
			want: Action{Op: Remove}},
		{name: "Empty_FolderMissing_RecordDropped",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Missing: true},
			want: Action{Op: Drop}},
		{name: "Empty_AnItemFile_Kept",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Entries: []Entry{file("displayname"), file("a.ics")}},
			want: Action{Op: Report, Why: "it holds a.ics"}},
		{name: "Empty_AnUnknownFile_Kept",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Entries: []Entry{file("notes.txt"), file("color")}},
			want: Action{Op: Report, Why: "it holds notes.txt"}},
		{name: "Empty_AConflictCopy_Kept",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Entries: []Entry{file("a.ics.conflict-20260101T000000Z")}},
			want: Action{Op: Report, Why: "it holds a.ics.conflict-20260101T000000Z"}},
		{name: "Empty_ASubfolderNamedLikeMetadata_Kept",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Entries: []Entry{{Name: "color"}}},
			want: Action{Op: Report, Why: "it holds color"}},
		{name: "Empty_ServerListedNoneOfTheKind_Kept",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{ListedNone: true},
			want: Action{Op: Report, Why: "the server listed none of this kind, which may be a failure of its own"}},
		{name: "Empty_ListingReusedFromAnEarlierPass_Kept",
			in: Input{RemoveEmpty: true}, g: Collection{},
			want: Action{Op: Report, Why: "the list of collections was not read from the server in this pass"}},
		{name: "Forgotten_Quiet",
			in: Input{RemoveEmpty: true, Fresh: true}, g: Collection{Forgotten: true},
			want: Action{Op: Quiet}},
		{name: "Forgotten_WithItems_Quiet",
			in: Input{Fresh: true}, g: Collection{Forgotten: true, Entries: []Entry{file("a.ics")}},
			want: Action{Op: Quiet}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.g.Key, tc.want.Key = "acct/cal/", "acct/cal/"
			tc.in.Gone, tc.in.MetaFiles = []Collection{tc.g}, meta
			got := Plan(tc.in)
			if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Fatalf("Plan = %+v, want [%+v]", got, tc.want)
			}
		})
	}
}

func TestPlan_OneDecisionPerCollectionInOrder(t *testing.T) {
	in := Input{RemoveEmpty: true, Fresh: true, MetaFiles: []string{"color"}, Gone: []Collection{
		{Key: "a", Entries: []Entry{{Name: "x.ics", Regular: true}}}, {Key: "b"}, {Key: "c", Forgotten: true}}}
	var got []string
	for _, a := range Plan(in) {
		got = append(got, a.Key)
		if want := map[string]Op{"a": Report, "b": Remove, "c": Quiet}[a.Key]; a.Op != want {
			t.Errorf("%s: op %d, want %d", a.Key, a.Op, want)
		}
	}
	if !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("keys %v", got)
	}
}
