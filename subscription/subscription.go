// Package subscription keeps a folder equal to an iCalendar feed (a
// webcal subscription): it fetches the feed with a conditional GET (a 304
// costs that one request), splits it into one .ics file per UID, writes
// the files whose bytes changed, removes the files of items gone from the
// feed, and never sends anything back.
//
// The folder is read-only. A local edit is reported and kept until the
// feed changes that item; then the feed's version is written and the edit
// is kept beside it as a conflict copy, as the engine keeps the losing
// side of a conflict. A file deleted locally is written again from the
// feed, and a file that is not from the feed is reported and left alone.
// A feed that is not one whole iCalendar stream changes nothing.
//
// What the last fetch saw (the feed's validators, the hash and stat
// fingerprint of every file written) is kept in a JSON file beside the
// state file, replaced atomically; a lock beside it keeps the daemon and a
// `vdird sync` from working on one subscription at once.
package subscription

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/vdir"
)

// Options tune one fetch.
type Options struct {
	// DryRun fetches and plans, and writes nothing: no file, no record.
	DryRun bool
	// AllowMassDelete lifts the empty-feed and mass-delete guards.
	AllowMassDelete bool
	// MaxDeleteFraction and MaxDeleteMin are the mass-delete guard's
	// limits, as for calendars (config's max_delete_fraction and
	// max_delete_min).
	MaxDeleteFraction float64
	MaxDeleteMin      int
	Log               zerolog.Logger
}

// Change is one thing a fetch does to the folder, or in a dry run would do.
type Change struct {
	Kind   string // "add", "update" or "remove"
	Name   string
	Reason string
}

// Result is what one fetch did.
type Result struct {
	Name string // the subscription's
	Dir  string
	// NotDue, when set, is when the subscription is due: SyncAll did not
	// fetch it.
	NotDue time.Time
	// NotModified: the server answered 304, the feed is as it was.
	NotModified bool
	// Unchanged: the folder was already equal to the feed.
	Unchanged bool

	Added, Updated, Removed int
	// ConflictCopies are the local edits kept beside the feed's version.
	ConflictCopies []string
	// Local reports the folder's own changes: edits kept, files deleted
	// and written again, files that are not from the feed.
	Local []string
	// Problems are the parts of the feed that could not be used, and the
	// files that could not be written.
	Problems []string
	Notes    []string
	// Refused is why a guard refused the fetch: nothing was written.
	Refused string
	// Planned is what a dry run would do.
	Planned []Change
	// Err is why the feed could not be fetched or used: nothing was
	// written.
	Err error
}

// SyncAll fetches each of subs in turn and returns their results; with
// onlyDue, a subscription whose interval has not passed since its last
// fetch is not fetched, and its result has NotDue set. It stops when ctx
// ends.
func SyncAll(ctx context.Context, subs []*config.Subscription, onlyDue bool, opts Options) []*Result {
	var out []*Result
	for _, sub := range subs {
		if ctx.Err() != nil {
			break
		}
		if onlyDue {
			next, err := NextFetch(sub)
			if err != nil || time.Now().Before(next) {
				out = append(out, &Result{Name: sub.Name, Dir: sub.Dir, NotDue: next, Err: err})
				continue
			}
		}
		out = append(out, Sync(ctx, sub, opts))
	}
	return out
}

// Failed tells whether the fetch needs attention (exit status, status).
func (r *Result) Failed() bool {
	return r.Err != nil || r.Refused != "" || len(r.Problems) > 0
}

// Sync fetches the feed of sub and makes its folder equal to it.
func Sync(ctx context.Context, sub *config.Subscription, opts Options) *Result {
	res := &Result{Name: sub.Name, Dir: sub.Dir}
	unlock, err := lock(ctx, sub.StateFile)
	if err != nil {
		res.Err = fmt.Errorf("subscription %s: %w", sub.Name, err)
		return res
	}
	defer unlock()
	rec, err := loadRecord(sub.StateFile)
	if err != nil {
		res.Err = fmt.Errorf("subscription %s: %w", sub.Name, err)
		return res
	}
	if rec.Dir != sub.Dir {
		if rec.Dir != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("the folder moved from %s: that one is left as it is", rec.Dir))
		}
		rec.Items, rec.ETag, rec.LastModified = map[string]*itemRecord{}, "", ""
		rec.Dir = sub.Dir
	}
	p := &pass{sub: sub, opts: opts, rec: rec, res: res, now: time.Now()}
	err = p.run(ctx)
	if errors.Is(err, context.Canceled) || opts.DryRun {
		res.Err = err
		return res
	}
	rec.LastAttempt = p.now
	rec.LastError, rec.Refused = "", res.Refused
	if err != nil {
		res.Err = err
		rec.LastError = err.Error()
	}
	if err := rec.save(sub.StateFile); err != nil && res.Err == nil {
		res.Err = fmt.Errorf("subscription %s: %w", sub.Name, err)
	}
	return res
}

// pass is one fetch of one subscription.
type pass struct {
	sub  *config.Subscription
	opts Options
	rec  *record
	res  *Result
	dir  *vdir.Dir // nil in a dry run of a folder not made yet
	now  time.Time
	// local are the folder's item files by name, as found before the
	// fetch.
	local map[string]*localFile
	where string // the feed's URL as messages show it
}

// run fetches and applies. Its error names the subscription and the feed.
func (p *pass) run(ctx context.Context) error {
	if err := p.openFolder(); err != nil || p.res.Refused != "" {
		return err
	}
	missing, err := p.scanFolder()
	if err != nil {
		return fmt.Errorf("subscription %s: %w", p.sub.Name, err)
	}
	raw, err := p.sub.FeedURL(ctx)
	if err != nil {
		return err
	}
	u, user, pass, err := feedURL(raw)
	if err != nil {
		return fmt.Errorf("subscription %s: the feed's URL: %w", p.sub.Name, err)
	}
	p.where = display(p.sub, u)
	fail := func(err error) error { return fmt.Errorf("subscription %s, %s: %w", p.sub.Name, p.where, err) }
	hc, err := newClient(p.sub, u, user, pass)
	if err != nil {
		return fail(err)
	}
	defer hc.CloseIdleConnections()
	key := urlKey(u.String())
	prev := validators{p.rec.ETag, p.rec.LastModified}
	if key != p.rec.URLKey || missing || p.rec.LastError != "" {
		// The whole feed is needed: another URL, files to write again, or
		// a fetch that did not finish.
		prev = validators{}
	}
	start := time.Now()
	got, err := fetch(ctx, hc, u, prev, user != "" || p.sub.Username != "")
	if err != nil {
		return fail(err)
	}
	p.opts.Log.Debug().Str("subscription", p.sub.Name).Str("url", p.where).Bool("not_modified", got.notModified).
		Int("bytes", len(got.body)).Dur("took", time.Since(start).Round(time.Millisecond)).Msg("feed fetched")
	p.rec.URLKey = key
	if got.notModified {
		p.res.NotModified, p.res.Unchanged = true, true
		p.res.Problems = append(p.res.Problems, p.rec.Problems...)
		p.reportLocal(nil)
		p.rec.LastFetch = p.now
		return nil
	}
	feed, err := Split(got.body)
	if err != nil {
		return fail(err)
	}
	complete, err := p.apply(feed)
	if err != nil {
		return fail(err)
	}
	p.rec.ETag, p.rec.LastModified = "", ""
	if complete {
		p.rec.ETag, p.rec.LastModified = got.etag, got.lastModified
	}
	return nil
}

// urlKey stands for a URL in the record without holding it.
func urlKey(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:])
}
