package plan

import (
	"cmp"
	"fmt"
	"strings"
)

// Event is what the engine ran into while carrying out an action for one
// item: an answer from the server that the plan did not foresee, or a step
// that leads on to another action.
type Event int

// Events. After PreconditionFailed and UIDConflict, and after Stored
// without an ETag, the engine reads the href concerned before asking Next,
// so Outcome.Server says what the server holds there now.
const (
	// Stored: a PUT (Upload, Create, or a Conflict won by the local side)
	// succeeded. At is where the server stored it (a 201 Location may name
	// another href than the one written), ETag what the answer carried.
	Stored Event = iota + 1
	// PreconditionFailed: 412. For Upload, DeleteRemote and Conflict the
	// If-Match etag no longer matched; for Create the href is taken.
	PreconditionFailed
	// UIDConflict: CALDAV:no-uid-conflict (RFC 4791 §5.3.2.1) or its
	// CardDAV twin on a Create: the server holds the item's UID at At, the
	// href it named or the engine found by the UID; "" when neither.
	UIDConflict
	// KeptAsNew: a keep-both Conflict saved the local version as a new
	// item with a fresh UID (Outcome.Local), which now has to be created.
	KeptAsNew
	// MergeDone: a Merge merged the local version with the server's
	// (Outcome.Server) against the base; Outcome.Merge says what it gave.
	// Nothing is written yet.
	MergeDone
)

var eventNames = [...]string{"", "stored", "precondition-failed", "uid-conflict", "kept-as-new", "merge-done"}

// String gives the lower-case name of the event.
func (e Event) String() string {
	if e > 0 && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", int(e))
}

// MaxWrites bounds the remote writes (PUT, DELETE) for one item in one
// pass. A server whose answers would need more (it keeps refusing, or
// keeps naming hrefs that hold nothing) gets the item reported instead,
// and the pass goes on with the next item.
const MaxWrites = 3

// PseudoETagPrefix starts the etag the engine substitutes for a server
// that gives none: a hash of the content. It tells whether an item changed,
// but no server would match it, so it never guards a write.
const PseudoETagPrefix = "vdird-hash:"

// Version is the server's version of an item as the engine read it.
type Version struct {
	Href, ETag, Hash, UID string
	// SameAsLocal: it holds the local content, byte for byte or in the
	// server's own layout.
	SameAsLocal bool
	// SameAsBase: it holds what was last synced (the Known item's content),
	// byte for byte or in another layout.
	SameAsBase bool
}

// MergeResult is what merging an item's local and server versions against
// its base gave (Event MergeDone).
type MergeResult struct {
	// Failed says why the versions were not merged ("" when they were): no
	// base recorded, or a version that is not one valid item.
	Failed string
	// Hash is the merged version's content hash.
	Hash string
	// Conflicts are the properties both sides changed differently, each
	// decided by the policy.
	Conflicts []string
	// LocalChanged: the merged version's bytes differ from the file's.
	// RemoteChanged: its content differs from the server's version.
	LocalChanged, RemoteChanged bool
}

// Outcome is what happened to one item's action, for Next.
type Outcome struct {
	Action Action // the action carried out; for a write, ETag is the If-Match sent and Href the href written
	Event  Event
	At     string // Stored: the href the server stored the item at; UIDConflict: the href holding the UID ("" = none known)
	ETag   string // Stored: the etag of the answer ("" = none)
	// Refusal is the server's answer as reported (UIDConflict).
	Refusal string
	// Server is what the server holds at the href concerned (At after a
	// UIDConflict or a Stored, else Action.Href), read after the event; nil
	// when it holds nothing there (404), or when a Stored gave an ETag and
	// nothing was read.
	Server *Version
	// Merge is what a Merge gave (MergeDone only).
	Merge   *MergeResult
	Known   *Known // the item's entry in state (nil = none: a new item)
	Local   Local  // the item's local version
	Writes  int    // remote writes made for the item in this pass, this one included
	Options Options
}

