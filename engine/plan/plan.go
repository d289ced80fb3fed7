package plan

import (
	"cmp"
	"fmt"
	"slices"
)

// Plan computes the actions for one collection.
//
// Matching: a Local matches a Known by Name, a Remote by Href. What is left
// is matched by UID: a new local file holding the UID of a Known item whose
// file is gone is that item renamed (likewise a new href on the server for a
// Known item whose href is gone); a new local and a new remote item with one
// UID are the same item met for the first time (state lost, first sync).
//
// Guards run first (missing folder, empty side) and last (mass delete); a
// refused plan has no actions at all.
//
// Order: actions are sorted by Name, then Href, then Kind, so new remote
// items (Name "") come first in href order; the order does not depend on the
// order of the input slices.
func Plan(in Input) Result {
	opts := in.Options.withDefaults()
	if in.LocalMissing {
		return refuse(Refusal{Side: NoSide, Known: len(in.Known),
			Reason: "local folder is missing, not a directory or not mounted: nothing synced (create or mount it; vdird never treats a missing folder as deleted items)"})
	}
	if known, remoteN, localN := sizes(in); known > 0 && !opts.AllowMassDelete {
		if remoteN == 0 {
			return refuse(Refusal{Side: RemoteSide, Deletes: known, Known: known,
				Reason: fmt.Sprintf("the server lists no items but %d were synced before: refusing to delete them locally (run with --allow-mass-delete to confirm)", known)})
		}
		if localN == 0 {
			return refuse(Refusal{Side: LocalSide, Deletes: known, Known: known,
				Reason: fmt.Sprintf("the local folder is empty but %d items were synced before: refusing to delete them on the server (run with --allow-mass-delete to confirm)", known)})
		}
	}

	p := newPlanner(in, opts)
	p.claimLocal()
	p.claimRemote()
	for i := range p.known {
		p.item(i)
	}
	p.firstContact()

	if !opts.AllowMassDelete {
		var delLocal, delRemote int
		for _, a := range p.acts {
			switch a.Kind {
			case DeleteLocal:
				delLocal++
			case DeleteRemote:
				delRemote++
			}
		}
		n := max(len(p.known), in.Partial)
		limit := opts.MaxDeleteFraction * float64(n)
		if n > opts.MaxDeleteMin && float64(delRemote) > limit {
			return refuse(Refusal{Side: LocalSide, Deletes: delRemote, Known: n,
				Reason: fmt.Sprintf("%d of %d items were deleted locally: refusing to delete them on the server (limit %.0f%% of a collection over %d items; run with --allow-mass-delete to confirm)",
					delRemote, n, opts.MaxDeleteFraction*100, opts.MaxDeleteMin)})
		}
		if n > opts.MaxDeleteMin && float64(delLocal) > limit {
			return refuse(Refusal{Side: RemoteSide, Deletes: delLocal, Known: n,
				Reason: fmt.Sprintf("%d of %d items were deleted on the server: refusing to delete them locally (limit %.0f%% of a collection over %d items; run with --allow-mass-delete to confirm)",
					delLocal, n, opts.MaxDeleteFraction*100, opts.MaxDeleteMin)})
		}
	}

	slices.SortFunc(p.acts, func(a, b Action) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Href, b.Href), cmp.Compare(a.Kind, b.Kind))
	})
	return Result{Actions: p.acts}
}

func refuse(r Refusal) Result { return Result{Refused: &r} }

// sizes returns how many items state, the server and the folder hold. A
// partial input holds only what changed, so the totals are worked out from
// Partial and what the input adds or takes away.
func sizes(in Input) (known, remote, local int) {
	if in.Partial == 0 {
		return len(in.Known), len(in.Remote), len(in.Local)
	}
	knownHref, knownName := map[string]bool{}, map[string]bool{}
	for _, k := range in.Known {
		knownHref[k.Href], knownName[k.Name] = true, true
	}
	remote, local = in.Partial, in.Partial
	seen := map[string]bool{}
	for _, r := range in.Remote {
		seen[r.Href] = true
		if !knownHref[r.Href] {
			remote++
		}
	}
	for h := range knownHref {
		if !seen[h] {
			remote--
		}
	}
	clear(seen)
	for _, l := range in.Local {
		seen[l.Name] = true
		if !knownName[l.Name] {
			local++
		}
	}
	for n := range knownName {
		if !seen[n] {
			local--
		}
	}
	return in.Partial, remote, local
}

