package plan

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// Fixtures: item "a" was synced as /c/a.ics etag e1, a.ics, content h1.
var (
	kA = Known{Href: "/c/a.ics", ETag: "e1", Name: "a.ics", Hash: "h1", UID: "a"}
	// z is an untouched second item, so deleting a does not empty a side
	// (which the empty-side guard would refuse).
	kZ = Known{Href: "/c/z.ics", ETag: "ez", Name: "z.ics", Hash: "hz", UID: "z"}
	lZ = Local{Name: "z.ics", Hash: "hz", UID: "z"}
	rZ = Remote{Href: "/c/z.ics", ETag: "ez"}

	lSame    = Local{Name: "a.ics", Hash: "h1", UID: "a"}
	lChanged = Local{Name: "a.ics", Hash: "h2", UID: "a"}
	rSame    = Remote{Href: "/c/a.ics", ETag: "e1"}
	rChanged = Remote{Href: "/c/a.ics", ETag: "e2", Hash: "h3", UID: "a"}
)

type planCase struct {
	name     string
	known    []Known
	local    []Local
	remote   []Remote
	opts     Options
	rejected map[string]Rejection
	want     []string // Action.String() of each action, in plan order
	reason   string   // if set, a substring of some action's Reason
}

func runCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Plan(Input{Known: c.known, Local: c.local, Remote: c.remote, Options: c.opts, Rejected: c.rejected})
			if res.Refused != nil {
				t.Fatalf("refused: %s", res.Refused.Reason)
			}
			got := actionStrings(res.Actions)
			if !slices.Equal(got, c.want) {
				t.Errorf("actions\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(c.want, "\n      "))
			}
			if c.reason != "" && !slices.ContainsFunc(res.Actions, func(a Action) bool { return strings.Contains(a.Reason, c.reason) }) {
				t.Errorf("no action with reason containing %q: %+v", c.reason, res.Actions)
			}
		})
	}
}

func actionStrings(acts []Action) []string {
	out := []string{}
	for _, a := range acts {
		out = append(out, a.String())
	}
	return out
}

