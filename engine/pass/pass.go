// Package pass runs one sync pass over one calendar or address book: it
// picks the cheapest strategy the facts allow, builds the views of both
// sides and what state knows, hands them to the planner and the
// executor, publishes a first download's staging folder and records the
// collection's change markers. The passes of one account share an
// Account, which settles at its end the creates a server refused because
// their UID lives elsewhere in the account. Which collections to sync,
// the configuration and the clients are the engine's.
package pass

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/remote"
	"github.com/vdird/vdird/engine/window"
	"github.com/vdird/vdird/engine/work"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
	"github.com/vdird/vdird/versions"
)

// Env is what every pass of an engine shares: the state store, the
// logger, the clock (conflict copy names, the last sync's time) and the
// store that keeps the versions a pass replaces (nil: none are kept).
type Env struct {
	Store    *state.Store
	Log      zerolog.Logger
	Now      func() time.Time
	Versions *versions.Store
}

// Job is the collection a pass is over: the account it belongs to, the
// client that reaches it, its state key, where its folder goes when state
// does not know it yet, and what of it the configuration syncs.
type Job struct {
	Account string
	Client  *davclient.Client
	Cal     davclient.Calendar
	Key     string
	NewDir  func() string
	Scope   window.Scope
}

// Options tune one pass.
type Options struct {
	DryRun bool
	// Plan are the planner's options; ReadOnly is the collection's.
	Plan plan.Options
	// Progress, when set, hears how far the downloads and uploads have
	// come.
	Progress work.Progress
	// Account is shared by the passes of one account pass; nil for a pass
	// on its own.
	Account *Account
}

// pass is one sync pass over one calendar or address book: which
// collection, the format of its items, how its source on the server is
// read and how results are recorded. The strategy that
// runs builds the views of both sides and what state knows, and hands them
// to the planner and the executor.
type pass struct {
	env     Env
	account string
	c       *davclient.Client
	cal     davclient.Calendar
	fmt     *format.Format // of cal's items
	key     string
	newDir  func() string
	scope   window.Scope
	col     state.Collection
	s       *Summary
	opts    Options
	log     zerolog.Logger // with the account and calendar
	src     *remote.Source
	rec     *apply.Recorder
	work    *calendarWork // reports downloads and uploads to opts.Progress
	// rejected are the file versions the server refused, met by this pass.
	rejected map[string]plan.Rejection
	// meta is the collection's metadata to record as last synced.
	meta plan.Meta
	// stage is the staging folder this pass fills with a first download:
	// finish publishes it, complete, before recording the markers.
	stage *vdir.Dir
}

// known is what state records of a calendar's items, by href and by file
// name.
type known struct{ byHref, byName map[string]state.Item }

func newKnown(items []state.Item) known {
	k := known{byHref: make(map[string]state.Item, len(items)), byName: make(map[string]state.Item, len(items))}
	for _, it := range items {
		k.byHref[it.Href], k.byName[it.Name] = it, it
	}
	return k
}

// Run runs one pass of job and reports what it did. A pass that fails
// records its error as the collection's last error, unless it is a dry
// run, which records nothing.
func Run(ctx context.Context, env Env, job Job, opts Options) *Summary {
	p := &pass{env: env, account: job.Account, c: job.Client, cal: job.Cal, fmt: format.Of(job.Cal.Kind), key: job.Key,
		newDir: job.NewDir, scope: job.Scope, opts: opts, s: &Summary{Account: job.Account, Href: job.Cal.Href,
			AddressBook: job.Cal.Kind == davclient.KindAddressBook}}
	if err := p.run(ctx); err != nil {
		p.s.Err = err
		env.Log.Error().Str("account", job.Account).Str("calendar", p.s.Calendar).Err(err).Msg("sync failed")
		if opts.DryRun {
			return p.s // a dry run records nothing, not even its failure
		}
		_ = env.Store.Update(p.key, func(tx *state.Tx) error {
			col, ok := tx.Collection()
			if !ok {
				return nil
			}
			col.LastError = err.Error()
			return tx.SetCollection(col)
		})
	}
	return p.s
}

