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
)

// watcher turns file system events under one account's local root into sync
// triggers. Events are only hints: the pass they trigger lists the folder
// against state and decides, so a missed or extra event costs at most a pass.
//
// inotify is not recursive (neither is fsnotify), so the root and every calendar
// folder get their own watch; folders created later are added on their
// CREATE event and after every pass.
type watcher struct {
	root     string
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

func newWatcher(root string, debounce, rescan time.Duration, log zerolog.Logger, fire func(full bool)) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &watcher{root: root, debounce: debounce, maxHold: time.Second, rescan: rescan, log: log, fire: fire,
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

// addAll watches the root and each folder directly under it. Adding an
// existing watch is harmless, so this runs after every pass.
func (wt *watcher) addAll() {
	if err := wt.w.Add(wt.root); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			wt.log.Warn().Err(err).Str("dir", wt.root).Msg("cannot watch local root")
		}
		return
	}
	ents, err := os.ReadDir(wt.root)
	if err != nil {
		wt.log.Warn().Err(err).Str("dir", wt.root).Msg("cannot list local root")
		return
	}
	for _, en := range ents {
		if en.IsDir() && !strings.HasPrefix(en.Name(), ".") {
			wt.addDir(filepath.Join(wt.root, en.Name()))
		}
	}
}

func (wt *watcher) addDir(dir string) {
	if err := wt.w.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		wt.log.Warn().Err(err).Str("dir", dir).Msg("cannot watch calendar folder")
	}
}

// relevantItem tells whether a file name in a calendar folder can be an item:
// hidden files (editor swap files, our own temp files), non-.ics names (vim's
// "4913" probe and "x.ics~" backup) and conflict copies are not.
func relevantItem(name string) bool {
	return strings.HasSuffix(name, ".ics") && !strings.HasPrefix(name, ".") && !strings.Contains(name, ".conflict-")
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
				wt.log.Warn().Str("dir", wt.root).Msg("inotify queue overflowed: full rescan")
				wt.addAll()
				wt.fire(true)
				continue
			}
			wt.log.Warn().Err(err).Str("dir", wt.root).Msg("file watcher error")
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

// relevant filters events and adds watches for new calendar folders.
func (wt *watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		// Attribute-only changes (touch, chmod) never change content.
		return false
	}
	dir, name := filepath.Split(ev.Name)
	dir = filepath.Clean(dir)
	if dir == wt.root {
		if strings.HasPrefix(name, ".") {
			return false
		}
		if ev.Has(fsnotify.Create) {
			if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
				// A new calendar folder (from the user or from our own pass):
				// watch it; files may already be inside, so trigger too.
				wt.addDir(ev.Name)
				return true
			}
			return false
		}
		// A folder removed or renamed away: let the pass see (and guard).
		return ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	}
	if filepath.Dir(dir) != wt.root {
		return false
	}
	return relevantItem(name)
}