func TestPlan_DecisionTable(t *testing.T) {
	runCases(t, []planCase{
		{name: "BothUnchanged_NoAction",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{rSame}, want: []string{}},
		{name: "LocalTouchedButIdentical_NoAction", // engine re-hashed after an mtime change: same hash
			known: []Known{kA}, local: []Local{{Name: "a.ics", Hash: "h1", UID: "a"}}, remote: []Remote{rSame}, want: []string{}},
		{name: "LocalUnchangedRemoteChanged_Downloads",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{rChanged},
			want: []string{"download name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a"}},
		{name: "LocalUnchangedRemoteNewETagSameBytes_RecordsETag",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{{Href: "/c/a.ics", ETag: "e2", Hash: "h1", UID: "a"}},
			want: []string{"record name=a.ics href=/c/a.ics etag=e2 hash=h1 uid=a"}},
		{name: "LocalChangedRemoteUnchanged_UploadsIfMatchKnownETag",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rSame},
			want: []string{"upload name=a.ics href=/c/a.ics etag=e1 hash=h2 uid=a"}},
		{name: "LocalChangedRemoteNewETagSameBytes_UploadsIfMatchNewETag",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{{Href: "/c/a.ics", ETag: "e2", Hash: "h1", UID: "a"}},
			want: []string{"upload name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a"}},
		{name: "BothChangedIdentically_Records",
			known: []Known{kA}, local: []Local{{Name: "a.ics", Hash: "h3", UID: "a"}}, remote: []Remote{rChanged},
			want: []string{"record name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a"}, reason: "identical"},
		{name: "BothChangedToSameContentInAnotherLayout_RecordsLocalBytes",
			known: []Known{kA}, local: []Local{{Name: "a.ics", Hash: "h2", UID: "a", Content: "k2"}},
			remote: []Remote{{Href: "/c/a.ics", ETag: "e2", Hash: "h3", UID: "a", Content: "k2"}},
			want:   []string{"record name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a"}, reason: "another layout"},
		{name: "BothChangedDifferently_ConflictServerWinsByDefault",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged},
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}, reason: "server wins"},
		{name: "BothChangedDifferentlyWithMerging_MergesIfMatchServerETag",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: Options{Merge: true},
			want: []string{"merge name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=remote"}, reason: "merged against the last synced version"},
		{name: "LocalNew_CreatesWithEngineChosenHref",
			known: []Known{kA}, local: []Local{lSame, {Name: "b.ics", Hash: "hb", UID: "b"}}, remote: []Remote{rSame},
			want: []string{"create name=b.ics hash=hb uid=b"}},
		{name: "RemoteNew_DownloadsUnderEngineChosenName",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{rSame, {Href: "/c/b.ics", ETag: "eb", Hash: "hb", UID: "b"}},
			want: []string{"download href=/c/b.ics etag=eb hash=hb uid=b"}},
		{name: "LocalDeletedRemoteUnchanged_DeletesRemoteIfMatch",
			known: []Known{kA, kZ}, local: []Local{lZ}, remote: []Remote{rSame, rZ},
			want: []string{"delete-remote name=a.ics href=/c/a.ics etag=e1 hash=h1 uid=a"}},
		{name: "LocalDeletedRemoteNewETagSameBytes_DeletesRemoteIfMatchNewETag",
			known: []Known{kA, kZ}, local: []Local{lZ}, remote: []Remote{{Href: "/c/a.ics", ETag: "e2", Hash: "h1", UID: "a"}, rZ},
			want: []string{"delete-remote name=a.ics href=/c/a.ics etag=e2 hash=h1 uid=a"}},
		{name: "LocalUnchangedRemoteDeleted_DeletesLocal",
			known: []Known{kA, kZ}, local: []Local{lSame, lZ}, remote: []Remote{rZ},
			want: []string{"delete-local name=a.ics href=/c/a.ics hash=h1 uid=a"}},
		{name: "LocalChangedRemoteDeleted_RecreatesOnServer",
			known: []Known{kA, kZ}, local: []Local{lChanged, lZ}, remote: []Remote{rZ},
			want: []string{"create name=a.ics href=/c/a.ics hash=h2 uid=a"}},
		{name: "LocalDeletedRemoteChanged_Redownloads",
			known: []Known{kA, kZ}, local: []Local{lZ}, remote: []Remote{rChanged, rZ},
			want: []string{"download name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a"}},
		{name: "DeletedOnBothSides_Forgets",
			known: []Known{kA, kZ}, local: []Local{lZ}, remote: []Remote{rZ},
			want: []string{"forget name=a.ics href=/c/a.ics uid=a"}},
	})
}

