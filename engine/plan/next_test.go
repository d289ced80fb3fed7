package plan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Fixtures for Next: item a, synced as /c/a.ics (kA), edited locally to h2.
var (
	lA       = Local{Name: "a.ics", Hash: "h2", UID: "a"}
	upload   = Action{Kind: Upload, Href: "/c/a.ics", ETag: "e1", Name: "a.ics", Hash: "h2", UID: "a"}
	weakUp   = Action{Kind: Upload, Href: "/c/a.ics", ETag: `W/"e1"`, Name: "a.ics", Hash: "h2", UID: "a"}
	recreate = Action{Kind: Create, Href: "/c/a.ics", Name: "a.ics", Hash: "h2", UID: "a"}
	create   = Action{Kind: Create, Href: "/c/new.ics", Name: "a.ics", Hash: "h2", UID: "a"}
	deleteA  = Action{Kind: DeleteRemote, Href: "/c/a.ics", ETag: `W/"e1"`, Name: "a.ics", Hash: "h1", UID: "a"}
	localWon = Action{Kind: Conflict, Href: "/c/a.ics", ETag: `W/"e3"`, Name: "a.ics", Hash: "h2", UID: "a", Winner: LocalSide}
	mergeA   = Action{Kind: Merge, Href: "/c/a.ics", ETag: "e3", Name: "a.ics", Hash: "h2", UID: "a", Winner: RemoteSide}
	mergedA  = Action{Kind: Merged, Href: "/c/a.ics", ETag: "e3", Name: "a.ics", Hash: "hm", UID: "a", Write: true, Put: true}
)

// server is a version the engine read at href.
func server(href, etag, hash string) *Version {
	return &Version{Href: href, ETag: etag, Hash: hash, UID: "a"}
}

type nextCase struct {
	name   string
	out    Outcome
	want   string // Action.String() of the next action
	reason string // a substring of its Reason
}

func runNext(t *testing.T, cases []nextCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.out.Local == (Local{}) {
				c.out.Local = lA
			}
			switch {
			case c.out.Writes < 0: // no write made yet
				c.out.Writes = 0
			case c.out.Writes == 0 && c.out.Event != KeptAsNew:
				c.out.Writes = 1
			}
			got := Next(c.out)
			if got.String() != c.want {
				t.Errorf("next\n got: %s\nwant: %s\n(reason %q)", got, c.want, got.Reason)
			}
			if !strings.Contains(got.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", got.Reason, c.reason)
			}
		})
	}
}

func TestNext_Stored(t *testing.T) {
	runNext(t, []nextCase{
		{name: "WithETag_RecordsWhereWritten",
			out:  Outcome{Action: upload, Event: Stored, At: "/c/a.ics", ETag: "e2", Known: &kA},
			want: "record name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a"},
		{name: "RecreateAnsweredWithLocationElsewhere_RecordsThereAndDropsOldEntry",
			out:  Outcome{Action: recreate, Event: Stored, At: "/c/chosen.ics", ETag: "e9", Known: &kA},
			want: "record name=a.ics href=/c/chosen.ics etag=e9 hash=h2 uid=a old=/c/a.ics"},
		{name: "NewItemAnsweredWithLocation_RecordsThereNothingToDrop",
			out:  Outcome{Action: create, Event: Stored, At: "/c/chosen.ics", ETag: "e9"},
			want: "record name=a.ics href=/c/chosen.ics etag=e9 hash=h2 uid=a"},
		{name: "NoETagServerHoldsOurBytes_RecordsETagReadBack",
			out:  Outcome{Action: upload, Event: Stored, At: "/c/a.ics", Server: server("/c/a.ics", "e2", "h2"), Known: &kA},
			want: "record name=a.ics href=/c/a.ics etag=e2 hash=h2 uid=a"},
		{name: "NoETagServerChangedTheBody_DownloadsServerVersion",
			out:  Outcome{Action: upload, Event: Stored, At: "/c/a.ics", Server: server("/c/a.ics", "e2", "h2s"), Known: &kA},
			want: "download name=a.ics href=/c/a.ics etag=e2 hash=h2s uid=a", reason: "changed the body"},
		{name: "NoETagAndGoneWhenReadBack_Reports",
			out:  Outcome{Action: create, Event: Stored, At: "/c/new.ics"},
			want: "report name=a.ics href=/c/new.ics uid=a", reason: "gone"},
	})
}