func (o Options) withDefaults() Options {
	if o.Policy == "" {
		o.Policy = ServerWins
	}
	if o.MaxDeleteFraction <= 0 {
		o.MaxDeleteFraction = DefaultMaxDeleteFraction
	}
	if o.MaxDeleteMin == 0 {
		o.MaxDeleteMin = DefaultMaxDeleteMin
	} else if o.MaxDeleteMin < 0 {
		o.MaxDeleteMin = 0
	}
	if o.ReadOnly {
		// Nothing may be written to the server: the local side of a
		// conflict survives only as a conflict copy, and a merge could
		// not be uploaded.
		o.Policy, o.Merge = ServerWins, false
	}
	return o
}

type planner struct {
	opts     Options
	rejected map[string]Rejection
	known    []Known // sorted by Href, unique Href and Name
	local    map[string]*Local
	remote   map[string]*Remote

	knownByName map[string]int
	knownByHref map[string]int
	knownByUID  map[string]int

	// Per Known index: the local file / server member that is this item now
	// (nil = gone), whether it was found by UID under another name/href, and
	// a duplicate-UID reason that holds the item.
	curLocal   []*Local
	curRemote  []*Remote
	localMoved []bool
	remMoved   []bool
	dupLocal   []string

	newLocal  []*Local  // valid, unmatched, sorted by Name
	newRemote []*Remote // unmatched, sorted by Href

	acts []Action
}

func newPlanner(in Input, opts Options) *planner {
	p := &planner{
		opts:        opts,
		rejected:    in.Rejected,
		local:       make(map[string]*Local, len(in.Local)),
		remote:      make(map[string]*Remote, len(in.Remote)),
		knownByName: make(map[string]int, len(in.Known)),
		knownByHref: make(map[string]int, len(in.Known)),
		knownByUID:  make(map[string]int, len(in.Known)),
		acts:        make([]Action, 0, 16),
	}
	// Sort copies so that every "first wins" below is independent of input
	// order. State never holds two entries for one Href or Name; should it,
	// the later ones are ignored rather than guessed at.
	known := slices.Clone(in.Known)
	slices.SortFunc(known, func(a, b Known) int { return cmp.Or(cmp.Compare(a.Href, b.Href), cmp.Compare(a.Name, b.Name)) })
	p.known = known[:0]
	for _, k := range known {
		if _, dup := p.knownByHref[k.Href]; dup {
			continue
		}
		if _, dup := p.knownByName[k.Name]; dup {
			continue
		}
		i := len(p.known)
		p.known = append(p.known, k)
		p.knownByHref[k.Href] = i
		p.knownByName[k.Name] = i
		if _, dup := p.knownByUID[k.UID]; k.UID != "" && !dup {
			p.knownByUID[k.UID] = i
		}
	}
	for i := range in.Local {
		if _, dup := p.local[in.Local[i].Name]; !dup {
			p.local[in.Local[i].Name] = &in.Local[i]
		}
	}
	for i := range in.Remote {
		if _, dup := p.remote[in.Remote[i].Href]; !dup {
			p.remote[in.Remote[i].Href] = &in.Remote[i]
		}
	}
	n := len(p.known)
	p.curLocal = make([]*Local, n)
	p.curRemote = make([]*Remote, n)
	p.localMoved = make([]bool, n)
	p.remMoved = make([]bool, n)
	p.dupLocal = make([]string, n)
	return p
}