func TestPlan_FirstContact(t *testing.T) {
	local := []Local{{Name: "b.ics", Hash: "hl", UID: "u"}}
	remote := []Remote{{Href: "/c/x.ics", ETag: "ex", Hash: "hr", UID: "u"}}
	runCases(t, []planCase{
		{name: "SameUIDIdentical_Records",
			local: []Local{{Name: "b.ics", Hash: "h", UID: "u"}}, remote: []Remote{{Href: "/c/x.ics", ETag: "ex", Hash: "h", UID: "u"}},
			want: []string{"record name=b.ics href=/c/x.ics etag=ex hash=h uid=u"}},
		{name: "SameUIDSameContentInAnotherLayout_RecordsNothingWritten",
			local:  []Local{{Name: "u.ics", Hash: "hl", UID: "u", Content: "k"}},
			remote: []Remote{{Href: "/c/x.ics", ETag: "ex", Hash: "hr", UID: "u", Content: "k"}},
			want:   []string{"record name=u.ics href=/c/x.ics etag=ex hash=hl uid=u"}, reason: "first contact, the same content in another layout"},
		{name: "SameUIDOtherContentKeys_Conflict",
			local:  []Local{{Name: "u.ics", Hash: "hl", UID: "u", Content: "k1"}},
			remote: []Remote{{Href: "/c/x.ics", ETag: "ex", Hash: "hr", UID: "u", Content: "k2"}},
			want:   []string{"conflict name=u.ics href=/c/x.ics etag=ex hash=hr uid=u winner=remote"}},
		{name: "SameUIDDifferent_ServerWins_ConflictRemoteWinner",
			local: local, remote: remote,
			want: []string{"conflict name=b.ics href=/c/x.ics etag=ex hash=hr uid=u winner=remote"}},
		{name: "SameUIDDifferent_LocalWins_ConflictLocalWinnerIfMatchRemoteETag",
			local: local, remote: remote, opts: Options{Policy: LocalWins},
			want: []string{"conflict name=b.ics href=/c/x.ics etag=ex hash=hl uid=u winner=local"}},
		{name: "SameUIDDifferent_KeepBoth_ConflictRemoteWinnerKeepBoth",
			local: local, remote: remote, opts: Options{Policy: KeepBoth},
			want: []string{"conflict name=b.ics href=/c/x.ics etag=ex hash=hr uid=u winner=remote keep-both"}},
		{name: "OnlyLocal_Creates",
			local: local, remote: []Remote{{Href: "/c/y.ics", ETag: "ey", Hash: "hy", UID: "y"}},
			want: []string{"download href=/c/y.ics etag=ey hash=hy uid=y", "create name=b.ics hash=hl uid=u"}},
		{name: "DifferentUIDs_CreateAndDownloadBoth",
			local:  []Local{{Name: "b.ics", Hash: "hb", UID: "b"}, {Name: "c.ics", Hash: "hc", UID: "c"}},
			remote: []Remote{{Href: "/c/c.ics", ETag: "ec", Hash: "hc", UID: "c"}, {Href: "/c/d.ics", ETag: "ed", Hash: "hd", UID: "d"}},
			want:   []string{"download href=/c/d.ics etag=ed hash=hd uid=d", "create name=b.ics hash=hb uid=b", "record name=c.ics href=/c/c.ics etag=ec hash=hc uid=c"}},
		{name: "StateLostAfterCrash_MatchedByUIDNotDuplicated",
			known:  []Known{kZ},
			local:  []Local{lZ, {Name: "a.ics", Hash: "h1", UID: "a"}},
			remote: []Remote{rZ, {Href: "/c/server-picked.ics", ETag: "e9", Hash: "h1", UID: "a"}},
			want:   []string{"record name=a.ics href=/c/server-picked.ics etag=e9 hash=h1 uid=a"}},
	})
}

func TestPlan_Policies(t *testing.T) {
	in := func(p Policy) planCase {
		return planCase{known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: Options{Policy: p}}
	}
	c1, c2, c3 := in(ServerWins), in(LocalWins), in(KeepBoth)
	c1.name, c1.want = "ServerWins_RemoteContentWinsLocalIsConflictCopy", []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}
	c2.name, c2.want = "LocalWins_PutLocalIfMatchCurrentETag", []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=local"}
	c3.name, c3.want = "KeepBoth_RemoteWinsFileLocalBecomesNewItem", []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote keep-both"}
	runCases(t, []planCase{c1, c2, c3})
}

// TestPlan_Merge: with merging on, an item changed differently on both
// sides is merged against its base wherever the merge can be written back;
// the policy then only says whose values the properties both sides
// changed take. Everything else stays as without merging.
func TestPlan_Merge(t *testing.T) {
	merging := func(p Policy) Options { return Options{Merge: true, Policy: p} }
	pk := Known{Href: "/c/a.ics", ETag: PseudoETagPrefix + "h1", Name: "a.ics", Hash: "h1", UID: "a"}
	runCases(t, []planCase{
		{name: "ServerWins_ServerValuesForPropertiesBothChanged",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: merging(ServerWins),
			want: []string{"merge name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=remote"}},
		{name: "LocalWins_LocalValuesForPropertiesBothChanged",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: merging(LocalWins),
			want: []string{"merge name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=local"}},
		{name: "KeepBoth_ServerValuesLocalVersionKeptAsCopy",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: merging(KeepBoth),
			want: []string{"merge name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=remote"}},
		{name: "RenamedLocallyAndChangedOnBothSides_MergedUnderTheNewName",
			known: []Known{kA}, local: []Local{{Name: "b.ics", Hash: "h2", UID: "a"}}, remote: []Remote{rChanged}, opts: merging(ServerWins),
			want: []string{"merge name=b.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=remote"}},
		{name: "BothChangedToTheSameContent_RecordedNotMerged",
			known: []Known{kA}, local: []Local{{Name: "a.ics", Hash: "h2", UID: "a", Content: "k"}}, remote: []Remote{{Href: "/c/a.ics", ETag: "e2", Hash: "h3", UID: "a", Content: "k"}},
			opts: merging(ServerWins), want: []string{"record name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a"}},
		{name: "ReadOnlyCalendar_ResolvedWholeServerWins",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: Options{Merge: true, ReadOnly: true, Policy: LocalWins},
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}},
		{name: "ServerGivesNoETag_ResolvedWholeAsWithoutMerging",
			known: []Known{pk}, local: []Local{lChanged}, remote: []Remote{{Href: "/c/a.ics", ETag: PseudoETagPrefix + "h3", Hash: "h3", UID: "a"}}, opts: merging(ServerWins),
			want: []string{"conflict name=a.ics href=/c/a.ics etag=" + PseudoETagPrefix + "h3 hash=h3 uid=a winner=remote"}},
		{name: "FirstContactNoBase_ResolvedWhole",
			local: []Local{{Name: "a.ics", Hash: "h2", UID: "a"}}, remote: []Remote{rChanged}, opts: merging(ServerWins),
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}},
		{name: "MergingOff_ResolvedWhole",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: Options{Policy: LocalWins},
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a winner=local"}},
	})
}