func TestNext_ConflictSteps(t *testing.T) {
	runNext(t, []nextCase{
		{name: "KeepBothLocalSavedAsNewItem_CreatesIt",
			out:  Outcome{Action: Action{Kind: Conflict, Href: "/c/a.ics", KeepBoth: true}, Event: KeptAsNew, Local: Local{Name: "n.ics", Hash: "hn", UID: "a-new"}},
			want: "create name=n.ics hash=hn uid=a-new"},
	})
}

func TestNext_UIDConflict(t *testing.T) {
	other := server("/c/held.ics", "eh", "h3")
	runNext(t, []nextCase{
		{name: "NoHrefNamedNoneFound_RejectedWithTheServersAnswer",
			out:  Outcome{Action: create, Event: UIDConflict, Refusal: "PUT /c/new.ics: 409 Conflict (no-uid-conflict)"},
			want: "rejected name=a.ics hash=h2 uid=a", reason: "PUT /c/new.ics: 409 Conflict (no-uid-conflict); no member of the collection found holding UID a"},
		{name: "NoHrefNamedNoneFoundOnARecreate_Rejected",
			out:  Outcome{Action: recreate, Event: UIDConflict, Known: &kA, Writes: MaxWrites},
			want: "rejected name=a.ics hash=h2 uid=a", reason: "holding UID a"},
		{name: "NamedHrefMissing_CreatesAgain",
			out:  Outcome{Action: create, Event: UIDConflict, At: "/c/missing.ics"},
			want: "create name=a.ics href=/c/new.ics hash=h2 uid=a"},
		{name: "NamedHrefMissingAfterMaxWrites_ReportsNamingIt",
			out:  Outcome{Action: create, Event: UIDConflict, At: "/c/missing.ics", Writes: MaxWrites},
			want: "report name=a.ics href=/c/missing.ics uid=a", reason: "no-uid-conflict) naming /c/missing.ics, which does not exist"},
		{name: "NamedHrefHoldsAnotherUID_Reports",
			out:  Outcome{Action: create, Event: UIDConflict, At: "/c/held.ics", Server: &Version{Href: "/c/held.ics", ETag: "eh", Hash: "h3", UID: "b"}},
			want: "report name=a.ics href=/c/held.ics uid=a", reason: "another UID"},
		{name: "NamedHrefHoldsOurContent_RecordsThereDropsOldEntry",
			out:  Outcome{Action: recreate, Event: UIDConflict, At: "/c/held.ics", Server: &Version{Href: "/c/held.ics", ETag: "eh", Hash: "h3", UID: "a", SameAsLocal: true}, Known: &kA},
			want: "record name=a.ics href=/c/held.ics etag=eh hash=h2 uid=a old=/c/a.ics"},
		{name: "NamedHrefHoldsOtherContent_ConflictPolicyThere",
			out:  Outcome{Action: create, Event: UIDConflict, At: "/c/held.ics", Server: other},
			want: "conflict name=a.ics href=/c/held.ics etag=eh hash=h3 uid=a winner=remote", reason: "server wins"},
	})
}

func TestNext_CreateRefused412(t *testing.T) {
	runNext(t, []nextCase{
		{name: "HrefHoldsNothing_CreatesAgain",
			out:  Outcome{Action: create, Event: PreconditionFailed},
			want: "create name=a.ics href=/c/new.ics hash=h2 uid=a"},
		{name: "HrefHoldsNothingAfterMaxWrites_ReportsNamingIt",
			out:  Outcome{Action: create, Event: PreconditionFailed, Writes: MaxWrites},
			want: "report name=a.ics href=/c/new.ics uid=a", reason: "at /c/new.ics (412: name taken) but holds nothing there"},
		{name: "HrefHoldsAnotherItem_CreatesUnderNewHref",
			out:  Outcome{Action: create, Event: PreconditionFailed, Server: &Version{Href: "/c/new.ics", ETag: "eo", Hash: "ho", UID: "other"}},
			want: "create name=a.ics hash=h2 uid=a"},
		{name: "HrefHoldsOurEarlierWrite_Records",
			out:  Outcome{Action: create, Event: PreconditionFailed, Server: &Version{Href: "/c/new.ics", ETag: "en", Hash: "h2s", UID: "a", SameAsLocal: true}},
			want: "record name=a.ics href=/c/new.ics etag=en hash=h2 uid=a"},
		{name: "HrefHoldsOurItemWithOtherContent_ConflictPolicy",
			out:  Outcome{Action: create, Event: PreconditionFailed, Server: server("/c/new.ics", "en", "h3"), Options: Options{Policy: KeepBoth}},
			want: "conflict name=a.ics href=/c/new.ics etag=en hash=h3 uid=a winner=remote keep-both"},
	})
}

