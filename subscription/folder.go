package subscription

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vdird/vdird/vdir"
)

// localFile is an item file of the folder.
type localFile struct {
	fp   vdir.Fingerprint
	hash string // "" until read
	data []byte // the bytes of a local edit, for its conflict copy
}

// openFolder opens the subscription's folder, or makes it when nothing
// was fetched into it yet. A folder that held items and is gone (an
// unmounted disk, say) refuses the fetch: nothing is made in its place.
func (p *pass) openFolder() error {
	d, err := vdir.Open(p.sub.Dir, vdir.ICS)
	switch {
	case err == nil:
		p.dir = d
		if !p.opts.DryRun {
			_, err = d.CleanTemp()
		}
		return err
	case !errors.Is(err, vdir.ErrNoDir):
		return fmt.Errorf("subscription %s: %w", p.sub.Name, err)
	case len(p.rec.Items) > 0:
		p.res.Refused = fmt.Sprintf("the folder %s held %d items of the feed and is missing or not a folder (an unmounted disk?): nothing written; make the folder again to fetch the feed into it", p.sub.Dir, len(p.rec.Items))
		return nil
	case p.opts.DryRun:
		return nil
	}
	p.dir, err = vdir.Create(p.sub.Dir, vdir.ICS)
	return err
}

// scanFolder lists the folder and reads the files that are not as written.
// missing tells whether a file written from the feed is gone.
func (p *pass) scanFolder() (missing bool, err error) {
	p.local = map[string]*localFile{}
	if p.dir == nil {
		return len(p.rec.Items) > 0, nil
	}
	entries, err := p.dir.List()
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		p.local[e.Name] = &localFile{fp: e.Fingerprint}
	}
	for name, it := range p.rec.Items {
		lf := p.local[name]
		switch {
		case lf == nil:
			missing = true
		case lf.fp == it.FP:
			lf.hash = it.Hash
		default:
			if err := p.read(name, lf); err != nil {
				return false, err
			}
		}
	}
	return missing, nil
}

// read hashes a file, keeping the bytes of a local edit.
func (p *pass) read(name string, lf *localFile) error {
	data, fp, err := p.dir.Read(name)
	if err != nil {
		return err
	}
	lf.fp, lf.hash = fp, vdir.Hash(data)
	if it := p.rec.Items[name]; it == nil || !it.ours(lf.hash) {
		lf.data = data
	}
	return nil
}

// action is one change to the folder.
type action struct {
	Change
	item   *Item             // what to write; nil for a removal
	expect *vdir.Fingerprint // the file as found; nil: there was none
	keep   []byte            // a local edit to keep as a conflict copy first
}

// plan works out what makes the folder equal to feed. Local changes are
// reported in p.res.Local as they are met; next are the records of the
// items as they will be when every action is done.
func (p *pass) plan(feed *Feed) (acts []action, next map[string]*itemRecord, err error) {
	next = map[string]*itemRecord{}
	inFeed := map[string]bool{}
	for i := range feed.Items {
		it := &feed.Items[i]
		inFeed[it.Name] = true
		a, rec, err := p.planItem(it)
		if err != nil {
			return nil, nil, err
		}
		next[it.Name] = rec
		if a != nil {
			acts = append(acts, *a)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.rec.Items)) {
		old := p.rec.Items[name]
		switch lf := p.local[name]; {
		case inFeed[name]:
		case feed.Held[name] || feed.Unreadable > 0:
			next[name] = old // the feed holds it, or may: left as it is
		case lf == nil:
			// Gone from both: forgotten.
		case old.ours(lf.hash):
			acts = append(acts, action{Change: Change{"remove", name, "gone from the feed"}, expect: &lf.fp})
		default:
			p.local1("%s was edited here and is gone from the feed: the edit kept as a conflict copy", name)
			acts = append(acts, action{Change: Change{"remove", name, "gone from the feed; the local edit is kept as a conflict copy"}, expect: &lf.fp, keep: lf.data})
		}
	}
	if feed.Unreadable > 0 && len(p.rec.Items) > 0 {
		p.res.Notes = append(p.res.Notes, "no file removed while the feed holds items that cannot be read")
	}
	return acts, next, nil
}

// planItem decides one item of the feed.
func (p *pass) planItem(it *Item) (*action, *itemRecord, error) {
	h := vdir.Hash(it.Data)
	rec := &itemRecord{UID: it.UID, Hash: h}
	old, lf := p.rec.Items[it.Name], p.local[it.Name]
	if lf != nil && lf.hash == "" {
		if err := p.read(it.Name, lf); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case lf == nil && old != nil && old.Hash != "":
		p.local1("%s was deleted here: written again from the feed (the folder is read-only)", it.Name)
		return &action{Change: Change{"add", it.Name, "deleted here"}, item: it}, rec, nil
	case lf == nil:
		return &action{Change: Change{"add", it.Name, "new in the feed"}, item: it}, rec, nil
	case lf.hash == h:
		rec.FP = lf.fp
		return nil, rec, nil
	case old != nil && old.ours(lf.hash):
		return &action{Change: Change{"update", it.Name, "changed in the feed"}, item: it, expect: &lf.fp}, rec, nil
	case old != nil && old.Hash == h:
		p.local1("%s was edited here: kept, never uploaded; the feed's version comes back when the feed changes the item", it.Name)
		return nil, &itemRecord{UID: old.UID, Hash: old.Hash, FP: old.FP}, nil
	case old != nil:
		p.local1("%s was edited here and changed in the feed: the feed's version written, the edit kept as a conflict copy", it.Name)
	default:
		p.local1("%s was there before the feed's item of that name: kept as a conflict copy", it.Name)
	}
	return &action{Change: Change{"update", it.Name, "changed in the feed over a local edit"}, item: it, expect: &lf.fp, keep: lf.data}, rec, nil
}

func (p *pass) local1(format string, args ...any) {
	p.res.Local = append(p.res.Local, fmt.Sprintf(format, args...))
}

// reportLocal reports the folder's changes that the fetch leaves alone:
// files that are not from the feed, and edits of items the fetch does not
// decide (all of them after a 304). handled are the names it decided.
func (p *pass) reportLocal(handled map[string]bool) {
	for _, name := range slices.Sorted(maps.Keys(p.local)) {
		lf, old := p.local[name], p.rec.Items[name]
		switch {
		case handled[name]:
		case old == nil:
			p.local1("%s is not from the feed: left alone, never uploaded", name)
		case !old.ours(lf.hash):
			p.local1("%s was edited here: kept, never uploaded; the feed's version comes back when the feed changes the item", name)
		}
	}
}
