package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/vcard"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
	"github.com/vdird/vdird/versions"
)

// run is one restore.
type run struct {
	env      Env
	sel      Selection
	pass     string
	folders  map[string]*folder // by account and calendar href
	replaced int                // files replaced, each kept as a version first

	// steps[i] is how the i-th item is written (nil: it is not).
	steps []*step
}

// folder is a calendar or address book folder as a restore finds it:
// which file holds which UID, and what state recorded of each.
type folder struct {
	key, path string
	ext       string // the item files' extension
	err       error
	dir       *vdir.Dir
	byUID     map[string]string // UID → file name
	files     map[string]vdir.Fingerprint
	recorded  map[string]state.Item // by file name
}

// scan lists the folder: a file that state recorded with this fingerprint
// holds the UID state recorded, any other is read.
func (f *folder) scan(st *state.Store) error {
	d, err := vdir.Open(f.path, f.ext)
	if err != nil {
		return fmt.Errorf("folder %s: %w", f.path, err)
	}
	f.dir, f.byUID, f.files, f.recorded = d, map[string]string{}, map[string]vdir.Fingerprint{}, map[string]state.Item{}
	if f.key != "" {
		items, err := st.Items(f.key)
		if err != nil {
			return err
		}
		for _, it := range items {
			f.recorded[it.Name] = it
		}
	}
	ents, err := d.List()
	if err != nil {
		return err
	}
	for _, e := range ents {
		f.files[e.Name] = e.Fingerprint
		uid := ""
		if it, ok := f.recorded[e.Name]; ok && state.Fingerprint(e.Fingerprint) == it.Fingerprint {
			uid = it.UID
		} else if b, _, err := d.Read(e.Name); err == nil {
			uid = uidOf(f.ext, b)
		}
		if _, taken := f.byUID[uid]; uid != "" && !taken {
			f.byUID[uid] = e.Name
		}
	}
	return nil
}

// step is the write of one restored item.
type step struct {
	f      *folder
	name   string
	data   []byte
	expect *vdir.Fingerprint // the file replaced, nil for a new one
	keep   *versions.Version // the replaced file's version, kept first
}

// plan decides what becomes of the item of version e; newer says a
// version of it was kept after e.
func (r *run) plan(e versions.Entry, newer bool) Item {
	it := Item{Version: e}
	s, err := r.decide(e, newer, &it)
	if err != nil {
		it.Outcome, it.Why = Failed, err.Error()
	}
	r.steps = append(r.steps, s)
	return it
}

func (r *run) decide(e versions.Entry, newer bool, it *Item) (*step, error) {
	data, _, err := r.env.Versions.Read(e.ID)
	if err != nil {
		return nil, err
	}
	f, err := r.folderOf(e, data)
	if err != nil {
		return nil, err
	}
	uid := e.UID
	if uid == "" {
		uid = uidOf(f.ext, data)
	}
	// An item whose UID another file holds now goes back into that file:
	// a second file would be a second copy of it.
	name, ok := f.byUID[uid]
	if !ok || uid == "" {
		name = f.freeName(e)
	}
	it.Path = filepath.Join(f.path, name)
	s := &step{f: f, name: name, data: data}
	fp, exists := f.files[name]
	if !exists {
		it.Outcome = Restored
		f.take(name, uid)
		return s, nil
	}
	cur, got, err := f.dir.Read(name)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(cur, data) {
		it.Outcome = Unchanged
		return nil, nil
	}
	if why := r.edited(f, name, cur, e, newer); why != "" && !r.sel.Force {
		it.Outcome, it.Why = NeedsForce, why
		return nil, nil
	}
	if got != fp {
		return nil, fmt.Errorf("%s changed while restoring: try again", name)
	}
	it.Outcome = Restored
	s.expect = &fp
	s.keep = &versions.Version{Data: cur, Meta: versions.Meta{
		Account: e.Account, Collection: e.Collection, Folder: e.Folder, UID: uid,
		Href: f.recorded[name].Href, File: name, Side: versions.Local, Reason: versions.Restored,
		Pass: r.pass, Time: r.env.Now(),
	}}
	return s, nil
}

// edited says how the file name, holding cur, was edited after version e
// was kept ("" when it was not): a change not synced yet, an item made
// again after it was deleted, or a later version kept since.
func (r *run) edited(f *folder, name string, cur []byte, e versions.Entry, newer bool) string {
	rec, ok := f.recorded[name]
	switch {
	case !ok || rec.Hash != vdir.Hash(cur):
		return name + " has changes not synced yet"
	case e.Reason == versions.DeletedOnServer || e.Reason == versions.DeletedLocally || e.Reason == versions.MassDeleteConfirmed:
		return name + " holds the item again since it was deleted"
	case newer:
		return name + " changed again since this version (see vdird history)"
	}
	return ""
}

// freeName is the file name a restored item with no file of its own gets:
// its old one when free, else one derived from its href.
func (f *folder) freeName(e versions.Entry) string {
	if _, taken := f.files[e.File]; e.File != "" && !taken {
		return e.File
	}
	base := vdir.NameForHref(e.Href+"#restored", f.ext)
	name := base
	for i := 2; ; i++ {
		if _, taken := f.files[name]; !taken {
			return name
		}
		name = vdir.NameForHref(fmt.Sprintf("%s#restored-%d", e.Href, i), f.ext)
	}
}

// take marks name as holding uid, for the items restored after it.
func (f *folder) take(name, uid string) {
	f.files[name] = vdir.Fingerprint{}
	if uid != "" {
		f.byUID[uid] = name
	}
}

// write keeps the versions of the files the restore replaces, in one
// batch, then writes each item whose replaced file was kept. An item is
// written only if its file is still as the restore found it.
func (r *run) write(ctx context.Context, items []Item) error {
	var keep []versions.Version
	var at []int
	for i, s := range r.steps {
		if s != nil && s.keep != nil {
			keep, at = append(keep, *s.keep), append(at, i)
		}
	}
	err := r.env.Versions.SaveBatch(ctx, keep)
	var be *versions.BatchError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	for j, i := range at {
		if be != nil && be.Errs[j] != nil {
			items[i].Outcome, items[i].Why = Failed, fmt.Sprintf("not restored: %v", be.Errs[j])
			r.steps[i] = nil
			continue
		}
		if r.env.Versions.Keeps(keep[j].Account) {
			r.replaced++
		}
	}
	for i, s := range r.steps {
		if s == nil || items[i].Outcome != Restored {
			continue
		}
		if _, err := s.f.dir.Write(s.name, s.data, s.expect); err != nil {
			items[i].Outcome, items[i].Why = Failed, err.Error()
		}
	}
	return nil
}

// extOf is the extension of the item files of the folder version e was
// kept from: a card's when its file was a .vcf, or, without a file name,
// when its bytes are a vCard.
func extOf(e versions.Entry, data []byte) string {
	if strings.HasSuffix(e.File, vdir.VCF) ||
		e.File == "" && bytes.HasPrefix(bytes.ToUpper(bytes.TrimSpace(data)), []byte("BEGIN:VCARD")) {
		return vdir.VCF
	}
	return vdir.ICS
}

// uidOf is the UID of data, an item of a folder of extension ext; "" when
// it is not one valid item.
func uidOf(ext string, data []byte) string {
	if ext == vdir.VCF {
		if info, err := vcard.Inspect(data); err == nil {
			return info.UID
		}
		return ""
	}
	if info, err := ics.Inspect(data); err == nil {
		return info.UID
	}
	return ""
}