func TestNext_UploadRefused412(t *testing.T) {
	changed := server("/c/a.ics", "e3", "h3")
	runNext(t, []nextCase{
		{name: "DeletedOnServerMeanwhile_CreatesAgain",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Known: &kA},
			want: "create name=a.ics href=/c/a.ics hash=h2 uid=a"},
		{name: "ServerHoldsLocalContent_Records",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: &Version{Href: "/c/a.ics", ETag: "e3", Hash: "h2", UID: "a", SameAsLocal: true}, Known: &kA},
			want: "record name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a"},
		{name: "WeakETagServerUnchanged_RetriesWithStrongForm",
			out:  Outcome{Action: weakUp, Event: PreconditionFailed, Server: server("/c/a.ics", `W/"e1"`, "h1"), Known: &kA},
			want: `upload name=a.ics href=/c/a.ics etag="e1" hash=h2 uid=a`},
		{name: "ServerHoldsBaseUnderNewETag_RetriesWithIt",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: &Version{Href: "/c/a.ics", ETag: "e1b", Hash: "h1b", UID: "a", SameAsBase: true}, Known: &kA},
			want: "upload name=a.ics href=/c/a.ics etag=e1b hash=h2 uid=a"},
		{name: "StrongFormRefusedToo_ReportsWeakETagsOnly",
			out:  Outcome{Action: Action{Kind: Upload, Href: "/c/a.ics", ETag: `"e1"`, Name: "a.ics", Hash: "h2", UID: "a"}, Event: PreconditionFailed, Server: server("/c/a.ics", `W/"e1"`, "h1"), Known: &kA, Writes: 2},
			want: "report name=a.ics href=/c/a.ics uid=a", reason: "only weak ETags, which cannot guard an update"},
		{name: "ChangedMeanwhile_ConflictServerWinsByDefault",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: changed, Known: &kA},
			want: "conflict name=a.ics href=/c/a.ics etag=e3 hash=h3 uid=a winner=remote", reason: "changed on the server meanwhile"},
		{name: "ChangedMeanwhile_ConflictLocalWins",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: changed, Known: &kA, Options: Options{Policy: LocalWins}},
			want: "conflict name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a winner=local"},
		{name: "ChangedMeanwhileWithMerging_MergedWithTheNewVersion",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: changed, Known: &kA, Options: Options{Merge: true}},
			want: "merge name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a winner=remote", reason: "merged with the server's new version"},
		{name: "ChangedMeanwhileWithMergingServerGivesNoETag_ConflictPolicy",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: server("/c/a.ics", PseudoETagPrefix+"h3", "h3"), Known: &kA, Options: Options{Merge: true}},
			want: "conflict name=a.ics href=/c/a.ics etag=" + PseudoETagPrefix + "h3 hash=h3 uid=a winner=remote"},
		{name: "ChangedMeanwhileServerGivesNoETag_LocalWinsReportsBothKept",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: server("/c/a.ics", PseudoETagPrefix+"h3", "h3"), Known: &kA, Options: Options{Policy: LocalWins}},
			want: "report name=a.ics href=/c/a.ics uid=a", reason: "no ETag"},
	})
}