// run picks the cheapest strategy the facts allow and runs it; a scoped
// strategy that cannot tell gives way to listing both sides.
func (p *pass) run(ctx context.Context) error {
	col, existed, err := p.env.Store.Collection(p.key)
	if err != nil {
		return err
	}
	if !existed {
		col = state.Collection{Key: p.key, Account: p.account, Href: p.cal.Href, Dir: p.newDir()}
		p.s.Notes = append(p.s.Notes, "new "+p.fmt.Noun)
	}
	p.col, p.meta = col, p.serverMeta()
	p.s.Dir, p.s.Calendar = col.Dir, filepath.Base(col.Dir)
	p.log = p.env.Log.With().Str("account", p.account).Str("calendar", p.s.Calendar).Logger()
	p.work = &calendarWork{p: p.opts.Progress, s: work.Step{Account: p.account, Calendar: p.s.Calendar, Href: p.cal.Href}}
	p.src = &remote.Source{Client: p.c, Cal: p.cal, Marker: col.Marker, Token: col.SyncToken, Log: p.log, Progress: p.work,
		Scope: p.scope, Now: p.env.Now(), RecordedScope: col.Scope}
	p.rec = &apply.Recorder{Store: p.env.Store, Key: p.key, Col: col}
	staged, err := hasStage(col.Dir, p.fmt.Ext)
	if err != nil {
		return err
	}
	f := plan.Facts{Existed: existed, ServerAsRecorded: existed && p.src.AsRecorded(), DryRun: p.opts.DryRun,
		HaveSyncToken: p.cal.SupportsSync && col.SyncToken != "" && !p.scope.Narrowed(), Staged: staged}
	var folder local.Folder
	if existed && p.markersClean() {
		f.MarkersClean = true
		folder, f.FolderAsRecorded = local.AsRecorded(col.Dir, p.fmt.Ext, p.env.Store, p.key)
	}
	for {
		var done bool
		p.s.Strategy = plan.Choose(f)
		switch p.s.Strategy {
		case plan.Unchanged:
			p.log.Debug().Msg("unchanged: change marker and folder sum as recorded")
			p.s.Unchanged = true
			if p.opts.DryRun {
				return nil
			}
			return p.finish(col.SyncToken, false)
		case plan.ScopedDelta:
			done, err = p.scopedDelta(ctx, folder)
		case plan.ScopedLocal:
			done, err = p.scopedLocal(ctx, folder)
		case plan.ScopedBoth:
			done, err = p.scopedBoth(ctx, folder)
		default:
			return p.listedPass(ctx, f)
		}
		if done || err != nil {
			return err
		}
		f.ScopedGaveUp = true
		p.col.SyncToken = p.src.Token // cleared when the server refused it
	}
}

// listedPass loads what state knows and lists the folder, then runs the
// first download or the full pass that Choose picks with those facts.
func (p *pass) listedPass(ctx context.Context, f plan.Facts) error {
	items, settled, err := p.opts.Account.knownItems(p.env.Store, p.key)
	if err != nil {
		return err
	}
	if settled > 0 {
		p.s.Notes = append(p.s.Notes, fmt.Sprintf("%d writes that a crash or a lost answer left unrecorded are settled first; the plan follows from that", settled))
	}
	kn := newKnown(items)
	var (
		locals []plan.Local
		lv     *local.View
	)
	d, onlyRecorded, err := p.openFolder(f.Existed)
	folderMissing := errors.Is(err, vdir.ErrNoDir)
	switch {
	case folderMissing:
		d = nil
	case err != nil:
		return fmt.Errorf("local folder: %w", err)
	default:
		// Listing ignores temp files: a dry run, which removes nothing,
		// plans the same without removing them.
		if !p.opts.DryRun {
			if n, err := d.CleanTemp(); err == nil && n > 0 {
				p.log.Info().Int("files", n).Msg("removed temp files left by an earlier crash")
			}
		}
		lv = p.localView(d)
		if locals, err = lv.List(kn.byName); err != nil {
			return fmt.Errorf("local folder %s: %w", p.col.Dir, err)
		}
		if onlyRecorded {
			locals = slices.DeleteFunc(locals, func(l plan.Local) bool { _, ok := kn.byName[l.Name]; return !ok })
		}
	}
	f.Listed, f.Known, f.LocalFiles = true, len(items), len(locals)
	p.s.Strategy = plan.Choose(f)
	if p.s.Strategy == plan.ResumeFirstDownload {
		return p.resumeFirstDownload(ctx, items, f.Existed)
	}
	if f.Staged && !p.opts.DryRun {
		// A staging folder with nothing recorded holds nothing to keep.
		if err := vdir.RemoveStaged(p.col.Dir); err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
	}
	if p.s.Strategy == plan.FirstDownload {
		return p.firstDownload(ctx, d, f.Existed)
	}

	// A missing folder that held items is a guard, never "delete everything";
	// one that never held any is made (or, in a dry run, would be).
	localMissing := folderMissing && len(items) > 0
	if folderMissing && !localMissing && !p.opts.DryRun {
		if d, err = vdir.Create(p.col.Dir, p.fmt.Ext); err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
	}
	if lv == nil {
		lv = p.localView(d) // an empty folder, or none in a dry run
	}
	if !localMissing { // else refused below, and nothing is written
		if err := p.syncMeta(ctx, d, f.Existed); err != nil {
			return err
		}
	}
	rv, newToken, err := p.listServer(ctx, kn, f.Existed && (len(items) > 0 || f.ServerAsRecorded), locals, lv)
	if err != nil {
		return err
	}
	in := plan.Input{LocalMissing: localMissing, Local: locals}
	for _, it := range items {
		in.Known = append(in.Known, apply.KnownOf(it))
	}
	return p.planAndApply(ctx, in, lv, rv, kn, newToken, f.Existed)
}