// claimLocal matches local files to Known items and gives each UID to one
// file: the file already synced under it first, then newcomers in name
// order. A later file with a taken UID is skipped ("duplicate UID"), since
// uploading it would put one UID on two hrefs (RFC 4791 §5.3.2.1
// no-uid-conflict).
func (p *planner) claimLocal() {
	owner := make(map[string]string, len(p.known)) // UID → local name
	for i, k := range p.known {
		if l := p.local[k.Name]; l != nil {
			p.curLocal[i] = l
			if l.Invalid == "" && l.UID != "" && l.UID == k.UID {
				if _, taken := owner[l.UID]; !taken {
					owner[l.UID] = l.Name
				}
			}
		}
	}
	// Known files whose UID was edited: they may not take another item's UID.
	for i, k := range p.known {
		l := p.curLocal[i]
		if l == nil || l.Invalid != "" || l.UID == "" || l.UID == k.UID {
			continue
		}
		if o, taken := owner[l.UID]; taken {
			p.dupLocal[i] = o
		} else if j, ok := p.knownByUID[l.UID]; ok && j != i {
			p.dupLocal[i] = p.known[j].Name
		} else {
			owner[l.UID] = l.Name
		}
	}
	names := make([]string, 0, len(p.local))
	for name := range p.local {
		if _, ok := p.knownByName[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		l := p.local[name]
		switch {
		case l.Invalid != "":
			p.skip(Action{Name: name, UID: l.UID}, "invalid item, not uploaded: "+l.Invalid)
			continue
		case l.UID == "":
			p.newLocal = append(p.newLocal, l)
			continue
		}
		if o, taken := owner[l.UID]; taken {
			p.skip(Action{Name: name, UID: l.UID}, fmt.Sprintf("duplicate UID %s, also in %s", l.UID, o))
			continue
		}
		if j, ok := p.knownByUID[l.UID]; ok {
			k := p.known[j]
			if p.curLocal[j] != nil {
				p.skip(Action{Name: name, UID: l.UID}, fmt.Sprintf("duplicate UID %s, also in %s", l.UID, k.Name))
				continue
			}
			// The synced file is gone and this one holds its UID: renamed.
			p.curLocal[j], p.localMoved[j] = l, true
		} else {
			p.newLocal = append(p.newLocal, l)
		}
		owner[l.UID] = name
	}
}

// claimRemote does the same for server members. A member at a new href
// with the UID of a Known item whose href is gone is that item moved; one
// whose UID is already held by another member is a server-side duplicate
// and is not downloaded (it would give two local files one UID).
func (p *planner) claimRemote() {
	owner := make(map[string]string, len(p.known)) // UID → href
	for i, k := range p.known {
		if r := p.remote[k.Href]; r != nil {
			p.curRemote[i] = r
			uid := r.UID
			if uid == "" {
				uid = k.UID // not fetched: content, hence UID, unchanged
			}
			if _, taken := owner[uid]; uid != "" && !taken {
				owner[uid] = k.Href
			}
		}
	}
	hrefs := make([]string, 0, len(p.remote))
	for href := range p.remote {
		if _, ok := p.knownByHref[href]; !ok {
			hrefs = append(hrefs, href)
		}
	}
	slices.Sort(hrefs)
	for _, href := range hrefs {
		r := p.remote[href]
		if r.UID == "" {
			p.newRemote = append(p.newRemote, r)
			continue
		}
		if o, taken := owner[r.UID]; taken {
			p.skip(Action{Href: href, ETag: r.ETag, UID: r.UID}, fmt.Sprintf("duplicate UID %s on the server, also at %s: not downloaded", r.UID, o))
			continue
		}
		if j, ok := p.knownByUID[r.UID]; ok && p.curRemote[j] == nil {
			p.curRemote[j], p.remMoved[j] = r, true
		} else {
			p.newRemote = append(p.newRemote, r)
		}
		owner[r.UID] = href
	}
}

// item applies the decision table (docs/design.md) to Known item i.
func (p *planner) item(i int) {
	it := p.now(i)
	if p.remMoved[i] {
		// State is keyed by href: drop the old entry when the action below
		// records the item at its new href (not when it is held by a Skip:
		// then state stays, and so does the plan at the next pass).
		defer p.forgetMoved(it.k, it.href, len(p.acts))
	}
	if p.held(i, it) {
		return
	}
	p.decide(it)
}

// change is how one side of an item stands against what was last synced.
type change uint8

const (
	gone change = iota
	same
	changed
)

// itemNow is a Known item as it is now on both sides.
type itemNow struct {
	k Known
	l *Local  // nil: the local file is gone
	r *Remote // nil: the server member is gone
	// Where the item is now: its local name, server href and etag.
	name, href, etag string
	ls, rs           change
	// Renamed locally, moved on the server or given a new etag: state
	// needs recording even when the content is the same.
	moved bool
}

// now compares Known item i with its current local file and server member.
// An etag change with identical bytes (a pseudo-etag scheme, a server
// rewrite of nothing) is not a content change.
func (p *planner) now(i int) itemNow {
	k := p.known[i]
	it := itemNow{k: k, l: p.curLocal[i], r: p.curRemote[i], name: k.Name, href: k.Href, etag: k.ETag, ls: same, rs: same}
	l, r := it.l, it.r
	if l != nil {
		it.name = l.Name
	}
	if r != nil {
		it.href, it.etag = r.Href, r.ETag
	}
	switch {
	case l == nil:
		it.ls = gone
	case l.Hash != k.Hash:
		it.ls = changed
	}
	switch {
	case r == nil:
		it.rs = gone
	case r.ETag != k.ETag && !(r.Hash != "" && r.Hash == k.Hash):
		it.rs = changed
	}
	it.moved = p.localMoved[i] || p.remMoved[i] || (r != nil && r.ETag != k.ETag)
	return it
}

// forgetMoved drops the state entry of k, moved on the server to href, if
// an action after the first n records the item there.
func (p *planner) forgetMoved(k Known, href string, n int) {
	if len(p.acts) > n && p.acts[len(p.acts)-1].Kind != Skip {
		p.add(Action{Kind: Forget, Href: k.Href, Name: k.Name, UID: k.UID, Reason: "moved on the server to " + href})
	}
}

// held skips Known item i when its local file is invalid or holds another
// item's UID: server changes to it wait until the file is fixed.
func (p *planner) held(i int, it itemNow) bool {
	l := it.l
	switch {
	case l != nil && l.Invalid != "":
		p.skip(Action{Name: l.Name, Href: it.href, UID: it.k.UID}, "invalid item, not uploaded; server changes to it are held until it is fixed: "+l.Invalid)
	case p.dupLocal[i] != "":
		p.skip(Action{Name: l.Name, Href: it.href, UID: l.UID}, fmt.Sprintf("duplicate UID %s, also in %s: not uploaded; server changes to it are held", l.UID, p.dupLocal[i]))
	default:
		return false
	}
	return true
}

// decide picks the action for an item from how each side changed.
func (p *planner) decide(it itemNow) {
	k, l, r := it.k, it.l, it.r
	name, href, etag := it.name, it.href, it.etag
	switch ls, rs := it.ls, it.rs; {
	case ls == same && rs == same:
		if it.moved {
			p.add(Action{Kind: Record, Href: href, ETag: etag, Name: name, Hash: k.Hash, UID: k.UID, Reason: "renamed or new etag, content identical"})
		}
	case ls == same && rs == changed:
		p.add(Action{Kind: Download, Href: href, ETag: r.ETag, Name: name, Hash: r.Hash, UID: cmp.Or(r.UID, k.UID)})
	case ls == changed && rs == same:
		p.remoteWrite(Action{Kind: Upload, Href: href, ETag: etag, Name: name, Hash: l.Hash, UID: l.UID})
	case ls == changed && rs == changed:
		switch same, why := sameContent(l, r); {
		case same:
			p.add(Action{Kind: Record, Href: href, ETag: r.ETag, Name: name, Hash: l.Hash, UID: l.UID, Reason: "both changed to " + why})
		case p.opts.Merge && !isPseudo(r.ETag):
			p.add(Action{Kind: Merge, Href: href, ETag: r.ETag, Name: name, Hash: l.Hash, UID: l.UID, Winner: winnerOf(p.opts.Policy),
				Reason: "changed on both sides: the two edits are merged against the last synced version"})
		default:
			p.conflict(l, r, "changed on both sides")
		}
	case ls == gone && rs == same:
		p.remoteWrite(Action{Kind: DeleteRemote, Href: href, ETag: etag, Name: k.Name, Hash: k.Hash, UID: k.UID})
	case ls == same && rs == gone:
		p.add(Action{Kind: DeleteLocal, Href: k.Href, Name: name, Hash: k.Hash, UID: k.UID})
	case ls == changed && rs == gone:
		// Keep the local edit: re-create it where it was.
		p.remoteWrite(Action{Kind: Create, Href: k.Href, Name: name, Hash: l.Hash, UID: l.UID, Reason: "deleted on the server but changed locally: re-created"})
	case ls == gone && rs == changed:
		p.add(Action{Kind: Download, Href: href, ETag: r.ETag, Name: k.Name, Hash: r.Hash, UID: cmp.Or(r.UID, k.UID), Reason: "deleted locally but changed on the server: re-downloaded"})
	default: // gone on both sides
		p.add(Action{Kind: Forget, Href: k.Href, Name: k.Name, UID: k.UID, Reason: "deleted on both sides"})
	}
}

// firstContact pairs new local and new remote items by UID; the rest are
// plain creates and downloads.
func (p *planner) firstContact() {
	byUID := make(map[string]*Local, len(p.newLocal))
	for _, l := range p.newLocal {
		if l.UID != "" {
			byUID[l.UID] = l
		}
	}
	paired := make(map[string]bool)
	for _, r := range p.newRemote {
		l := byUID[r.UID]
		if r.UID == "" || l == nil {
			p.add(Action{Kind: Download, Href: r.Href, ETag: r.ETag, Hash: r.Hash, UID: r.UID})
			continue
		}
		if same, why := sameContent(l, r); same {
			p.add(Action{Kind: Record, Href: r.Href, ETag: r.ETag, Name: l.Name, Hash: l.Hash, UID: l.UID, Reason: "first contact, " + why})
		} else {
			p.conflict(l, r, "first contact, content differs")
		}
		paired[l.Name] = true
	}
	for _, l := range p.newLocal {
		if !paired[l.Name] {
			p.remoteWrite(Action{Kind: Create, Name: l.Name, Hash: l.Hash, UID: l.UID})
		}
	}
}

// sameContent tells whether a file and a server member hold the same
// item: the same bytes, or the same content in another layout (another
// tool's line folding, line endings or property order), and says which.
// The item is then recorded as it is on each side; nothing is written.
func sameContent(l *Local, r *Remote) (bool, string) {
	switch {
	case l.Hash == r.Hash:
		return true, "identical content"
	case l.Content != "" && l.Content == r.Content:
		return true, "the same content in another layout"
	}
	return false, ""
}

func (p *planner) conflict(l *Local, r *Remote, why string) {
	p.add(resolve(p.opts, *l, *r, why))
}

// remoteWrite adds a, or a Skip when the calendar may not be written, a
// Rejected when the server refused these very bytes before, or a Report
// when the server gave no etag to make it conditional on.
func (p *planner) remoteWrite(a Action) {
	r, refused := p.rejected[a.Name]
	switch {
	case p.opts.ReadOnly:
		p.skip(a, "read-only calendar: local change kept")
		return
	case refused && r.Hash == a.Hash && a.Name != "" && (a.Kind == Upload || a.Kind == Create):
		a.Kind, a.Reason = Rejected, r.Reason
	case a.Kind != Create && isPseudo(a.ETag):
		a.Kind, a.Reason = Report, noETag
	}
	p.add(a)
}

func (p *planner) skip(a Action, reason string) {
	a.Kind, a.Reason = Skip, reason
	p.add(a)
}

func (p *planner) add(a Action) { p.acts = append(p.acts, a) }