func TestNext_LocalWinsConflictRefused412(t *testing.T) {
	runNext(t, []nextCase{
		{name: "WeakETagServerUnchanged_RetriesWithStrongForm",
			out:  Outcome{Action: localWon, Event: PreconditionFailed, Server: server("/c/a.ics", `W/"e3"`, "h3"), Known: &kA, Options: Options{Policy: LocalWins}},
			want: `conflict name=a.ics href=/c/a.ics etag="e3" hash=h2 uid=a winner=local`},
		{name: "StrongFormRefusedToo_ReportsWeakETagsOnly",
			out: Outcome{Action: Action{Kind: Conflict, Href: "/c/a.ics", ETag: `"e3"`, Name: "a.ics", Hash: "h2", UID: "a", Winner: LocalSide},
				Event: PreconditionFailed, Server: server("/c/a.ics", `W/"e3"`, "h3"), Known: &kA, Writes: 2, Options: Options{Policy: LocalWins}},
			want: "report name=a.ics href=/c/a.ics uid=a", reason: "only weak ETags"},
		{name: "ChangedAgainMeanwhile_ConflictAgainWithNewVersion",
			out:  Outcome{Action: localWon, Event: PreconditionFailed, Server: server("/c/a.ics", `W/"e4"`, "h4"), Known: &kA, Options: Options{Policy: LocalWins}},
			want: `conflict name=a.ics href=/c/a.ics etag=W/"e4" hash=h2 uid=a winner=local`},
		{name: "DeletedOnServerMeanwhile_CreatesLocal",
			out:  Outcome{Action: localWon, Event: PreconditionFailed, Known: &kA, Options: Options{Policy: LocalWins}},
			want: "create name=a.ics href=/c/a.ics hash=h2 uid=a"},
	})
}

// TestNext_Merge: what a Merge gave decides how the merged version is
// written; versions that cannot be merged are resolved whole by the
// policy, exactly as without merging.
func TestNext_Merge(t *testing.T) {
	srv := server("/c/a.ics", "e3", "h3")
	done := func(m MergeResult, p Policy) Outcome {
		return Outcome{Action: mergeA, Event: MergeDone, Server: srv, Merge: &m, Known: &kA, Options: Options{Merge: true, Policy: p}, Writes: -1}
	}
	both := MergeResult{Hash: "hm", LocalChanged: true, RemoteChanged: true}
	summary := MergeResult{Hash: "hm", Conflicts: []string{"SUMMARY"}, LocalChanged: true}
	localKept := MergeResult{Hash: "h2", Conflicts: []string{"SUMMARY", "VALARM"}, RemoteChanged: true}
	maxed := done(both, ServerWins)
	maxed.Writes = MaxWrites
	runNext(t, []nextCase{
		{name: "CleanEachSideLacksTheOthersEdit_WrittenToFileAndServer",
			out: done(both, ServerWins), want: "merged name=a.ics href=/c/a.ics etag=e3 hash=hm uid=a write put", reason: "no property changed on both"},
		{name: "CleanServerHoldsTheMergeAlready_WrittenToFileOnly",
			out: done(MergeResult{Hash: "hm", LocalChanged: true}, ServerWins), want: "merged name=a.ics href=/c/a.ics etag=e3 hash=hm uid=a write"},
		{name: "CleanFileHoldsTheMergeAlready_UploadedOnly",
			out: done(MergeResult{Hash: "h2", RemoteChanged: true}, ServerWins), want: "merged name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a put"},
		{name: "NeitherSideChangedByTheMerge_Records",
			out: done(MergeResult{Hash: "h2"}, ServerWins), want: "record name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a", reason: "each holds the other's edits"},
		{name: "SamePropertyChangedServerWins_ServerValueLocalVersionCopied",
			out:  done(summary, ServerWins),
			want: "merged name=a.ics href=/c/a.ics etag=e3 hash=hm uid=a write conflicts=SUMMARY winner=remote", reason: "the local version kept as a conflict copy"},
		{name: "SamePropertyChangedKeepBoth_ServerValueLocalVersionCopied",
			out:  done(summary, KeepBoth),
			want: "merged name=a.ics href=/c/a.ics etag=e3 hash=hm uid=a write conflicts=SUMMARY winner=remote", reason: "the local version kept as a conflict copy"},
		{name: "SamePropertyChangedLocalWins_LocalValueUploadedServerVersionCopied",
			out:  done(localKept, LocalWins),
			want: "merged name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a put conflicts=SUMMARY,VALARM winner=local", reason: "the server's version kept as a conflict copy"},
		{name: "NotMergedServerWins_ConflictAsWithoutMerging",
			out:  done(MergeResult{Failed: "no last synced version recorded"}, ServerWins),
			want: "conflict name=a.ics href=/c/a.ics etag=e3 hash=h3 uid=a winner=remote", reason: "not merged (no last synced version recorded): server wins"},
		{name: "NotMergedLocalWins_ConflictAsWithoutMerging",
			out:  done(MergeResult{Failed: "server version: not one item"}, LocalWins),
			want: "conflict name=a.ics href=/c/a.ics etag=e3 hash=h2 uid=a winner=local"},
		{name: "NotMergedKeepBoth_ConflictAsWithoutMerging",
			out:  done(MergeResult{Failed: "no last synced version recorded"}, KeepBoth),
			want: "conflict name=a.ics href=/c/a.ics etag=e3 hash=h3 uid=a winner=remote keep-both"},
		{name: "UploadAfterMaxWrites_Reports",
			out: maxed, want: "report name=a.ics href=/c/a.ics uid=a", reason: "gave up"},
		{name: "MergedPutRefusedServerChangedAgain_MergedAgainWithTheNewVersion",
			out:  Outcome{Action: mergedA, Event: PreconditionFailed, Server: server("/c/a.ics", "e4", "h4"), Known: &kA, Local: Local{Name: "a.ics", Hash: "hm", UID: "a"}, Options: Options{Merge: true}},
			want: "merge name=a.ics href=/c/a.ics etag=e4 hash=hm uid=a winner=remote", reason: "changed on the server meanwhile"},
		{name: "MergedPutRefusedWeakETagServerUnchanged_OnlyThePutRepeated",
			out: Outcome{Action: Action{Kind: Merged, Href: "/c/a.ics", ETag: `W/"e3"`, Name: "a.ics", Hash: "hm", UID: "a", Write: true, Put: true}, Event: PreconditionFailed,
				Server: server("/c/a.ics", `W/"e3"`, "h3"), Known: &kA, Local: Local{Name: "a.ics", Hash: "hm", UID: "a"}, Options: Options{Merge: true}},
			want: `upload name=a.ics href=/c/a.ics etag="e3" hash=hm uid=a`},
		{name: "MergedPutRefusedServerHoldsTheMerge_Records",
			out: Outcome{Action: mergedA, Event: PreconditionFailed, Server: &Version{Href: "/c/a.ics", ETag: "e4", Hash: "hm2", UID: "a", SameAsLocal: true},
				Known: &kA, Local: Local{Name: "a.ics", Hash: "hm", UID: "a"}, Options: Options{Merge: true}},
			want: "record name=a.ics href=/c/a.ics etag=e4 hash=hm uid=a"},
		{name: "LocalWinsConflictPutRefused_PolicyKeptNotMerged",
			out:  Outcome{Action: localWon, Event: PreconditionFailed, Server: server("/c/a.ics", "e4", "h4"), Known: &kA, Options: Options{Merge: true, Policy: LocalWins}},
			want: "conflict name=a.ics href=/c/a.ics etag=e4 hash=h2 uid=a winner=local"},
	})
}