func TestPlan_ReadOnly(t *testing.T) {
	ro := Options{ReadOnly: true}
	runCases(t, []planCase{
		{name: "LocalChanged_SkippedNotUploaded",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rSame}, opts: ro,
			want: []string{"skip name=a.ics href=/c/a.ics etag=e1 hash=h2 uid=a"}, reason: "read-only calendar: local change kept"},
		{name: "LocalNew_SkippedNotCreated",
			known: []Known{kA}, local: []Local{lSame, {Name: "b.ics", Hash: "hb", UID: "b"}}, remote: []Remote{rSame}, opts: ro,
			want: []string{"skip name=b.ics hash=hb uid=b"}, reason: "read-only"},
		{name: "LocalDeleted_SkippedNotDeletedOnServer",
			known: []Known{kA, kZ}, local: []Local{lZ}, remote: []Remote{rSame, rZ}, opts: ro,
			want: []string{"skip name=a.ics href=/c/a.ics etag=e1 hash=h1 uid=a"}, reason: "read-only"},
		{name: "LocalChangedRemoteDeleted_SkippedNotRecreated",
			known: []Known{kA, kZ}, local: []Local{lChanged, lZ}, remote: []Remote{rZ}, opts: ro,
			want: []string{"skip name=a.ics href=/c/a.ics hash=h2 uid=a"}},
		{name: "RemoteChanged_StillDownloads",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{rChanged}, opts: ro,
			want: []string{"download name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a"}},
		{name: "BothChangedLocalWinsPolicy_ResolvesAsServerWins",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: Options{ReadOnly: true, Policy: LocalWins},
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}},
		{name: "BothChangedKeepBothPolicy_NoNewServerItem",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, opts: Options{ReadOnly: true, Policy: KeepBoth},
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}},
	})
}

