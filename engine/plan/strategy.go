package plan

import "fmt"

// Strategy is how one pass over one collection goes about its work: from
// "nothing to do" to a full comparison of both listings with state.
type Strategy int

// The strategies, cheapest first (docs/design.md, "Choosing a pass").
const (
	// NeedListing: the facts so far do not decide; list the folder and
	// count what state knows, then choose again with Listed set.
	NeedListing Strategy = iota
	// Unchanged: the change marker and the folder are exactly as recorded.
	Unchanged
	// ScopedDelta: only the server changed; plan the members the
	// sync-token delta names.
	ScopedDelta
	// ScopedLocal: only files changed; plan the files that differ.
	ScopedLocal
	// ScopedBoth: both changed; plan the delta's members and the changed files.
	ScopedBoth
	// FirstDownload: nothing on either side is known yet; fetch the whole
	// calendar in one streamed request into a staging folder.
	FirstDownload
	// ResumeFirstDownload: a first download that did not complete left
	// recorded items in its hidden staging folder; list the server, fetch
	// there only what they lack or what changed since, then publish it.
	ResumeFirstDownload
	// Full: list both sides and plan every item against state.
	Full
)

func (s Strategy) String() string {
	switch s {
	case NeedListing:
		return "need-listing"
	case Unchanged:
		return "unchanged"
	case ScopedDelta:
		return "scoped-delta"
	case ScopedLocal:
		return "scoped-local"
	case ScopedBoth:
		return "scoped-both"
	case FirstDownload:
		return "first-download"
	case ResumeFirstDownload:
		return "resume-first-download"
	case Full:
		return "full"
	}
	return "unknown"
}

// MarshalText writes the strategy's name, so summaries show "scoped-delta"
// rather than a number.
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (s *Strategy) UnmarshalText(b []byte) error {
	for c := NeedListing; c <= Full; c++ {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("unknown strategy %q", b)
}

// Facts is what the engine knows about a collection before a pass, found
// without listing either side.
type Facts struct {
	// Existed: state has the collection from an earlier pass.
	Existed bool
	// MarkersClean: the last pass ended without problems and the calendar's
	// properties (name, colour, privileges) are as recorded.
	MarkersClean bool
	// FolderAsRecorded: the folder's file sum equals the recorded one and no
	// temp files were left. Only looked at when Existed and MarkersClean.
	FolderAsRecorded bool
	// ServerAsRecorded: the calendar's change marker (sync-token or ctag)
	// equals the one recorded after the last complete pass.
	ServerAsRecorded bool
	// HaveSyncToken: the server offers sync-collection and a token is recorded.
	HaveSyncToken bool
	// DryRun: nothing may be written; scoped passes and a first download
	// write as they go, so a dry run always plans from full listings.
	DryRun bool
	// ScopedGaveUp: a scoped pass found more than it can plan alone (a big
	// delta, an unreadable change): fall back to full listings.
	ScopedGaveUp bool
	// Staged: the hidden staging folder of a first download that did not
	// complete is there; the calendar's folder has not been published.
	Staged bool

	// Listed: the fields below are filled (after NeedListing).
	Listed bool
	// Known is how many items state records for the collection.
	Known int
	// LocalFiles is how many item files the folder holds (0 when it is missing).
	LocalFiles int
}

// Choose picks the cheapest strategy that is correct for f. A scoped
// strategy that gives up is answered by choosing again with ScopedGaveUp.
func Choose(f Facts) Strategy {
	if f.Listed {
		// Items of an interrupted first download wait, recorded, in its
		// staging folder: none is downloaded again, and none is a local
		// deletion. A dry run plans the same, writing nothing.
		if f.Staged && f.Known > 0 {
			return ResumeFirstDownload
		}
		// A calendar that is new on both sides (or whose first download
		// never recorded an item) comes in whole, unless its marker says
		// the server is as recorded: then it is a calendar that was empty
		// and still is.
		if f.Known == 0 && f.LocalFiles == 0 && !f.DryRun && !(f.Existed && f.ServerAsRecorded) {
			return FirstDownload
		}
		return Full
	}
	if !f.Existed || !f.MarkersClean || f.Staged {
		return NeedListing
	}
	if f.FolderAsRecorded && f.ServerAsRecorded {
		return Unchanged
	}
	if f.DryRun || f.ScopedGaveUp {
		return NeedListing
	}
	switch {
	case f.FolderAsRecorded && f.HaveSyncToken:
		return ScopedDelta
	case !f.FolderAsRecorded && f.ServerAsRecorded:
		return ScopedLocal
	case !f.FolderAsRecorded && f.HaveSyncToken:
		return ScopedBoth
	}
	return NeedListing
}