func TestNext_DeleteRefused412(t *testing.T) {
	gone := Local{Name: "a.ics", UID: "a"}
	runNext(t, []nextCase{
		{name: "AlreadyGone_Forgets",
			out:  Outcome{Action: deleteA, Event: PreconditionFailed, Known: &kA, Local: gone},
			want: "forget name=a.ics href=/c/a.ics uid=a"},
		{name: "WeakETagServerUnchanged_RetriesWithStrongForm",
			out:  Outcome{Action: deleteA, Event: PreconditionFailed, Server: &Version{Href: "/c/a.ics", ETag: `W/"e1"`, Hash: "h1", UID: "a", SameAsBase: true}, Known: &kA, Local: gone},
			want: `delete-remote name=a.ics href=/c/a.ics etag="e1" hash=h1 uid=a`},
		{name: "StrongFormRefusedToo_ReportsKeptOnServer",
			out: Outcome{Action: Action{Kind: DeleteRemote, Href: "/c/a.ics", ETag: `"e1"`, Name: "a.ics", Hash: "h1", UID: "a"}, Event: PreconditionFailed,
				Server: &Version{Href: "/c/a.ics", ETag: `W/"e1"`, Hash: "h1", UID: "a", SameAsBase: true}, Known: &kA, Local: gone, Writes: 2},
			want: "report name=a.ics href=/c/a.ics uid=a", reason: "cannot guard a DELETE: kept on the server"},
		{name: "ChangedMeanwhile_DownloadsTheChange",
			out:  Outcome{Action: deleteA, Event: PreconditionFailed, Server: server("/c/a.ics", "e3", "h3"), Known: &kA, Local: gone},
			want: "download name=a.ics href=/c/a.ics etag=e3 hash=h3 uid=a", reason: "wins over the local delete"},
	})
}