func TestPlan_RefusedByServer(t *testing.T) {
	refusedH2 := map[string]Rejection{"a.ics": {Hash: "h2", Reason: "403 Forbidden (valid-calendar-data): DTEND must occur after DTSTART"}}
	refusedNew := map[string]Rejection{"b.ics": {Hash: "hb", Reason: "400 Bad Request"}}
	lNew := Local{Name: "b.ics", Hash: "hb", UID: "b"}
	runCases(t, []planCase{
		{name: "SameBytesAgain_NotUploaded_ReportedWithTheServersReason",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rSame}, rejected: refusedH2,
			want: []string{"rejected name=a.ics href=/c/a.ics etag=e1 hash=h2 uid=a"}, reason: "DTEND must occur after DTSTART"},
		{name: "FileChangedSince_UploadedAgain",
			known: []Known{kA}, local: []Local{{Name: "a.ics", Hash: "h4", UID: "a"}}, remote: []Remote{rSame}, rejected: refusedH2,
			want: []string{"upload name=a.ics href=/c/a.ics etag=e1 hash=h4 uid=a"}},
		{name: "NewFileSameBytes_NotCreated",
			known: []Known{kA}, local: []Local{lSame, lNew}, remote: []Remote{rSame}, rejected: refusedNew,
			want: []string{"rejected name=b.ics hash=hb uid=b"}, reason: "400 Bad Request"},
		{name: "NewFileChanged_CreatedAgain",
			known: []Known{kA}, local: []Local{lSame, {Name: "b.ics", Hash: "hb2", UID: "b"}}, remote: []Remote{rSame}, rejected: refusedNew,
			want: []string{"create name=b.ics hash=hb2 uid=b"}},
		{name: "RecreateAfterServerDeleteSameBytes_NotSent",
			known: []Known{kA, kZ}, local: []Local{lChanged, lZ}, remote: []Remote{rZ}, rejected: refusedH2,
			want: []string{"rejected name=a.ics href=/c/a.ics hash=h2 uid=a"}},
		{name: "ServerChangedMeanwhile_ConflictAsUsual",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rChanged}, rejected: refusedH2,
			want: []string{"conflict name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a winner=remote"}},
		{name: "LocalUnchangedRemoteChanged_StillDownloads",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{rChanged}, rejected: map[string]Rejection{"a.ics": {Hash: "h1"}},
			want: []string{"download name=a.ics href=/c/a.ics etag=e2 hash=h3 uid=a"}},
		{name: "ReadOnlyCalendar_SkipAsBefore",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{rSame}, rejected: refusedH2, opts: Options{ReadOnly: true},
			want: []string{"skip name=a.ics href=/c/a.ics etag=e1 hash=h2 uid=a"}, reason: "read-only"},
	})
}

func TestPlan_InvalidLocalFile(t *testing.T) {
	bad := Local{Name: "a.ics", Hash: "hbad", Invalid: "no UID"}
	runCases(t, []planCase{
		{name: "KnownItemBroken_NotUploaded",
			known: []Known{kA}, local: []Local{bad}, remote: []Remote{rSame},
			want: []string{"skip name=a.ics href=/c/a.ics uid=a"}, reason: "no UID"},
		{name: "KnownItemBrokenRemoteChanged_NotOverwritten",
			known: []Known{kA}, local: []Local{bad}, remote: []Remote{rChanged},
			want: []string{"skip name=a.ics href=/c/a.ics uid=a"}, reason: "held"},
		{name: "KnownItemBrokenRemoteDeleted_NotDeletedLocally",
			known: []Known{kA, kZ}, local: []Local{bad, lZ}, remote: []Remote{rZ},
			want: []string{"skip name=a.ics href=/c/a.ics uid=a"}},
		{name: "NewBrokenFile_NotCreated",
			known: []Known{kA}, local: []Local{lSame, {Name: "b.ics", Invalid: "two VCALENDARs"}}, remote: []Remote{rSame},
			want: []string{"skip name=b.ics"}, reason: "two VCALENDARs"},
	})
}

func TestPlan_DuplicateUID(t *testing.T) {
	runCases(t, []planCase{
		{name: "TwoNewFilesOneUID_SkipsTheLaterName",
			local: []Local{{Name: "c.ics", Hash: "h2", UID: "u"}, {Name: "b.ics", Hash: "h1", UID: "u"}},
			want:  []string{"create name=b.ics hash=h1 uid=u", "skip name=c.ics uid=u"}, reason: "duplicate UID u, also in b.ics"},
		{name: "NewFileWithUIDOfKnownFile_SkipsNewcomer",
			known: []Known{kA}, local: []Local{lSame, {Name: "copy.ics", Hash: "h1", UID: "a"}}, remote: []Remote{rSame},
			want: []string{"skip name=copy.ics uid=a"}, reason: "also in a.ics"},
		{name: "KnownFileEditedToAnotherItemsUID_HeldNotUploaded",
			known: []Known{kA, kZ}, local: []Local{{Name: "a.ics", Hash: "h2", UID: "z"}, lZ}, remote: []Remote{rSame, rZ},
			want: []string{"skip name=a.ics href=/c/a.ics uid=z"}, reason: "duplicate UID z, also in z.ics"},
		{name: "ServerHoldsUIDTwice_SecondNotDownloaded",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{rSame, {Href: "/c/dup.ics", ETag: "ed", Hash: "hd", UID: "a"}},
			want: []string{"skip href=/c/dup.ics etag=ed uid=a"}, reason: "on the server, also at /c/a.ics"},
	})
}

