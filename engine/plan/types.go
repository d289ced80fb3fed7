// Package plan is the vdird sync planner: a pure function from the state of
// the last sync, the local vdir listing and the server listing of one
// calendar collection to the list of actions that brings both sides in step.
//
// It does no I/O, reads no clock and logs nothing, so every rule of the
// decision table in docs/design.md is a table-driven unit test. It defines its own
// small input types and imports none of davclient, vdir or state.
//
// The engine is expected to key its state by Href (as the CalDAV resource is
// the identity of an item): Record/Download/Upload/Create record the item at
// Action.Href, DeleteLocal/DeleteRemote/Forget drop the entry at Action.Href.
//
// Plan decides from listings; Next decides what a surprise in the server's
// answer to one action means (a 412, a no-uid-conflict, a Location, a
// missing ETag), so the engine only carries out actions and reports what
// it met.
package plan

import (
	"errors"
	"fmt"
	"strings"
)

// Policy decides who wins when both sides changed one item differently.
type Policy string

// Conflict policies (docs/design.md, "Conflicts"). The loser is always
// kept by the engine: as a conflict copy, or as a new item with KeepBoth.
const (
	ServerWins Policy = "server-wins"
	LocalWins  Policy = "local-wins"
	KeepBoth   Policy = "keep-both"
)

// ErrUnknownPolicy is returned by ParsePolicy for an unknown name.
var ErrUnknownPolicy = errors.New("unknown conflict policy")

// ParsePolicy reads a policy name as written in the config file or on the
// command line. Case and surrounding space are ignored; "" means ServerWins.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return ServerWins, nil
	case ServerWins, LocalWins, KeepBoth:
		return p, nil
	}
	return "", fmt.Errorf("%w %q (want %s, %s or %s)", ErrUnknownPolicy, s, ServerWins, LocalWins, KeepBoth)
}

// Known is what state recorded at the last sync of one item (both sides were
// equal then).
type Known struct{ Href, ETag, Name, Hash, UID string }

// Local is one item file now. Hash/UID are those of the current bytes (the
// engine copies them from Known when the stat fingerprint is unchanged, so it
// never re-reads unchanged files). Invalid != "" means the file is not a
// valid item (reason, e.g. "no UID"); such a file is never uploaded and never
// deleted/overwritten.
//
// Content, filled for every file the engine read, is a key of its content
// in any layout (ics.ContentKey): a Local and a Remote with equal keys hold
// the same item whatever their line folding, line endings or property
// order, so meeting them is no conflict.
type Local struct{ Name, Hash, UID, Invalid, Content string }

// Remote is one server member now. ETag verbatim (the engine substitutes a
// content-hash pseudo-etag when the server gives none). Hash/UID/Content are
// filled when the engine fetched the data — it always fetches members that
// are not in Known or whose ETag differs from Known.ETag; for members with
// the known ETag they may be empty.
type Remote struct{ Href, ETag, Hash, UID, Content string }

// Options tune one Plan call.
type Options struct {
	Policy            Policy  // "" = ServerWins
	MaxDeleteFraction float64 // <= 0 = default 0.5: refuse when deletions on one side > this fraction of Known...
	MaxDeleteMin      int     // ...and len(Known) > this (0 = default 5; negative = 0)
	AllowMassDelete   bool    // user confirmed (--allow-mass-delete): lifts the mass-delete and empty-side guards
	ReadOnly          bool    // calendar has no write privilege: never plan a remote write
	// Merge: an item changed differently on both sides since the last sync
	// is merged property by property (Kind Merge), and Policy decides only
	// the properties both sides changed. Without it, or on a read-only
	// calendar, or without an etag to guard the upload, Policy decides the
	// item whole (Kind Conflict).
	Merge bool
}

// Default guard thresholds (docs/design.md, "Guards": over 50% of a
// collection with more than 5 items).
const (
	DefaultMaxDeleteFraction = 0.5
	DefaultMaxDeleteMin      = 5
)

// Input is everything the planner looks at for one collection.
type Input struct {
	Known        []Known
	Local        []Local
	Remote       []Remote
	LocalMissing bool // collection folder missing / not a dir / unmounted: refuse, whatever AllowMassDelete says
	Options      Options
	// Partial, when > 0, says Known, Local and Remote hold only the items
	// a change listing named, plus every item sharing a UID with them; all
	// other items are the same on both sides and in state, so they need no
	// action. Partial is then the number of items the collection holds,
	// for the mass-delete guard. The empty-side guards, which need whole
	// listings, do not apply.
	Partial int
	// Rejected holds the local files whose content the server refused
	// before, by file name. An Upload or Create of the same bytes (the
	// same Hash) becomes a Rejected action: not sent again until the file
	// changes.
	Rejected map[string]Rejection
}

// Rejection is the server's refusal of one version of a local file.
type Rejection struct {
	Hash   string // the refused bytes' content hash
	Reason string // the server's answer
}

// Kind is what an Action does.
type Kind int