func TestNext_Guards(t *testing.T) {
	runNext(t, []nextCase{
		{name: "ReadOnlyCalendar_NoWriteSkips",
			out:  Outcome{Action: create, Event: PreconditionFailed, Options: Options{ReadOnly: true}},
			want: "skip name=a.ics href=/c/new.ics hash=h2 uid=a", reason: "read-only"},
		{name: "MaxWritesReached_ReportsInsteadOfWriting",
			out:  Outcome{Action: weakUp, Event: PreconditionFailed, Server: server("/c/a.ics", `W/"e1"`, "h1"), Known: &kA, Writes: MaxWrites},
			want: "report name=a.ics href=/c/a.ics uid=a", reason: "gave up after 3 attempts"},
		{name: "ServerUnchangedButGivesNoETag_Reports",
			out:  Outcome{Action: upload, Event: PreconditionFailed, Server: &Version{Href: "/c/a.ics", ETag: PseudoETagPrefix + "h1", Hash: "h1", UID: "a", SameAsBase: true}, Known: &kA},
			want: "report name=a.ics href=/c/a.ics uid=a", reason: "no ETag"},
	})
}

// TestNext_Property_HostileServerBoundedWrites: whatever a server answers,
// one item's chain of actions makes at most MaxWrites writes and ends.
func TestNext_Property_HostileServerBoundedWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2026))
	hrefs := []string{"/c/a.ics", "/c/b.ics", "/c/missing.ics"}
	version := func() *Version {
		if r.IntN(4) == 0 {
			return nil
		}
		etag := []string{"e1", `W/"e1"`, `"e1"`, "e2", PseudoETagPrefix + "x"}[r.IntN(5)]
		return &Version{Href: hrefs[r.IntN(3)], ETag: etag, Hash: fmt.Sprint("h", r.IntN(3)), UID: []string{"a", "b"}[r.IntN(2)],
			SameAsLocal: r.IntN(5) == 0, SameAsBase: r.IntN(3) == 0}
	}
	start := []Action{upload, weakUp, recreate, create, deleteA, localWon, mergeA, mergedA}
	merged := func() *MergeResult {
		if r.IntN(4) == 0 {
			return &MergeResult{Failed: "no base"}
		}
		return &MergeResult{Hash: "hm", LocalChanged: r.IntN(2) == 0, RemoteChanged: r.IntN(3) != 0, Conflicts: []string{"SUMMARY"}[:r.IntN(2)]}
	}
	for round := 0; round < 5000; round++ {
		opts := Options{Policy: []Policy{ServerWins, LocalWins, KeepBoth}[r.IntN(3)], Merge: r.IntN(2) == 0}
		act := start[r.IntN(len(start))]
		writes, steps := 0, 0
		var trail []string
	chain:
		for ; steps < 4*MaxWrites; steps++ {
			trail = append(trail, act.String())
			isWrite := act.Kind == Upload || act.Kind == Create || act.Kind == DeleteRemote || (act.Kind == Conflict && act.Winner == LocalSide) ||
				(act.Kind == Merged && act.Put)
			if !isWrite && act.Kind != Conflict && act.Kind != Merge {
				break // Record, Download, Forget, Skip, Report, a Merged kept locally: no surprise
			}
			o := Outcome{Action: act, Known: &kA, Local: lA, Options: opts}
			switch {
			case act.Kind == Merge:
				o.Event, o.Writes, o.Merge, o.Server = MergeDone, writes, merged(), server(act.Href, act.ETag, "h3")
				act = Next(o)
				continue
			case isWrite:
				writes++
				o.Writes = writes
				o.Event = []Event{Stored, PreconditionFailed, UIDConflict}[r.IntN(3)]
				if o.Event == UIDConflict && act.Kind != Create {
					o.Event = PreconditionFailed
				}
			case act.KeepBoth:
				o.Event, o.Writes, o.Local = KeptAsNew, writes, Local{Name: "n.ics", Hash: "hn", UID: "new"}
			default:
				break chain // server wins: resolved locally
			}
			o.Server, o.At = version(), hrefs[r.IntN(3)]
			if o.Event == Stored && r.IntN(2) == 0 {
				o.ETag, o.Server = "e9", nil
			}
			act = Next(o)
		}
		if writes > MaxWrites || steps >= 4*MaxWrites {
			t.Fatalf("round %d: %d writes in %d steps:\n%s", round, writes, steps, strings.Join(trail, "\n"))
		}
	}
}