func TestPlan_Renames(t *testing.T) {
	runCases(t, []planCase{
		{name: "LocalRenamed_RecordsNewNameNoDeleteNoCreate",
			known: []Known{kA}, local: []Local{{Name: "renamed.ics", Hash: "h1", UID: "a"}}, remote: []Remote{rSame},
			want: []string{"record name=renamed.ics href=/c/a.ics etag=e1 hash=h1 uid=a"}},
		{name: "LocalRenamedAndEdited_UploadsFromNewName",
			known: []Known{kA}, local: []Local{{Name: "renamed.ics", Hash: "h2", UID: "a"}}, remote: []Remote{rSame},
			want: []string{"upload name=renamed.ics href=/c/a.ics etag=e1 hash=h2 uid=a"}},
		{name: "RemoteMovedToNewHref_ForgetsOldHrefRecordsNew",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{{Href: "/c/moved.ics", ETag: "e7", Hash: "h1", UID: "a"}},
			want: []string{"forget name=a.ics href=/c/a.ics uid=a", "record name=a.ics href=/c/moved.ics etag=e7 hash=h1 uid=a"}},
		{name: "RemoteMovedAndChanged_DownloadsFromNewHref",
			known: []Known{kA}, local: []Local{lSame}, remote: []Remote{{Href: "/c/moved.ics", ETag: "e7", Hash: "h9", UID: "a"}},
			want: []string{"forget name=a.ics href=/c/a.ics uid=a", "download name=a.ics href=/c/moved.ics etag=e7 hash=h9 uid=a"}},
	})
}

// known20 gives n synced items with local and remote listings.
func synced(n int) ([]Known, []Local, []Remote) {
	var k []Known
	var l []Local
	var r []Remote
	for i := range n {
		id := fmt.Sprintf("i%02d", i)
		k = append(k, Known{Href: "/c/" + id + ".ics", ETag: "e" + id, Name: id + ".ics", Hash: "h" + id, UID: id})
		l = append(l, Local{Name: id + ".ics", Hash: "h" + id, UID: id})
		r = append(r, Remote{Href: "/c/" + id + ".ics", ETag: "e" + id})
	}
	return k, l, r
}

func count(acts []Action, k Kind) int {
	n := 0
	for _, a := range acts {
		if a.Kind == k {
			n++
		}
	}
	return n
}

// guardCase is n items in sync, some then deleted on one side, and what
// the mass-delete guard must make of it.
type guardCase struct {
	name                  string
	n                     int
	dropLocal, dropRemote int     // items deleted locally, on the server
	newLocal              []Local // files added
	localMissing, noState bool    // the local root is missing; nothing recorded
	opts                  Options
	refused               Side // NoSide with wantNil = allowed
	allowed               bool
	deletes               int // refused: Refusal.Deletes; allowed: number of delete actions
	delKind               Kind
	inReason              string
}

func (c guardCase) input() Input {
	k, l, r := synced(c.n)
	in := Input{Known: k, Local: append(l[c.dropLocal:], c.newLocal...), Remote: r[c.dropRemote:], LocalMissing: c.localMissing, Options: c.opts}
	if c.noState {
		in.Known = nil
	}
	return in
}

