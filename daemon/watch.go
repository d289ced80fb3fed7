package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
)

// watcher turns file system events under one account's local roots (its
// calendars' and its address books') into sync triggers. Events are only
// hints: the pass they trigger lists the folder against state and decides,
// so a missed or extra event costs at most a pass.
//
// inotify is not recursive (neither is fsnotify), so each root and every
// collection folder get their own watch; folders created later are added
// on their CREATE event and after every pass.
type watcher struct {
	roots    []watchRoot
	debounce time.Duration
	// maxHold bounds how long a pass waits for an editor to put back a file
	// it renamed away (vim: x.ics → x.ics~, then a new x.ics).
	maxHold time.Duration
	rescan  time.Duration
	log     zerolog.Logger
	fire    func(full bool) // full: overflow or rescan; else a local-only pass

	w       *fsnotify.Watcher
	refresh chan chan struct{} // re-add watches (after a pass created folders), then close the reply
}

// watchRoot is a folder whose subfolders are collections, and the extension of
// their item files (".ics" for calendars, ".vcf" for address books).
type watchRoot struct{ Dir, Ext string }

// rootsOf are the local roots of account a.
func rootsOf(a *config.Account) []watchRoot {
	var out []watchRoot
	if a.SyncsCalendars() {
		out = append(out, watchRoot{a.LocalRoot, ".ics"})
	}
	if a.SyncsAddressBooks() {
		out = append(out, watchRoot{a.ContactsRoot, ".vcf"})
	}
	return out
}

func newWatcher(roots []watchRoot, debounce, rescan time.Duration, log zerolog.Logger, fire func(full bool)) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &watcher{roots: roots, debounce: debounce, maxHold: time.Second, rescan: rescan, log: log, fire: fire,
		w: fw, refresh: make(chan chan struct{})}, nil
}

// refreshWatches has the watcher goroutine add watches for folders that
// appeared (the engine creates one per new server calendar) and waits until
// it did, so an edit right after the pass (or right after READY) is seen.
func (wt *watcher) refreshWatches(ctx context.Context) {
	done := make(chan struct{})
	select {
	case wt.refresh <- done:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// addAll watches each root and each folder directly under it. Adding an
// existing watch is harmless, so this runs after every pass.
func (wt *watcher) addAll() {
	for _, r := range wt.roots {
		if err := wt.w.Add(r.Dir); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				wt.log.Warn().Err(err).Str("dir", r.Dir).Msg("cannot watch local root")
			}
			continue
		}
		ents, err := os.ReadDir(r.Dir)
		if err != nil {
			wt.log.Warn().Err(err).Str("dir", r.Dir).Msg("cannot list local root")
			continue
		}
		for _, en := range ents {
			if en.IsDir() && !strings.HasPrefix(en.Name(), ".") {
				wt.addDir(filepath.Join(r.Dir, en.Name()))
			}
		}
	}
}

func (wt *watcher) addDir(dir string) {
	if err := wt.w.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		wt.log.Warn().Err(err).Str("dir", dir).Msg("cannot watch a collection folder")
	}
}

// relevantItem tells whether a file name in a collection folder whose items
// end in ext can be an item: hidden files (editor swap files, our own temp
// files), other names (vim's "4913" probe and "x.ics~" backup) and
// conflict copies are not.
func relevantItem(name, ext string) bool {
	return strings.HasSuffix(name, ext) && !strings.HasPrefix(name, ".") && !strings.Contains(name, ".conflict-")
}

// metaFile tells whether a file name in a collection folder is one of its
// metadata files, which a pass syncs with the server's properties.
func metaFile(name string) bool {
	return name == "displayname" || name == "color" || name == "description"
}

// run owns the fsnotify watcher until ctx ends.
func (wt *watcher) run(ctx context.Context) {
	defer wt.w.Close()
	wt.addAll()

	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	var first time.Time       // first event of the current burst
	gone := map[string]bool{} // paths renamed/removed in this burst → seen missing by hold
	pending := false

	var rescanC <-chan time.Time
	if wt.rescan > 0 {
		t := time.NewTicker(wt.rescan)
		defer t.Stop()
		rescanC = t.C
	}
	for {
		select {
		case <-ctx.Done():
			debounce.Stop()
			return
		case done := <-wt.refresh:
			wt.addAll()
			close(done)
		case <-rescanC:
			wt.fire(true)
		case err, ok := <-wt.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: only a full pass is sure to see everything.
				wt.log.Warn().Msg("inotify queue overflowed: full rescan")
				wt.addAll()
				wt.fire(true)
				continue
			}
			wt.log.Warn().Err(err).Msg("file watcher error")
		case ev, ok := <-wt.w.Events:
			if !ok {
				return
			}
			if !wt.relevant(ev) {
				continue
			}
			if !pending {
				first = time.Now()
				pending = true
			}
			if ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) {
				if _, ok := gone[ev.Name]; !ok {
					gone[ev.Name] = false
				}
			}
			// Reset on every event: a burst (an editor's save dance, a script
			// writing many files) becomes one pass after it goes quiet.
			debounce.Reset(wt.debounce)
		case <-debounce.C:
			if wait := wt.hold(gone, first); wait > 0 {
				debounce.Reset(wait)
				continue
			}
			pending = false
			clear(gone)
			wt.fire(false)
		}
	}
}

// hold returns how much longer to wait before the pass when a file renamed
// or removed in this burst may be coming back (an editor's rename dance), 0
// to run the pass now. While such a file is missing and the burst is young,
// a pass would plan a delete followed by a create. A file that was seen
// missing and is back now has only just been created and may still be being
// written: give it a full debounce period.
func (wt *watcher) hold(gone map[string]bool, first time.Time) time.Duration {
	if time.Since(first) >= wt.maxHold {
		return 0
	}
	var wait time.Duration
	for p, seenMissing := range gone {
		_, err := os.Lstat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			gone[p] = true
			wait = max(wait, wt.debounce/2)
		case seenMissing:
			delete(gone, p)
			wait = max(wait, wt.debounce)
		}
	}
	return wait
}

// relevant filters events and adds watches for new collection folders.
func (wt *watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		// Attribute-only changes (touch, chmod) never change content.
		return false
	}
	dir, name := filepath.Split(ev.Name)
	dir = filepath.Clean(dir)
	for _, r := range wt.roots {
		switch {
		case dir == r.Dir:
			return wt.rootEvent(ev, name)
		case filepath.Dir(dir) == r.Dir:
			return relevantItem(name, r.Ext) || metaFile(name)
		}
	}
	return false
}

// rootEvent tells whether an event on name, right under a root, matters.
func (wt *watcher) rootEvent(ev fsnotify.Event, name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			// A new collection folder (from the user or from our own
			// pass): watch it; files may already be inside, so trigger too.
			wt.addDir(ev.Name)
			return true
		}
		return false
	}
	// A folder removed or renamed away: let the pass see (and guard).
	return ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
}