// Next says what to do after an outcome. It is the one place that decides
// what a surprise means: the engine carries out what it returns and, on the
// next surprise, asks again. A chain ends in an action that meets no
// surprise (Record, Download, Forget, a Conflict won by the server) or in a
// Report; MaxWrites bounds its remote writes.
func Next(o Outcome) Action {
	o.Options = o.Options.withDefaults()
	switch o.Event {
	case Stored:
		return o.stored()
	case KeptAsNew:
		return o.write(Action{Kind: Create, Name: o.Local.Name, Hash: o.Local.Hash, UID: o.Local.UID,
			Reason: "keep-both: the local version is created as a new item"})
	case UIDConflict:
		return o.uidConflict()
	case MergeDone:
		return o.mergeDone()
	case PreconditionFailed:
		switch o.Action.Kind {
		case Create:
			return o.hrefTaken()
		case DeleteRemote:
			return o.deleteRefused()
		case Upload, Conflict, Merged:
			return o.updateRefused()
		}
	}
	return o.report(fmt.Sprintf("%s after %s: not expected", o.Event, o.Action.Kind))
}

// stored records a successful PUT where the server put it. Without an
// ETag the server may have changed the body (RFC 4791 §5.3.4): its
// version, read back, is recorded, and downloaded when it differs.
func (o Outcome) stored() Action {
	if o.ETag != "" {
		return Action{Kind: Record, Href: o.At, ETag: o.ETag, Name: o.Local.Name, Hash: o.Local.Hash, UID: o.Local.UID,
			OldHref: o.oldHref(o.At), Reason: "stored"}
	}
	s := o.Server
	switch {
	case s == nil:
		return o.report(fmt.Sprintf("stored at %s without an ETag, and gone when read back", o.At))
	case s.Hash == o.Local.Hash:
		return o.record(s, "stored without an ETag: the etag read back is recorded")
	}
	return Action{Kind: Download, Href: s.Href, ETag: s.ETag, Name: o.Local.Name, Hash: s.Hash, UID: cmp.Or(s.UID, o.Local.UID),
		OldHref: o.oldHref(s.Href), Reason: "stored without an ETag: the server changed the body, its version is downloaded"}
}

// uidConflict: the server holds the item's UID at At. It is the same item:
// compare with it instead of creating a second one. When no href holding
// it is known, the same create would be refused again: it is Rejected
// until the file changes.
func (o Outcome) uidConflict() Action {
	s := o.Server
	switch {
	case o.At == "":
		return Action{Kind: Rejected, Name: o.Local.Name, Hash: o.Local.Hash, UID: o.Local.UID,
			Reason: fmt.Sprintf("%s; no member of the collection found holding UID %s", o.Refusal, o.Local.UID)}
	case s == nil:
		// The holder may have been deleted since; else the server is wrong.
		return o.write(o.create(o.Action.Href, "no-uid-conflict names "+o.At+", which does not exist: created again"))
	case s.UID != "" && s.UID != o.Local.UID:
		return o.report(fmt.Sprintf("the server refuses to create it (no-uid-conflict) naming %s, which holds another UID (%s): not created", o.At, s.UID))
	case s.SameAsLocal:
		return o.record(s, "the server already holds this item at "+o.At)
	}
	return o.policy(s, "the server already holds this UID at "+o.At+" with other content")
}

// hrefTaken: a Create met an existing object at its href.
func (o Outcome) hrefTaken() Action {
	s := o.Server
	switch {
	case s == nil:
		return o.write(o.create(o.Action.Href, "the href was taken but holds nothing now: created again"))
	case s.UID != o.Local.UID:
		return o.write(o.create("", o.Action.Href+" holds another item: created under a new href"))
	case s.SameAsLocal:
		// Our own earlier write (a lost answer, a crash before state).
		return o.record(s, "the server already holds this item")
	}
	return o.policy(s, "the server already holds this item with other content")
}

// updateRefused: an Upload, the PUT of a Conflict won by the local side,
// or of a merged version, met a 412. A change on the server meanwhile is
// merged with the local version, as the planner merges both-side changes;
// a Conflict's PUT has settled the policy already and keeps it.
func (o Outcome) updateRefused() Action {
	s := o.Server
	switch {
	case s == nil:
		return o.write(o.create(o.Action.Href, "deleted on the server meanwhile: the local version is created again"))
	case s.SameAsLocal:
		return o.record(s, "the server already holds the local content")
	case o.unchanged():
		return o.strong("an update")
	case o.Options.Merge && o.Known != nil && o.Action.Kind != Conflict && !isPseudo(s.ETag):
		return o.write(Action{Kind: Merge, Href: s.Href, ETag: s.ETag, Name: o.Local.Name, Hash: o.Local.Hash, UID: o.Local.UID,
			Winner: winnerOf(o.Options.Policy), Reason: "changed on the server meanwhile: merged with the server's new version"})
	}
	return o.policy(s, "changed on the server meanwhile")
}