func TestPlan_Guards(t *testing.T) {
	allow := Options{AllowMassDelete: true}
	cases := []guardCase{
		{name: "LocalMissing_RefusedEvenWithAllowMassDelete", n: 3, dropLocal: 3, localMissing: true, opts: allow, refused: NoSide, inReason: "missing"},
		{name: "LocalMissingNoState_Refused", n: 3, dropLocal: 3, localMissing: true, noState: true, refused: NoSide},
		{name: "EmptyRemoteListing_RefusedNoLocalDeletes", n: 1, dropRemote: 1, refused: RemoteSide, deletes: 1, inReason: "--allow-mass-delete"},
		{name: "EmptyRemoteListingConfirmed_DeletesLocal", n: 3, dropRemote: 3, opts: allow, allowed: true, deletes: 3, delKind: DeleteLocal},
		{name: "EmptyLocalFolder_RefusedNoServerDeletes", n: 2, dropLocal: 2, refused: LocalSide, deletes: 2, inReason: "--allow-mass-delete"},
		{name: "EmptyLocalFolderConfirmed_DeletesRemote", n: 2, dropLocal: 2, opts: allow, allowed: true, deletes: 2, delKind: DeleteRemote},
		{name: "Known20LocalDeleted16_Refused", n: 20, dropLocal: 16, refused: LocalSide, deletes: 16, inReason: "16 of 20"},
		{name: "Known20LocalDeleted16Confirmed_16RemoteDeletes", n: 20, dropLocal: 16, opts: allow, allowed: true, deletes: 16, delKind: DeleteRemote},
		{name: "Known20RemoteDeleted16_Refused", n: 20, dropRemote: 16, refused: RemoteSide, deletes: 16, inReason: "16 of 20"},
		{name: "Known20RemoteDeleted16Confirmed_16LocalDeletes", n: 20, dropRemote: 16, opts: allow, allowed: true, deletes: 16, delKind: DeleteLocal},
		{name: "Known20HalfDeleted_AllowedAtExactlyTheFraction", n: 20, dropLocal: 10, allowed: true, deletes: 10, delKind: DeleteRemote},
		{name: "Known5AllDeletedButANewFile_AllowedSmallCollection", n: 5, dropLocal: 5, newLocal: []Local{{Name: "new.ics", Hash: "hn", UID: "n"}}, allowed: true, deletes: 5, delKind: DeleteRemote},
		{name: "Known5AllDeleted_RefusedAsEmptyFolder", n: 5, dropLocal: 5, refused: LocalSide, deletes: 5},
		{name: "Known6Deleted4_RefusedJustAboveMin", n: 6, dropLocal: 4, refused: LocalSide, deletes: 4},
		{name: "CustomThresholds_Respected", n: 10, dropLocal: 2, opts: Options{MaxDeleteFraction: 0.1, MaxDeleteMin: 2}, refused: LocalSide, deletes: 2},
		{name: "ReadOnlySkippedDeletes_DoNotCount", n: 20, dropLocal: 16, opts: Options{ReadOnly: true}, allowed: true, deletes: 0, delKind: DeleteRemote},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Plan(c.input())
			if c.allowed {
				if res.Refused != nil {
					t.Fatalf("refused: %s", res.Refused.Reason)
				}
				if n := count(res.Actions, c.delKind); n != c.deletes {
					t.Errorf("%d %s actions, want %d", n, c.delKind, c.deletes)
				}
				return
			}
			if res.Refused == nil {
				t.Fatalf("not refused; actions: %v", actionStrings(res.Actions))
			}
			if res.Actions != nil {
				t.Errorf("refused plan has actions: %v", res.Actions)
			}
			if res.Refused.Side != c.refused {
				t.Errorf("side %v, want %v", res.Refused.Side, c.refused)
			}
			if c.deletes != 0 && res.Refused.Deletes != c.deletes {
				t.Errorf("deletes %d, want %d", res.Refused.Deletes, c.deletes)
			}
			if !strings.Contains(res.Refused.Reason, c.inReason) {
				t.Errorf("reason %q does not mention %q", res.Refused.Reason, c.inReason)
			}
		})
	}
}

func TestPlan_OutputOrderIndependentOfInputOrder(t *testing.T) {
	k, l, r := synced(12)
	l[1].Hash = "changed"
	r[2] = Remote{Href: r[2].Href, ETag: "new", Hash: "other", UID: k[2].UID}
	l = append(l[:3], l[4:]...)
	r = append(r[:5], r[6:]...)
	l = append(l, Local{Name: "new.ics", Hash: "hn", UID: "n"}, Local{Name: "dup.ics", Hash: "hd", UID: "n"})
	r = append(r, Remote{Href: "/c/x.ics", ETag: "ex", Hash: "hx", UID: "x"})
	want := Plan(Input{Known: k, Local: l, Remote: r})
	if len(want.Actions) < 5 {
		t.Fatalf("scenario too small: %v", actionStrings(want.Actions))
	}
	rng := rand.New(rand.NewSource(1))
	for range 50 {
		rng.Shuffle(len(k), func(i, j int) { k[i], k[j] = k[j], k[i] })
		rng.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
		rng.Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
		got := Plan(Input{Known: k, Local: l, Remote: r})
		if !slices.Equal(got.Actions, want.Actions) {
			t.Fatalf("order-dependent plan:\n got %v\nwant %v", actionStrings(got.Actions), actionStrings(want.Actions))
		}
	}
}

