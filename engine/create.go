package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/newcol"
	"github.com/vdird/vdird/state"
)

// createCollections makes on the server a collection of each of account
// a's new local folders that newcol.Decide picks, after the
// server's collections (cals, fresh when listed by this pass) had their
// passes, and runs a pass over each one made, which uploads its items.
func (e *Engine) createCollections(ctx context.Context, a *config.Account, c *davclient.Client, cals []davclient.Calendar, fresh bool, opts SyncOptions) []*Summary {
	if !opts.DryRun {
		e.forgetRefusalsOfGoneFolders(a)
	}
	in, err := e.createInput(ctx, a, c, cals, opts.Calendars)
	if err != nil {
		return []*Summary{{Account: a.Name, Calendar: "*", Err: fmt.Errorf("new folders: %w", err)}}
	}
	p := decide(in)
	if len(p.Create) > 0 && !fresh {
		// Decide against what the server lists now, never an older list.
		if cals, err = e.calendarsOf(ctx, a, c, false, opts.DryRun, opts.refused); err == nil {
			in, err = e.createInput(ctx, a, c, cals, opts.Calendars)
		}
		if err != nil {
			return []*Summary{{Account: a.Name, Calendar: "*", Err: fmt.Errorf("new folders: %w", err)}}
		}
		p = decide(in)
	}
	var out []*Summary
	for _, n := range p.Notes {
		out = append(out, &Summary{Account: a.Name, Dir: n.Path, Calendar: filepath.Base(n.Path), Notes: []string{n.Note}})
	}
	for _, nc := range p.Create {
		if err := ctx.Err(); err != nil {
			out = append(out, &Summary{Account: a.Name, Dir: nc.Path, Calendar: nc.Name, AddressBook: nc.AddressBook, Err: err})
			continue
		}
		out = append(out, e.makeCollection(ctx, a, c, nc, opts))
	}
	return out
}

// createInput gathers what newcol.Decide decides from for account
// a, whose server lists cals, in a pass asked for the collections named
// asked: the folders under its roots that no collection has, read, and
// what keeps a folder local.
func (e *Engine) createInput(ctx context.Context, a *config.Account, c *davclient.Client, cals []davclient.Calendar, asked []string) (newcol.Input, error) {
	in := newcol.Input{Taken: map[string]bool{}, Calendars: a.Calendars, AddressBooks: a.AddressBooks, Asked: asked,
		Disabled: !a.CreateCollections, NameOf: local.CalendarName, Refused: map[string]string{}}
	known, err := e.store.Collections()
	if err != nil {
		return in, err
	}
	onServer := map[string]bool{}
	for _, cal := range cals {
		onServer[collectionKey(a, cal)] = true
	}
	for _, col := range known {
		// A collection being made that the server does not list was never
		// made: its folder is new again.
		if !col.Creating || onServer[col.Key] || col.Account != a.Name {
			in.Taken[col.Dir] = true
		}
	}
	dirs := collectionDirs(known)
	for _, cal := range cals {
		in.Taken[filepath.Join(rootOf(a, cal.Kind), e.folderOf(a, cal, dirs))] = true
	}
	for _, s := range e.cfg.Subscriptions {
		in.Taken[s.Dir] = true
	}
	for _, o := range e.cfg.Accounts {
		in.Taken[o.LocalRoot], in.Taken[o.ContactsRoot] = true, true
	}
	rec, _, err := e.store.Account(a.Name)
	if err != nil {
		return in, err
	}
	for dir, r := range rec.CreateRefused {
		in.Refused[dir] = r.Folder
	}
	if in.Folders, err = local.NewFolders(roots(a), in.Taken); err != nil || len(in.Folders) == 0 || in.Disabled {
		return in, err
	}
	in.Home, in.BookHome = rec.Home, rec.BookHome
	if in.Home == "" && in.BookHome == "" {
		h, err := c.Homes(ctx)
		if err != nil {
			return in, err
		}
		in.Home, in.BookHome = h.Calendars, h.AddressBooks
	}
	return in, nil
}

// roots are the folders whose sub-folders hold account a's collections.
func roots(a *config.Account) []local.Root {
	var out []local.Root
	for _, k := range kinds(a) {
		out = append(out, local.Root{Path: rootOf(a, k), Kind: k})
	}
	return out
}