// listServer builds the server's side of a full pass: the listing (see
// remote.Source.List; haveState tells that state may be trusted for a
// delta), the data of new and changed members, and in a narrowed calendar
// the items of new files found by UID (findOutside).
func (p *pass) listServer(ctx context.Context, kn known, haveState bool, locals []plan.Local, lv *local.View) (*remote.View, string, error) {
	rv, newToken, err := p.src.List(ctx, kn.byHref, haveState)
	if err != nil {
		return nil, "", err
	}
	if err := p.src.Fetch(ctx, rv, kn.byHref); err != nil {
		return nil, "", err
	}
	return rv, newToken, p.findOutside(ctx, locals, lv, rv, kn)
}

// openFolder opens the collection's folder. A run first finishes a first
// download that was cut off while its folder was still staged, keeping
// only the files state records (recoverStage); a dry run, which may not,
// lists the staging folder instead, and onlyRecorded says that only the
// recorded files there count.
func (p *pass) openFolder(existed bool) (d *vdir.Dir, onlyRecorded bool, err error) {
	d, err = vdir.Open(p.col.Dir, p.fmt.Ext)
	if errors.Is(err, vdir.ErrNoDir) && existed && p.opts.DryRun {
		if st, serr := vdir.OpenStaged(p.col.Dir, p.fmt.Ext); serr == nil {
			return st, true, nil
		}
	}
	return d, false, err
}

// localView is an empty view of the folder d of this pass's calendar.
func (p *pass) localView(d *vdir.Dir) *local.View {
	lv := local.NewView(d, p.fmt, p.cal.Components, p.log)
	if p.scope.Components != nil {
		lv.Holds = p.scope.Holds
	}
	return lv
}

// firstDownload fetches a calendar that is new on both sides into d, its
// empty folder. A folder that does not exist yet (d nil) is filled under a
// hidden name and published complete; a download that stops before its
// end leaves it there, hidden, for the next run to resume.
func (p *pass) firstDownload(ctx context.Context, d *vdir.Dir, existed bool) error {
	if d == nil {
		var err error
		if d, err = vdir.CreateStaged(p.col.Dir, p.fmt.Ext); err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
	}
	if err := p.syncMeta(ctx, d, existed); err != nil {
		return err
	}
	token, held, err := p.freshDownload(ctx, d)
	switch {
	case err != nil && d.Staged():
		return p.interrupted(err, p.s.Downloaded, 0)
	case err != nil:
		return err
	case d.Staged():
		p.stage = d
	}
	return p.finish(token, held || len(p.s.Problems) > 0)
}

// planAndApply adds the remote side (rv) and the options to in, plans, and
// has the plan carried out on the views it was made from. kn is what state
// knows of the items in the plan.
func (p *pass) planAndApply(ctx context.Context, in plan.Input, lv *local.View, rv *remote.View, kn known, newToken string, existed bool) error {
	in.Options = p.opts.Plan
	in.Options.ReadOnly = p.cal.ReadOnly
	in.Remote = rv.Remotes()
	in.Rejected = make(map[string]plan.Rejection, len(p.col.Rejected))
	for name, r := range p.col.Rejected {
		in.Rejected[name] = plan.Rejection(r)
	}
	p.s.Problems = append(p.s.Problems, rv.TakeProblems()...)
	res := plan.Plan(in)
	if res.Refused != nil {
		p.s.Refused = res.Refused.Reason
		p.log.Warn().Str("reason", res.Refused.Reason).Msg("refused by a safety guard")
		if p.opts.DryRun {
			return nil
		}
		col := p.col
		col.Refused = res.Refused.Reason
		return p.rec.Flush(func(tx *state.Tx) error { return tx.SetCollection(col) })
	}
	if p.opts.DryRun {
		// A merge's outcome is worked out as the run works it out.
		var err error
		p.s.Planned, err = p.executor(lv, rv, kn).Foresee(ctx, res.Actions)
		return err
	}
	if len(res.Actions) == 0 && existed && p.src.AsRecorded() && p.col.SyncToken == newToken && !lv.Moved(kn.byName) {
		p.s.Unchanged = true
	}
	x := p.executor(lv, rv, kn)
	x.KeepAhead(ctx, in, res.Actions)
	if n := uploads(res.Actions); n > 0 {
		p.work.start(work.Uploading, n)
		defer p.work.Done()
	}
	for _, act := range res.Actions {
		err := ctx.Err()
		if err == nil {
			err = x.Apply(ctx, act)
		}
		if err != nil {
			_ = p.rec.Flush()
			p.take(x)
			return err
		}
		if uploading(act) {
			p.work.Add(1, len(lv.Data[act.Name]))
		}
	}
	p.refreshFingerprints(lv, kn)
	p.take(x)
	return p.finish(newToken, rv.Held)
}