func TestPlan_DoesNotModifyInput(t *testing.T) {
	k, l, r := synced(8)
	k2, l2, r2 := slices.Clone(k), slices.Clone(l), slices.Clone(r)
	l[0].Hash = "x"
	l2[0].Hash = "x"
	slices.Reverse(k)
	slices.Reverse(k2)
	Plan(Input{Known: k, Local: l, Remote: r})
	if !slices.Equal(k, k2) || !slices.Equal(l, l2) || !slices.Equal(r, r2) {
		t.Fatal("Plan modified its input slices")
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": ServerWins, "server-wins": ServerWins, " Local-Wins ": LocalWins, "keep-both": KeepBoth} {
		got, err := ParsePolicy(in)
		if err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePolicy("newest-wins"); !errors.Is(err, ErrUnknownPolicy) {
		t.Errorf("ParsePolicy(newest-wins) error %v, want ErrUnknownPolicy", err)
	}
}

func TestKind_String(t *testing.T) {
	want := []string{"download", "upload", "create", "delete-local", "delete-remote", "record", "forget", "conflict", "skip", "report", "rejected"}
	for k := Download; k <= Rejected; k++ {
		if k.String() != want[k] {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), want[k])
		}
	}
	if s := Kind(99).String(); s != "kind(99)" {
		t.Errorf("unknown kind: %q", s)
	}
}

// TestPlan_ServerGivesNoETag: the engine stands in a content hash for a
// missing etag; no server would match it, so it never guards a write.
func TestPlan_ServerGivesNoETag(t *testing.T) {
	pk := Known{Href: "/c/a.ics", ETag: PseudoETagPrefix + "h1", Name: "a.ics", Hash: "h1", UID: "a"}
	pz := Known{Href: "/c/z.ics", ETag: PseudoETagPrefix + "hz", Name: "z.ics", Hash: "hz", UID: "z"}
	same := Remote{Href: "/c/a.ics", ETag: pk.ETag}
	changed := Remote{Href: "/c/a.ics", ETag: PseudoETagPrefix + "h3", Hash: "h3", UID: "a"}
	rz := Remote{Href: "/c/z.ics", ETag: pz.ETag}
	runCases(t, []planCase{
		{name: "LocalChanged_ReportedNotUploaded",
			known: []Known{pk}, local: []Local{lChanged}, remote: []Remote{same},
			want: []string{"report name=a.ics href=/c/a.ics etag=" + pk.ETag + " hash=h2 uid=a"}, reason: "no ETag"},
		{name: "LocalDeleted_ReportedNotDeleted",
			known: []Known{pk, pz}, local: []Local{lZ}, remote: []Remote{same, rz},
			want: []string{"report name=a.ics href=/c/a.ics etag=" + pk.ETag + " hash=h1 uid=a"}, reason: "no ETag"},
		{name: "BothChangedLocalWins_ReportedBothKept",
			known: []Known{pk}, local: []Local{lChanged}, remote: []Remote{changed}, opts: Options{Policy: LocalWins},
			want: []string{"report name=a.ics href=/c/a.ics uid=a"}, reason: "the server's version stays on the server"},
		{name: "BothChangedServerWins_ConflictAsUsual",
			known: []Known{pk}, local: []Local{lChanged}, remote: []Remote{changed},
			want: []string{"conflict name=a.ics href=/c/a.ics etag=" + changed.ETag + " hash=h3 uid=a winner=remote"}},
		{name: "BothChangedWeakETagLocalWins_ConflictIfMatchAsGiven",
			known: []Known{kA}, local: []Local{lChanged}, remote: []Remote{{Href: "/c/a.ics", ETag: `W/"e2"`, Hash: "h3", UID: "a"}}, opts: Options{Policy: LocalWins},
			want: []string{`conflict name=a.ics href=/c/a.ics etag=W/"e2" hash=h2 uid=a winner=local`}},
	})
}
