package plan

import (
	"slices"
	"testing"
)

func TestPlanMeta_DecisionTable(t *testing.T) {
	base := Meta{DisplayName: "Work", Color: "#AABBCC", Description: "d"}
	with := func(f func(*Meta)) Meta { m := base; f(&m); return m }
	renamed := with(func(m *Meta) { m.DisplayName = "Job" })
	tests := []struct {
		name                string
		base, local, remote Meta
		known, readOnly     bool
		push, pull          []string
		wantBase            Meta
		notes               int
	}{
		{"NoChange_NothingToDo", base, base, base, true, false, nil, nil, base, 0},
		{"LocalChangedOnly_Pushes", base, renamed, base, true, false, []string{"displayname"}, nil, renamed, 0},
		{"RemoteChangedOnly_Pulls", base, base, renamed, true, false, nil, []string{"displayname"}, renamed, 0},
		{"BothChangedAlike_NothingToDo", base, renamed, renamed, true, false, nil, nil, renamed, 0},
		{"BothChangedDifferently_ServerWinsWithNote", base, with(func(m *Meta) { m.DisplayName = "Mine" }), renamed, true, false,
			nil, []string{"displayname"}, renamed, 1},
		{"ReadOnlyLocalChange_NotPushedWithNote", base, renamed, base, true, true, nil, nil, base, 1},
		{"ReadOnlyRemoteChange_Pulls", base, base, renamed, true, true, nil, []string{"displayname"}, renamed, 0},
		{"ColorSpellings_Equal", base, with(func(m *Meta) { m.Color = "#aabbccff" }), base, true, false, nil, nil, base, 0},
		{"ColorChangedLocally_Pushes", base, with(func(m *Meta) { m.Color = "#112233" }), base, true, false,
			[]string{"color"}, nil, with(func(m *Meta) { m.Color = "#112233" }), 0},
		{"LocalFieldEmptied_PushesEmpty", base, with(func(m *Meta) { m.Description = "" }), base, true, false,
			[]string{"description"}, nil, with(func(m *Meta) { m.Description = "" }), 0},
		{"UnknownBase_PullsServer", Meta{}, Meta{DisplayName: "Old"}, base, false, false,
			nil, []string{"displayname", "color", "description"}, base, 0},
		{"UnknownBase_OnlyFolderHasValue_Pushes", Meta{}, Meta{DisplayName: "Old"}, Meta{}, false, false,
			[]string{"displayname"}, nil, Meta{DisplayName: "Old"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanMeta(tt.base, tt.local, tt.remote, tt.known, tt.readOnly)
			if !slices.Equal(got.PushFields, tt.push) || !slices.Equal(got.PullFields, tt.pull) {
				t.Errorf("push %v pull %v, want push %v pull %v", got.PushFields, got.PullFields, tt.push, tt.pull)
			}
			if got.Base != tt.wantBase {
				t.Errorf("base %+v, want %+v", got.Base, tt.wantBase)
			}
			if len(got.Notes) != tt.notes {
				t.Errorf("notes %q, want %d", got.Notes, tt.notes)
			}
			for _, f := range got.PushFields {
				if f == "displayname" && got.Push.DisplayName != tt.local.DisplayName {
					t.Errorf("push displayname %q, want %q", got.Push.DisplayName, tt.local.DisplayName)
				}
			}
		})
	}
}

func TestSameColor_IgnoresCaseAndOpaqueAlpha(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"#AABBCC", "#aabbccff", true},
		{"#aabbcc", "#AABBCC", true},
		{"#AABBCC", "#AABBCC80", false},
		{"#AABBCC", "#AABBCD", false},
		{"", "#AABBCC", false},
	} {
		if got := SameColor(c.a, c.b); got != c.same {
			t.Errorf("SameColor(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