// mergeDone turns what a Merge gave into the action that writes it: the
// merged version goes into the file and to the server, each where it
// differs from what is there, and the losing side of the properties both
// changed is kept as a conflict copy. Versions that could not be merged
// are resolved whole by the policy, as without merging.
func (o Outcome) mergeDone() Action {
	m, s := o.Merge, o.Server
	switch {
	case m == nil || s == nil:
		return o.report("merge: no result to write")
	case m.Failed != "":
		return o.policy(s, "changed on both sides, not merged ("+m.Failed+")")
	case !m.LocalChanged && !m.RemoteChanged:
		return o.record(s, "changed on both sides: each holds the other's edits already")
	}
	a := Action{Kind: Merged, Href: s.Href, ETag: s.ETag, Name: o.Local.Name, Hash: m.Hash, UID: o.Local.UID,
		Write: m.LocalChanged, Put: m.RemoteChanged, OldHref: o.oldHref(s.Href),
		Reason: "changed on both sides: merged, no property changed on both"}
	if len(m.Conflicts) > 0 {
		a.Conflicts, a.Winner = strings.Join(m.Conflicts, ","), winnerOf(o.Options.Policy)
		kept := "the local version kept as a conflict copy"
		if a.Winner == LocalSide {
			kept = "the server's version kept as a conflict copy"
		}
		a.Reason = fmt.Sprintf("changed on both sides: merged; %s changed on both, %s's value taken (%s), %s",
			strings.Join(m.Conflicts, ", "), a.Winner, o.Options.Policy, kept)
	}
	if a.Put {
		return o.write(a)
	}
	return a
}

// winnerOf is whose values a merge takes for the properties both sides
// changed: keep-both takes the server's, and keeps the local version as a
// conflict copy, as server-wins does.
func winnerOf(p Policy) Side {
	if p == LocalWins {
		return LocalSide
	}
	return RemoteSide
}

// deleteRefused: a DeleteRemote met a 412. A change on the server beats
// the local delete.
func (o Outcome) deleteRefused() Action {
	s := o.Server
	switch {
	case s == nil:
		return Action{Kind: Forget, Href: o.Action.Href, Name: o.Action.Name, UID: o.Action.UID, Reason: "already deleted on the server"}
	case o.unchanged():
		return o.strong("a DELETE")
	}
	return Action{Kind: Download, Href: s.Href, ETag: s.ETag, Name: o.Action.Name, Hash: s.Hash, UID: cmp.Or(s.UID, o.Action.UID),
		Reason: "changed on the server meanwhile: the change wins over the local delete"}
}

// unchanged tells that the server still holds the version the refused
// write was meant to replace: it answers with the etag that was sent (or
// its weak form), or, for an Upload or DeleteRemote, it holds the base.
func (o Outcome) unchanged() bool {
	s, sent := o.Server, o.Action.ETag
	return s.ETag == sent || strongETag(s.ETag) == sent || ((o.Action.Kind == Upload || o.Action.Kind == DeleteRemote) && s.SameAsBase)
}

// strong repeats the refused write with the strong form of the server's
// etag. A weak etag (W/, from the server or a proxy that compresses) never
// satisfies If-Match, which compares strongly (RFC 9110 §13.1.1), but its
// strong form usually does. When that was sent already, the server's etags
// cannot guard a write at all.
func (o Outcome) strong(what string) Action {
	etag := strongETag(o.Server.ETag)
	switch {
	case isPseudo(etag):
		return o.report(noETag)
	case etag == o.Action.ETag:
		kept := "local version kept, not uploaded"
		if o.Action.Kind == DeleteRemote {
			kept = "kept on the server"
		}
		return o.report(fmt.Sprintf("the server gives only weak ETags, which cannot guard %s: %s", what, kept))
	}
	a := o.Action
	if a.Kind == Merged {
		// The merged version is in the file already: only its PUT is repeated.
		a = Action{Kind: Upload, Href: a.Href, Name: a.Name, Hash: o.Local.Hash, UID: a.UID, OldHref: a.OldHref}
	}
	a.ETag, a.Reason = etag, "the server still holds the version written against: repeated with If-Match "+etag
	return o.write(a)
}

