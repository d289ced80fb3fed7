package subscription

import (
	"errors"
	"fmt"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/vdir"
)

// apply makes the folder equal to feed, or in a dry run plans it.
// complete tells whether every change was made, so that the next fetch
// may ask whether the feed changed since.
func (p *pass) apply(feed *Feed) (complete bool, err error) {
	acts, next, err := p.plan(feed)
	if err != nil {
		return false, err
	}
	handled := map[string]bool{}
	for name := range next {
		handled[name] = true
	}
	for name := range p.rec.Items {
		handled[name] = true
	}
	p.reportLocal(handled)
	p.res.Problems = append(p.res.Problems, feed.Problems...)
	if reason := p.guard(acts, feed); reason != "" {
		p.res.Refused = reason
		return false, nil
	}
	if p.opts.DryRun {
		for _, a := range acts {
			p.res.Planned = append(p.res.Planned, a.Change)
		}
		return true, nil
	}
	if err := p.announce(acts); err != nil {
		return false, err
	}
	complete = true
	for _, a := range acts {
		if err := p.do(a, next); err != nil {
			complete = false
			p.res.Problems = append(p.res.Problems, fmt.Sprintf("%s not written: %v", a.Name, err))
			if old := p.rec.Items[a.Name]; old != nil {
				next[a.Name] = &itemRecord{UID: old.UID, Hash: old.Hash, FP: old.FP}
			} else {
				delete(next, a.Name)
			}
		}
	}
	p.rec.Items, p.rec.Problems = next, feed.Problems
	metaChanged := p.meta(feed)
	p.rec.LastFetch = p.now
	p.res.Unchanged = len(acts) == 0 && !metaChanged
	if !p.res.Unchanged {
		p.rec.LastChange = p.now
	}
	return complete, nil
}

// announce records, before the first write, the hash of each version
// about to be written: a crash midway then leaves files the next fetch
// knows as its own, not as local edits.
func (p *pass) announce(acts []action) error {
	n := 0
	for _, a := range acts {
		if a.item == nil {
			continue
		}
		it := p.rec.Items[a.Name]
		if it == nil {
			it = &itemRecord{UID: a.item.UID}
			p.rec.Items[a.Name] = it
		}
		it.Next = vdir.Hash(a.item.Data)
		n++
	}
	if n == 0 {
		return nil
	}
	return p.rec.save(p.sub.StateFile)
}

// do carries out one action; next gets the written file's fingerprint.
func (p *pass) do(a action, next map[string]*itemRecord) error {
	if a.keep != nil {
		name, err := p.dir.WriteConflictCopy(a.Name, a.keep, p.now)
		if err != nil {
			return err
		}
		p.res.ConflictCopies = append(p.res.ConflictCopies, name)
	}
	if a.item == nil {
		if err := p.dir.Delete(a.Name, *a.expect); err != nil {
			return changedMeanwhile(err)
		}
		p.res.Removed++
		return nil
	}
	fp, err := p.dir.Write(a.Name, a.item.Data, a.expect)
	if err != nil {
		return changedMeanwhile(err)
	}
	next[a.Name].FP = fp
	if a.Kind == "add" {
		p.res.Added++
	} else {
		p.res.Updated++
	}
	return nil
}

func changedMeanwhile(err error) error {
	if errors.Is(err, vdir.ErrChanged) {
		return errors.New("the file changed while the feed was fetched: left for the next fetch")
	}
	return err
}

// guard refuses a fetch that would empty the folder, or remove more than
// the mass-delete limit, unless the user confirmed it.
func (p *pass) guard(acts []action, feed *Feed) string {
	known := len(p.rec.Items)
	if p.opts.AllowMassDelete || known == 0 {
		return ""
	}
	if len(feed.Items) == 0 && len(feed.Held) == 0 {
		return fmt.Sprintf("the feed lists no items but %d were fetched before: refusing to remove their files (run with --allow-mass-delete to confirm)", known)
	}
	frac, floor := p.opts.MaxDeleteFraction, p.opts.MaxDeleteMin
	if frac <= 0 {
		frac, floor = plan.DefaultMaxDeleteFraction, plan.DefaultMaxDeleteMin
	}
	removes := 0
	for _, a := range acts {
		if a.item == nil {
			removes++
		}
	}
	if known > floor && float64(removes) > frac*float64(known) {
		return fmt.Sprintf("%d of %d items are gone from the feed: refusing to remove their files (limit %.0f%% of a feed over %d items; run with --allow-mass-delete to confirm)",
			removes, known, frac*100, floor)
	}
	return ""
}

// meta writes the feed's name and colour to the folder's displayname and
// color files, where they differ; it tells whether it wrote one.
func (p *pass) meta(feed *Feed) bool {
	changed := false
	for _, m := range []struct {
		value string
		get   func() (string, error)
		set   func(string) error
		file  string
	}{
		{feed.DisplayName, p.dir.DisplayName, p.dir.SetDisplayName, "displayname"},
		{feed.Color, p.dir.Color, p.dir.SetColor, "color"},
	} {
		if m.value == "" {
			continue
		}
		if cur, err := m.get(); err == nil && cur == m.value {
			continue
		}
		if err := m.set(m.value); err != nil {
			p.res.Problems = append(p.res.Problems, fmt.Sprintf("%s not written: %v", m.file, err))
			continue
		}
		changed = true
	}
	return changed
}