// decide is newcol.Decide over in, with the components of the
// items read for the calendars it makes.
func decide(in newcol.Input) newcol.Plan {
	p := newcol.Decide(in)
	read := false
	for i, f := range in.Folders {
		if !f.AddressBook && f.ComponentsFile == "" && slices.ContainsFunc(p.Create, func(nc newcol.Collection) bool { return nc.Path == f.Path }) {
			local.ItemComponents(&in.Folders[i])
			read = true
		}
	}
	if read {
		p = newcol.Decide(in)
	}
	return p
}

// makeCollection makes the collection nc on the server and runs its first
// pass. State records the collection, with its folder and Creating set,
// before the request: should the answer be lost, the next listing pairs
// what the server made with the folder. A refusal drops that record and
// is remembered (refuseCreate).
func (e *Engine) makeCollection(ctx context.Context, a *config.Account, c *davclient.Client, nc newcol.Collection, opts SyncOptions) *Summary {
	kind := davclient.KindCalendar
	if nc.AddressBook {
		kind = davclient.KindAddressBook
	}
	s := &Summary{Account: a.Name, Dir: nc.Path, Calendar: nc.Name, AddressBook: nc.AddressBook}
	href, err := c.CollectionHref(nc.Href)
	if err != nil {
		s.Err = err
		return s
	}
	s.Href = href
	what := fmt.Sprintf("%s %q at %s", kind, nc.Name, href)
	if opts.DryRun {
		s.Notes = []string{"would create " + what + " from the folder " + nc.Path + ", and upload its items"}
		return s
	}
	key := collectionKey(a, davclient.Calendar{Href: href, Kind: kind})
	col := state.Collection{Key: key, Account: a.Name, Href: href, Dir: nc.Path, Creating: true}
	if err := e.store.Update(key, func(tx *state.Tx) error { return tx.SetCollection(col) }); err != nil {
		s.Err = err
		return s
	}
	err = c.MakeCollection(ctx, href, davclient.NewCollection{Kind: kind, DisplayName: strings.TrimSpace(nc.Meta.DisplayName),
		Color: strings.TrimSpace(nc.Meta.Color), Description: strings.TrimSpace(nc.Meta.Description), Components: nc.Components})
	switch {
	case err == nil || errors.Is(err, davclient.ErrNotAllowed):
		made, lerr := c.Calendar(ctx, href)
		if lerr == nil && made.Kind == kind {
			return e.madeCollection(ctx, a, c, made, nc, err == nil, opts)
		}
		if err == nil {
			s.Err = fmt.Errorf("%s made, but not readable: %w", what, lerr)
			return s
		}
	case !refusal(err):
		// The server may have made it: the next listing tells.
		s.Err = fmt.Errorf("making %s: %w", what, err)
		return s
	}
	s.Refused = e.refuseCreate(a, key, nc, href, err)
	return s
}

// madeCollection records that the collection made (or found) at its
// folder's href is on the server, and runs its first pass.
func (e *Engine) madeCollection(ctx context.Context, a *config.Account, c *davclient.Client, made davclient.Calendar, nc newcol.Collection, ours bool, opts SyncOptions) *Summary {
	err := e.made(collectionKey(a, made))
	if err == nil {
		err = e.store.UpdateAccount(a.Name, func(r *state.Account) { delete(r.CreateRefused, nc.Path) })
	}
	if err != nil {
		return &Summary{Account: a.Name, Href: made.Href, Dir: nc.Path, Calendar: nc.Name, AddressBook: nc.AddressBook, Err: err}
	}
	e.mu.Lock()
	if cals, ok := e.lastCals[a.Name]; ok && !slices.ContainsFunc(cals, func(x davclient.Calendar) bool { return x.Href == made.Href }) {
		e.lastCals[a.Name] = append(slices.Clone(cals), made)
	}
	e.mu.Unlock()
	s := e.syncCollection(ctx, a, c, made, filepath.Base(nc.Path), opts)
	note := made.Kind.String() + " made on the server from the folder, at " + made.Href
	if !ours {
		note = "a " + made.Kind.String() + " was at " + made.Href + " already: the folder syncs with it"
	}
	s.Notes = append([]string{note}, s.Notes...)
	return s
}

// refusal tells whether err is the server refusing to make a collection,
// which asking again would not change: a 4xx other than a lost login or a
// busy server, or 501 Not Implemented.
func refusal(err error) bool {
	var de *davclient.Error
	if !errors.As(err, &de) {
		return false
	}
	switch de.Status {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	case http.StatusNotImplemented:
		return true
	}
	return de.Status/100 == 4 || de.Status == http.StatusMultiStatus
}

