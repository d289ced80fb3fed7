package plan

import "testing"

// Each row is one rule of Choose; the name says the rule.
func TestChoose(t *testing.T) {
	clean := Facts{Existed: true, MarkersClean: true, FolderAsRecorded: true, ServerAsRecorded: true, HaveSyncToken: true}
	with := func(f Facts, edit func(*Facts)) Facts { edit(&f); return f }
	cases := []struct {
		name string
		f    Facts
		want Strategy
	}{
		{"NewCollection_NeedsListing", Facts{}, NeedListing},
		{"LastPassFailed_NeedsListing", with(clean, func(f *Facts) { f.MarkersClean = false }), NeedListing},
		{"FolderAndMarkerAsRecorded_Unchanged", clean, Unchanged},
		{"FolderAndMarkerAsRecorded_DryRun_Unchanged", with(clean, func(f *Facts) { f.DryRun = true }), Unchanged},
		{"OnlyServerChanged_WithToken_ScopedDelta", with(clean, func(f *Facts) { f.ServerAsRecorded = false }), ScopedDelta},
		{"OnlyServerChanged_NoToken_NeedsListing", with(clean, func(f *Facts) { f.ServerAsRecorded, f.HaveSyncToken = false, false }), NeedListing},
		{"OnlyFolderChanged_ScopedLocal", with(clean, func(f *Facts) { f.FolderAsRecorded = false }), ScopedLocal},
		{"OnlyFolderChanged_NoToken_ScopedLocal", with(clean, func(f *Facts) { f.FolderAsRecorded, f.HaveSyncToken = false, false }), ScopedLocal},
		{"BothChanged_WithToken_ScopedBoth", with(clean, func(f *Facts) { f.FolderAsRecorded, f.ServerAsRecorded = false, false }), ScopedBoth},
		{"BothChanged_NoToken_NeedsListing", with(clean, func(f *Facts) { f.FolderAsRecorded, f.ServerAsRecorded, f.HaveSyncToken = false, false, false }), NeedListing},
		{"ServerChanged_DryRun_NeedsListing", with(clean, func(f *Facts) { f.ServerAsRecorded, f.DryRun = false, true }), NeedListing},
		{"FolderChanged_DryRun_NeedsListing", with(clean, func(f *Facts) { f.FolderAsRecorded, f.DryRun = false, true }), NeedListing},
		{"ScopedDeltaGaveUp_NeedsListing", with(clean, func(f *Facts) { f.ServerAsRecorded, f.ScopedGaveUp = false, true }), NeedListing},
		{"ScopedLocalGaveUp_NeedsListing", with(clean, func(f *Facts) { f.FolderAsRecorded, f.ScopedGaveUp = false, true }), NeedListing},
		{"ScopedBothGaveUp_NeedsListing", with(clean, func(f *Facts) { f.FolderAsRecorded, f.ServerAsRecorded, f.ScopedGaveUp = false, false, true }), NeedListing},
		{"Staged_EverythingElseAsRecorded_NeedsListing", with(clean, func(f *Facts) { f.Staged = true }), NeedListing},
		{"Staged_NewCollection_NeedsListing", Facts{Staged: true}, NeedListing},

		{"Listed_NewCollectionNothingOnEitherSide_FirstDownload", Facts{Listed: true}, FirstDownload},
		{"Listed_FirstDownloadNeverCompleted_FirstDownload", Facts{Existed: true, Listed: true}, FirstDownload},
		{"Listed_NewCollection_DryRun_Full", Facts{Listed: true, DryRun: true}, Full},
		{"Listed_NewCollectionWithLocalFiles_Full", Facts{Listed: true, LocalFiles: 3}, Full},
		{"Listed_ItemsKnown_Full", Facts{Existed: true, Listed: true, Known: 2}, Full},
		{"Listed_EmptyCalendarStillEmpty_Full", Facts{Existed: true, ServerAsRecorded: true, Listed: true}, Full},
		{"Listed_StagedItemsRecorded_ResumeFirstDownload", Facts{Existed: true, Staged: true, Listed: true, Known: 1200}, ResumeFirstDownload},
		{"Listed_StagedItemsRecorded_FolderMadeMeanwhileWithFiles_ResumeFirstDownload", Facts{Existed: true, Staged: true, Listed: true, Known: 1200, LocalFiles: 2}, ResumeFirstDownload},
		{"Listed_StagedItemsRecorded_DryRun_ResumeFirstDownload", Facts{Existed: true, Staged: true, DryRun: true, Listed: true, Known: 1200}, ResumeFirstDownload},
		{"Listed_StagedItemsRecorded_ServerAsRecorded_ResumeFirstDownload", Facts{Existed: true, ServerAsRecorded: true, Staged: true, Listed: true, Known: 1200}, ResumeFirstDownload},
		{"Listed_StagedNothingRecorded_FirstDownload", Facts{Existed: true, Staged: true, Listed: true}, FirstDownload},
		{"Listed_StagedNothingRecorded_FolderMadeMeanwhileWithFiles_Full", Facts{Existed: true, Staged: true, Listed: true, LocalFiles: 3}, Full},
		{"Listed_StagedNothingRecorded_DryRun_Full", Facts{Staged: true, DryRun: true, Listed: true}, Full},
		{"Listed_ScopedGaveUp_ItemsKnown_Full", with(clean, func(f *Facts) { f.ScopedGaveUp, f.Listed, f.Known = true, true, 5 }), Full},
	}
	seen := map[Strategy]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Choose(c.f); got != c.want {
				t.Fatalf("Choose(%+v) = %v, want %v", c.f, got, c.want)
			}
		})
		seen[c.want] = true
	}
	for s := NeedListing; s <= Full; s++ {
		if !seen[s] {
			t.Errorf("no row ends in %v", s)
		}
	}
}

func TestStrategy_TextRoundTrip_EveryStrategyByName(t *testing.T) {
	for s := NeedListing; s <= Full; s++ {
		b, err := s.MarshalText()
		if err != nil || string(b) != s.String() {
			t.Fatalf("MarshalText(%v) = %q, %v", s, b, err)
		}
		var got Strategy
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", b, got, err, s)
		}
	}
	var s Strategy
	if err := s.UnmarshalText([]byte("sideways")); err == nil {
		t.Fatal("an unknown name was accepted")
	}
}