// create creates the local version at href ("" = the engine picks one
// not tried yet).
func (o Outcome) create(href, reason string) Action {
	return Action{Kind: Create, Href: href, Name: o.Local.Name, Hash: o.Local.Hash, UID: o.Local.UID, Reason: reason}
}

// record settles the item as equal on both sides, at s.Href.
func (o Outcome) record(s *Version, reason string) Action {
	return Action{Kind: Record, Href: s.Href, ETag: s.ETag, Name: o.Local.Name, Hash: o.Local.Hash, UID: o.Local.UID,
		OldHref: o.oldHref(s.Href), Reason: reason}
}

// policy resolves the local version against the server's version s by the
// conflict policy.
func (o Outcome) policy(s *Version, why string) Action {
	a := resolve(o.Options, o.Local, Remote{Href: s.Href, ETag: s.ETag, Hash: s.Hash, UID: s.UID}, why)
	a.OldHref = o.oldHref(s.Href)
	if a.Kind == Conflict && a.Winner == LocalSide {
		return o.write(a)
	}
	return a
}

// write guards a remote write: never on a read-only calendar, and never
// more than MaxWrites for one item in one pass.
func (o Outcome) write(a Action) Action {
	switch {
	case o.Options.ReadOnly:
		a.Kind, a.Reason = Skip, "read-only calendar: local change kept"
		return a
	case o.Writes >= MaxWrites:
		return o.report(fmt.Sprintf("%s; gave up after %d attempts", o.describe(), o.Writes))
	}
	return a
}

// describe says in a sentence what the server did last.
func (o Outcome) describe() string {
	switch {
	case o.Event == UIDConflict && o.Server == nil:
		return fmt.Sprintf("the server refuses to create it (no-uid-conflict) naming %s, which does not exist", o.At)
	case o.Event == PreconditionFailed && o.Action.Kind == Create && o.Server == nil:
		return fmt.Sprintf("the server refuses to create it at %s (412: name taken) but holds nothing there", o.Action.Href)
	case o.Event == PreconditionFailed:
		return fmt.Sprintf("the server keeps refusing the %s of %s (412)", o.Action.Kind, o.Action.Href)
	}
	return fmt.Sprintf("the server answered the %s of %s with %s", o.Action.Kind, o.Action.Href, o.Event)
}

func (o Outcome) report(reason string) Action {
	href := cmp.Or(o.At, o.Action.Href)
	return Action{Kind: Report, Href: href, Name: o.Local.Name, UID: o.Local.UID, Reason: reason}
}

// oldHref is the item's state entry to drop when it is recorded at href.
func (o Outcome) oldHref(href string) string {
	if o.Known != nil && o.Known.Href != href {
		return o.Known.Href
	}
	return ""
}

const noETag = "the server gave no ETag, so it cannot be changed safely: local change kept"

// resolve applies the conflict policy to a local and a server version of
// one item that both changed. The local side wins only where the server's
// etag can guard the PUT; without one both versions stay where they are
// and the item is reported.
func resolve(opts Options, l Local, r Remote, why string) Action {
	a := Action{Kind: Conflict, Href: r.Href, ETag: r.ETag, Name: l.Name, UID: cmp.Or(l.UID, r.UID), Hash: r.Hash, Winner: RemoteSide}
	switch opts.Policy {
	case LocalWins:
		if isPseudo(r.ETag) {
			a.Kind, a.Winner, a.Hash = Report, NoSide, ""
			a.ETag, a.Reason = "", why+": local wins ("+string(LocalWins)+"), but "+noETag+"; the server's version stays on the server"
			return a
		}
		a.Winner, a.Hash = LocalSide, l.Hash
		a.Reason = why + ": local wins (" + string(LocalWins) + "), server version kept as a conflict copy"
	case KeepBoth:
		a.KeepBoth = true
		a.Reason = why + ": both kept (" + string(KeepBoth) + "), local version becomes a new item"
	default:
		a.Reason = why + ": server wins (" + string(ServerWins) + "), local version kept as a conflict copy"
		if opts.ReadOnly {
			a.Reason = why + ": server wins (read-only calendar), local version kept as a conflict copy"
		}
	}
	return a
}

// strongETag is the strong form of a weak etag (W/"x" → "x").
func strongETag(etag string) string { return strings.TrimPrefix(etag, "W/") }

func isPseudo(etag string) bool { return strings.HasPrefix(etag, PseudoETagPrefix) }