// uploading tells whether act sends a file's content to the server.
func uploading(act plan.Action) bool { return act.Kind == plan.Upload || act.Kind == plan.Create }

// uploads counts the actions of a plan that send a file to the server.
func uploads(acts []plan.Action) int {
	n := 0
	for _, act := range acts {
		if uploading(act) {
			n++
		}
	}
	return n
}

// executor is the executor of a plan made from lv, rv and kn.
func (p *pass) executor(lv *local.View, rv *remote.View, kn known) *apply.Executor {
	x := &apply.Executor{Rec: p.rec, Client: p.c, Cal: p.cal, Policy: p.opts.Plan.Policy, Merge: p.opts.Plan.Merge,
		Local: lv, Remote: rv, Known: kn.byHref, Now: p.env.Now, Log: p.log, Versions: p.versions()}
	if ap := p.opts.Account; ap != nil {
		x.Refuse = func(act plan.Action, err error) { ap.refuse(p, x, act, err) }
	}
	return x
}

// take adds what x did since the last take, and the problems its remote
// view met, to the summary.
func (p *pass) take(x *apply.Executor) {
	p.s.add(x.Report)
	if len(x.Report.Rejected) > 0 && p.rejected == nil {
		p.rejected = map[string]plan.Rejection{}
	}
	maps.Copy(p.rejected, x.Report.Rejected)
	x.Report = apply.Report{}
	p.s.Problems = append(p.s.Problems, x.Remote.TakeProblems()...)
}

// refreshFingerprints records new stat fingerprints of files that were
// touched without a content change, so the next pass does not re-read
// them; not those this pass changed and recorded already.
func (p *pass) refreshFingerprints(lv *local.View, kn known) {
	for _, it := range lv.Touched(kn.byName) {
		cur, ok, err := p.env.Store.Item(p.key, it.Href)
		if err != nil || !ok || cur.Name != it.Name || cur.Hash != it.Hash || cur.ETag != it.ETag {
			continue
		}
		p.rec.Queue(func(tx *state.Tx) error { return tx.PutItem(it) })
	}
}

// markersClean tells that the last pass ended without problems and the
// calendar's properties, on the server and in the folder, are as
// recorded, so a pass may take a shortcut.
func (p *pass) markersClean() bool {
	col := p.col
	return col.LastError == "" && p.recordedMeta() == p.serverMeta() && col.ReadOnly == p.cal.ReadOnly && p.folderMetaAsRecorded()
}

// finish records the collection's change markers. They advance only when
// every remote change of this pass was applied and recorded (held: one was
// not), so nothing seen is skipped by the next cheap check. A staging
// folder the pass filled is published first, once all it holds is
// recorded.
func (p *pass) finish(newToken string, held bool) error {
	if err := p.rec.Failed(); err != nil {
		// Results of this pass are missing from state: the markers stay,
		// so the next pass sees those changes again. What can still be
		// recorded now spares it work; the pass fails either way.
		if ferr := p.rec.Flush(); ferr != nil {
			p.log.Debug().Err(ferr).Msg("recording the rest of the pass failed too")
		}
		return fmt.Errorf("recording the pass's results: %w", err)
	}
	if p.stage != nil {
		if err := p.rec.Flush(); err != nil {
			return fmt.Errorf("recording the pass's results: %w", err)
		}
		merged, err := p.publish(p.stage)
		if err != nil {
			return err
		}
		p.stage, held = nil, held || merged
	}
	col := p.col
	col.DisplayName, col.Color, col.Description, col.ReadOnly = p.meta.DisplayName, p.meta.Color, p.meta.Description, p.cal.ReadOnly
	col.LastError, col.Refused = "", ""
	// Every file the server refused and that still holds those bytes was
	// planned (a scoped pass looks at every file not as recorded), so what
	// this pass met replaces what was recorded.
	col.Rejected = nil
	for name, r := range p.rejected {
		if col.Rejected == nil {
			col.Rejected = map[string]state.Rejection{}
		}
		col.Rejected[name] = state.Rejection(r)
	}
	if len(p.s.Problems) == 0 && !held {
		col.Marker, col.SyncToken, col.Scope = p.cal.Marker(), newToken, p.src.ScopeKey()
		if p.opts.Account == nil || p.opts.Account.Listed {
			col.LastSync = p.env.Now()
		}
	} else {
		col.LastError = strings.Join(p.s.Problems, "; ")
	}
	return p.rec.Flush(func(tx *state.Tx) error { return tx.SetCollection(col) })
}