// refuseCreate drops the record of the collection the server refused to
// make of the folder of nc, and remembers the refusal in the account's
// record until the folder changes. It returns the message for the user.
func (e *Engine) refuseCreate(a *config.Account, key string, nc newcol.Collection, href string, err error) string {
	kind := davclient.KindCalendar
	if nc.AddressBook {
		kind = davclient.KindAddressBook
	}
	noun := format.Of(kind).Noun
	url := href
	var de *davclient.Error
	if errors.As(err, &de) {
		url = de.URL
	}
	why := err.Error()
	if !strings.Contains(why, url) {
		why = url + ": " + why
	}
	msg := fmt.Sprintf("the server refused to make the folder %s into a %s: %s; it is not asked again until the folder changes or `vdird sync %s` names it",
		nc.Path, noun, why, nc.Name)
	if derr := e.store.DeleteCollection(key); derr != nil {
		return msg + "; " + derr.Error()
	}
	if uerr := e.store.UpdateAccount(a.Name, func(r *state.Account) {
		if r.CreateRefused == nil {
			r.CreateRefused = map[string]state.CreateRefusal{}
		}
		r.CreateRefused[nc.Path] = state.CreateRefusal{URL: url, Reason: msg, Folder: nc.Fingerprint, AddressBook: nc.AddressBook, At: e.Now()}
	}); uerr != nil {
		return msg + "; " + uerr.Error()
	}
	e.log.Warn().Str("account", a.Name).Str("folder", nc.Path).Str("url", url).Err(err).Msg("the server refused to make a collection of the folder")
	return msg
}

// forgetRefusalsOfGoneFolders drops the refusals of account a's folders
// that are no longer there.
func (e *Engine) forgetRefusalsOfGoneFolders(a *config.Account) {
	rec, _, err := e.store.Account(a.Name)
	if err != nil {
		return
	}
	var gone []string
	for dir := range rec.CreateRefused {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			gone = append(gone, dir)
		}
	}
	if len(gone) == 0 {
		return
	}
	if err := e.store.UpdateAccount(a.Name, func(r *state.Account) {
		for _, dir := range gone {
			delete(r.CreateRefused, dir)
		}
	}); err != nil {
		e.log.Warn().Err(err).Str("account", a.Name).Msg("forgetting the refusals of folders that are gone")
	}
}

// settleCreating ends what state records of the collections of account a
// being made: one the server lists (onServer) is made; one a fresh
// listing lacks was never made, and its record goes, so that its folder
// is new again.
func (e *Engine) settleCreating(a *config.Account, known []state.Collection, onServer map[string]bool, fresh bool) error {
	for _, col := range known {
		if col.Account != a.Name || !col.Creating {
			continue
		}
		var err error
		switch {
		case onServer[col.Key]:
			err = e.made(col.Key)
		case fresh:
			err = e.store.DeleteCollection(col.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// made records that the collection at key, being made, is on the server.
func (e *Engine) made(key string) error {
	return e.store.Update(key, func(tx *state.Tx) error {
		col, _ := tx.Collection()
		col.Creating = false
		return tx.SetCollection(col)
	})
}

// matchNewFolders marks in matched each of want that names a new folder
// of account a, one no collection in known has: its name or its display
// name. `vdird sync NAME` may name a folder that is not on the server.
func matchNewFolders(a *config.Account, known []state.Collection, want []string, matched map[string]bool) {
	if !a.CreateCollections {
		return
	}
	taken := map[string]bool{}
	for _, col := range known {
		taken[col.Dir] = true
	}
	folders, _ := local.NewFolders(roots(a), taken)
	for _, f := range folders {
		for _, n := range want {
			matched[n] = matched[n] || n == f.Name || n == strings.TrimSpace(f.Meta.DisplayName)
		}
	}
}

// refusedRows are the status rows of the folders the server refused to
// make into collections.
func (e *Engine) refusedRows() ([]CalendarStatus, error) {
	recs, err := e.store.Accounts()
	if err != nil {
		return nil, err
	}
	var out []CalendarStatus
	for _, r := range recs {
		for _, dir := range slices.Sorted(maps.Keys(r.CreateRefused)) {
			rf := r.CreateRefused[dir]
			out = append(out, CalendarStatus{Account: r.Name, Calendar: filepath.Base(dir), Href: rf.URL, Dir: dir,
				Refused: rf.Reason, NotMade: true, AddressBook: rf.AddressBook})
		}
	}
	return out, nil
}