// Action kinds. Remote writes carry the precondition the engine must send
// (RFC 4791 §5.3.2 / RFC 7232 §3.1-3.2), so a concurrent change on the server
// turns into a 412 and a re-plan, never into a lost update.
const (
	Download     Kind = iota // write Remote content to local Name (Name "" = new item: engine picks a name)
	Upload                   // PUT local Name to Href with If-Match: ETag
	Create                   // PUT local Name with If-None-Match:* (Href "" = engine picks; non-empty = re-create at that href)
	DeleteLocal              // delete local Name (engine re-checks the fingerprint)
	DeleteRemote             // DELETE Href with If-Match: ETag
	Record                   // both sides already equal: record Href/ETag/Name/Hash/UID in state, no I/O
	Forget                   // gone on both sides (or moved to another href): drop Href from state
	Conflict                 // both changed differently: resolve by Winner
	Skip                     // nothing done, reported (invalid file, read-only calendar, duplicate UID); Reason says why
	Report                   // nothing done, a problem of the item that holds the calendar's change marker; Reason says why
	Rejected                 // nothing sent: the server refused these bytes of local Name before (Input.Rejected); Reason is its answer
	Merge                    // both changed differently since the last sync: merge the two against the base (the last synced version); Next says what the merge gives
	Merged                   // write the merged version (from Next only): into the file Name when Write, to Href with If-Match ETag when Put
)

var kindNames = [...]string{"download", "upload", "create", "delete-local", "delete-remote", "record", "forget", "conflict", "skip", "report", "rejected", "merge", "merged"}

// String gives the lower-case name used in reports and golden files.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Side names one end of the sync.
type Side int

// Sides.
const (
	NoSide Side = iota
	LocalSide
	RemoteSide
)

// String gives "local", "remote" or "none".
func (s Side) String() string {
	switch s {
	case LocalSide:
		return "local"
	case RemoteSide:
		return "remote"
	}
	return "none"
}

// Action is one step of a plan.
type Action struct {
	Kind Kind
	Href string // remote href (may be "" for Create of a new local item)
	Name string // local file name (may be "" for Download of a new remote item)
	// ETag: Upload/DeleteRemote/Conflict: If-Match value (the server's current
	// etag; for Conflict also the etag of the remote bytes); Download/Record:
	// remote etag to record.
	ETag string
	// Hash: Upload/Create/Record/Merge: local content hash; Download/DeleteLocal:
	// remote (resp. last synced) hash; Conflict: the winner's hash; Merged:
	// the merged version's hash.
	Hash string
	UID  string
	// Winner (Conflict only): RemoteSide = remote content goes to Name and
	// local bytes are saved as a conflict copy; LocalSide = remote bytes saved
	// as a conflict copy and local PUT with If-Match: ETag. For Merge and
	// Merged: whose values the properties both sides changed take; the
	// other side's version is kept as a conflict copy.
	Winner Side
	// KeepBoth (Conflict only, KeepBoth policy): remote wins the file and the
	// local version is kept as a NEW item (engine writes it under a new name
	// with a fresh UID; it is created on the server).
	KeepBoth bool
	// Write and Put (Merged only): the merged version goes into the file
	// Name (conditional on its fingerprint), and is PUT to Href with
	// If-Match ETag. Conflicts names the properties both sides changed
	// differently, comma-separated ("" when none did).
	Write, Put bool
	Conflicts  string
	// OldHref (Record, Download, Conflict, Merged; from Next only): the item's state
	// entry at this other href is dropped in the same commit, as the item now
	// lives at Href.
	OldHref string
	Reason  string // human readable, for Skip/Report/Rejected/Conflict/Record ("identical content", "read-only calendar", ...)
}

// String renders the action on one line, e.g.
// `upload name=a.ics href=/cal/a.ics etag="1" hash=h uid=u`. Empty fields
// are left out; Reason is not included.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(a.Kind.String())
	for _, f := range [...]struct{ k, v string }{{"name", a.Name}, {"href", a.Href}, {"etag", a.ETag}, {"hash", a.Hash}, {"uid", a.UID}, {"old", a.OldHref}} {
		if f.v != "" {
			b.WriteString(" " + f.k + "=" + f.v)
		}
	}
	switch a.Kind {
	case Conflict:
		b.WriteString(" winner=" + a.Winner.String())
		if a.KeepBoth {
			b.WriteString(" keep-both")
		}
	case Merge:
		b.WriteString(" winner=" + a.Winner.String())
	case Merged:
		for _, f := range [...]struct {
			on   bool
			text string
		}{{a.Write, " write"}, {a.Put, " put"}, {a.Conflicts != "", " conflicts=" + a.Conflicts + " winner=" + a.Winner.String()}} {
			if f.on {
				b.WriteString(f.text)
			}
		}
	}
	return b.String()
}

// Refusal says why a collection was not synced at all.
//
// Side is the side on which items disappeared and whose deletions were
// therefore not propagated: RemoteSide when the server listing is empty or
// lost too many items (so local files would have been deleted), LocalSide
// when the folder is empty or lost too many files (so server items would have
// been deleted), NoSide for a missing local folder.
type Refusal struct {
	Reason         string
	Deletes, Known int
	Side           Side
}

// Result is a plan. Refused != nil ⇒ Actions == nil.
type Result struct {
	Actions []Action
	Refused *Refusal
}
