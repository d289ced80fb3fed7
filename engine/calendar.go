package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/setsum"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// pass is one sync pass over one calendar: the listings it saw and the
// executor of its plan.
type pass struct {
	e    *Engine
	a    *config.Account
	c    *davclient.Client
	cal  davclient.Calendar
	key  string
	col  state.Collection
	d    *vdir.Dir
	s    *Summary
	opts SyncOptions

	known      map[string]state.Item // by href
	byName     map[string]state.Item
	localFP    map[string]vdir.Fingerprint
	localData  map[string][]byte // bytes of files read this pass (changed or new)
	remote     map[string]string // href → etag (pseudo-etag "vdird-hash:…" when the server gives none)
	remoteData map[string]davclient.Object
	remoteUID  map[string]string // UIDs of remoteData, read once when it arrived
	usedNames  map[string]bool
	batch      []func(*state.Tx) error
	heldRemote bool // a remote change was not applied: do not advance the change marker or sync-token
	// folderShards is the folder's file sum by shard, when folderAsRecorded
	// computed it this pass: a scan looks up only the shards that differ.
	folderShards *setsum.Shards
	// commitErr is the first failed commit of a batch of results: the
	// pass then fails, and its change markers stay.
	commitErr error
	// deltaDoubted is set when the delta from the recorded sync-token
	// cannot be believed (doubtDelta): the pass lists etags instead.
	deltaDoubted bool
}

const pseudoETagPrefix = plan.PseudoETagPrefix

func (e *Engine) syncCalendar(ctx context.Context, a *config.Account, c *davclient.Client, cal davclient.Calendar, opts SyncOptions) *Summary {
	p := &pass{e: e, a: a, c: c, cal: cal, key: collectionKey(a, cal.Href), opts: opts,
		s: &Summary{Account: a.Name, Href: cal.Href}}
	if err := p.run(ctx); err != nil {
		p.s.Err = err
		e.log.Error().Str("account", a.Name).Str("calendar", p.s.Calendar).Err(err).Msg("sync failed")
		_ = e.store.Update(p.key, func(tx *state.Tx) error {
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

func (p *pass) run(ctx context.Context) error {
	col, existed, err := p.e.store.Collection(p.key)
	if err != nil {
		return err
	}
	if !existed {
		col = state.Collection{Key: p.key, Account: p.a.Name, Href: p.cal.Href, Dir: p.e.newDirFor(p.a, p.cal)}
		p.s.Notes = append(p.s.Notes, "new calendar")
	}
	p.col = col
	p.s.Dir, p.s.Calendar = col.Dir, filepath.Base(col.Dir)
	if existed && !p.opts.DryRun {
		if err := p.recoverStage(); err != nil {
			return err
		}
	}
	f := plan.Facts{Existed: existed, ServerAsRecorded: existed && p.serverAsRecorded(), DryRun: p.opts.DryRun,
		HaveSyncToken: p.cal.SupportsSync && col.SyncToken != ""}
	var folderSum setsum.Sum
	if existed && p.markersClean() {
		f.MarkersClean = true
		folderSum, f.FolderAsRecorded = p.folderAsRecorded()
	}
	for {
		var done bool
		s := plan.Choose(f)
		p.s.Strategy = s
		switch s {
		case plan.Unchanged:
			p.e.log.Debug().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Msg("unchanged: change marker and folder sum as recorded")
			p.s.Unchanged = true
			return p.finish(col.SyncToken)
		case plan.ScopedDelta:
			done, err = p.scopedDelta(ctx, folderSum)
		case plan.ScopedLocal:
			done, err = p.scopedLocal(ctx)
		case plan.ScopedBoth:
			done, err = p.scopedBoth(ctx)
		default:
			return p.listedPass(ctx, f)
		}
		if done || err != nil {
			return err
		}
		f.ScopedGaveUp = true
	}
}

// listedPass loads what state knows and lists the folder, then runs the
// first download or the full pass that Choose picks with those facts.
func (p *pass) listedPass(ctx context.Context, f plan.Facts) error {
	items, err := p.e.store.Items(p.key)
	if err != nil {
		return err
	}
	p.known = make(map[string]state.Item, len(items))
	p.byName = make(map[string]state.Item, len(items))
	for _, it := range items {
		p.known[it.Href] = it
		p.byName[it.Name] = it
	}
	var locals []plan.Local
	p.d, err = vdir.Open(p.col.Dir)
	folderMissing := errors.Is(err, vdir.ErrNoDir)
	switch {
	case folderMissing:
		p.d = nil
	case err != nil:
		return fmt.Errorf("local folder: %w", err)
	default:
		if n, err := p.d.CleanTemp(); err == nil && n > 0 {
			p.e.log.Info().Str("calendar", p.s.Calendar).Int("files", n).Msg("removed temp files left by an earlier crash")
		}
		if locals, err = p.listLocal(); err != nil {
			return fmt.Errorf("local folder %s: %w", p.col.Dir, err)
		}
	}
	f.Listed, f.Known, f.LocalFiles = true, len(items), len(locals)
	p.s.Strategy = plan.Choose(f)
	if p.s.Strategy == plan.FirstDownload {
		return p.firstDownload(ctx, f.Existed)
	}

	// A missing folder that held items is a guard, never "delete everything";
	// one that never held any is made (or, in a dry run, would be).
	localMissing := folderMissing && len(items) > 0
	if folderMissing && !localMissing && !p.opts.DryRun {
		if p.d, err = vdir.Create(p.col.Dir); err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
	}
	if err := p.syncMeta(f.Existed); err != nil {
		return err
	}
	newToken, err := p.listRemote(ctx, f.Existed && (len(items) > 0 || f.ServerAsRecorded))
	if err != nil {
		return err
	}
	if err := p.fetchChanged(ctx); err != nil {
		return err
	}
	in := plan.Input{LocalMissing: localMissing, Local: locals}
	for _, it := range items {
		in.Known = append(in.Known, knownOf(it))
	}
	return p.planAndApply(ctx, in, newToken, f.Existed)
}

// firstDownload fetches a calendar that is new on both sides. A folder that
// does not exist yet is filled under a hidden name and published complete.
func (p *pass) firstDownload(ctx context.Context, existed bool) error {
	if p.d == nil {
		d, err := vdir.CreateStaged(p.col.Dir)
		if err != nil {
			return fmt.Errorf("local folder: %w", err)
		}
		p.d = d
	}
	if p.localFP == nil {
		if _, err := p.listLocal(); err != nil { // empty: sets up the pass's maps
			return fmt.Errorf("local folder %s: %w", p.col.Dir, err)
		}
	}
	if err := p.syncMeta(existed); err != nil {
		return err
	}
	token, err := p.freshDownload(ctx)
	if err != nil {
		return err
	}
	if len(p.s.Problems) > 0 {
		p.heldRemote = true
	}
	return p.finish(token)
}

// syncMeta writes the calendar's display name and colour into its folder
// when they are new or changed on the server.
func (p *pass) syncMeta(existed bool) error {
	if p.opts.DryRun || p.d == nil || existed && p.col.DisplayName == p.cal.DisplayName && p.col.Color == p.cal.Color {
		return nil
	}
	return p.writeMeta()
}

// planAndApply adds the remote side and the options to in, plans, and
// carries the plan out.
func (p *pass) planAndApply(ctx context.Context, in plan.Input, newToken string, existed bool) error {
	col := p.col
	in.Options = plan.Options{
		Policy:            p.a.ConflictPolicy,
		MaxDeleteFraction: p.e.cfg.MaxDeleteFraction,
		MaxDeleteMin:      p.e.cfg.MaxDeleteMin,
		AllowMassDelete:   p.opts.AllowMassDelete,
		ReadOnly:          p.cal.ReadOnly,
	}
	for _, href := range sortedKeys(p.remote) {
		r := plan.Remote{Href: href, ETag: p.remote[href]}
		if o, ok := p.remoteData[href]; ok {
			r.Hash, r.UID = vdir.Hash(o.Data), p.remoteUID[href]
		}
		in.Remote = append(in.Remote, r)
	}
	res := plan.Plan(in)
	if res.Refused != nil {
		p.s.Refused = res.Refused.Reason
		p.e.log.Warn().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("reason", res.Refused.Reason).Msg("refused by a safety guard")
		return nil
	}
	if p.opts.DryRun {
		p.s.Planned = res.Actions
		return nil
	}
	if len(res.Actions) == 0 && existed && p.serverAsRecorded() && col.SyncToken == newToken && !p.changedFingerprints() {
		p.s.Unchanged = true
	}
	for _, act := range res.Actions {
		if err := ctx.Err(); err != nil {
			p.flush()
			return err
		}
		if err := p.apply(ctx, act); err != nil {
			p.flush()
			return err
		}
	}
	p.refreshFingerprints()
	return p.finish(newToken)
}

// serverAsRecorded tells that the calendar's change marker in this pass's
// listing is the one recorded after the last complete pass: no member was
// added, changed or removed on the server since.
func (p *pass) serverAsRecorded() bool {
	m := p.cal.Marker()
	return m != "" && p.col.Marker == m
}

// markersClean tells that the last pass ended without problems and the
// calendar's properties are as recorded, so a pass may take a shortcut.
func (p *pass) markersClean() bool {
	col := p.col
	return col.LastError == "" && col.DisplayName == p.cal.DisplayName && col.Color == p.cal.Color && col.ReadOnly == p.cal.ReadOnly
}

// folderAsRecorded tells, without loading the items or listing the folder
// into memory, that the folder is exactly as state recorded it: its file
// sum (every item file's name and stat fingerprint) equals the one state
// keeps, and no crash left temp files. It returns that sum. Any doubt
// means false, and a full pass, which is always right; with an unchanged
// change marker this makes an idle poll cost constant memory and no planning.
func (p *pass) folderAsRecorded() (setsum.Sum, bool) {
	d, err := vdir.Open(p.col.Dir)
	if err != nil {
		return setsum.Sum{}, false
	}
	shards, temps, err := d.Shards()
	if err != nil || temps {
		return setsum.Sum{}, false
	}
	p.folderShards = &shards
	sum := shards.Total()
	want, err := p.e.store.FileSum(p.key)
	return sum, err == nil && sum == want
}

// finish records the collection's change markers. They advance only when
// every remote change of this pass was applied and recorded, so nothing
// seen is skipped by the next cheap check.
func (p *pass) finish(newToken string) error {
	if p.commitErr != nil {
		// Results of this pass are missing from state: the markers stay,
		// so the next pass sees those changes again. What can still be
		// recorded now spares it work; the pass fails either way.
		if err := p.flush(); err != nil {
			p.e.log.Debug().Str("calendar", p.s.Calendar).Err(err).Msg("recording the rest of the pass failed too")
		}
		return fmt.Errorf("recording the pass's results: %w", p.commitErr)
	}
	col := p.col
	col.DisplayName, col.Color, col.ReadOnly = p.cal.DisplayName, p.cal.Color, p.cal.ReadOnly
	col.LastError = ""
	if len(p.s.Problems) == 0 && !p.heldRemote {
		col.Marker, col.SyncToken = p.cal.Marker(), newToken
		col.LastSync = p.e.Now()
	} else {
		col.LastError = strings.Join(p.s.Problems, "; ")
	}
	p.batch = append(p.batch, func(tx *state.Tx) error { return tx.SetCollection(col) })
	return p.flush()
}

func (p *pass) writeMeta() error {
	if p.cal.DisplayName != "" {
		if err := p.d.SetDisplayName(p.cal.DisplayName); err != nil {
			return err
		}
	}
	if p.cal.Color != "" {
		if err := p.d.SetColor(p.cal.Color); err != nil {
			return err
		}
	}
	return nil
}

// listLocal stats every item file; only files whose fingerprint differs from
// state are read, hashed and validated.
func (p *pass) listLocal() ([]plan.Local, error) {
	entries, err := p.d.List()
	if err != nil {
		return nil, err
	}
	p.localFP = make(map[string]vdir.Fingerprint, len(entries))
	p.localData = map[string][]byte{}
	p.usedNames = make(map[string]bool, len(entries))
	locals := make([]plan.Local, 0, len(entries))
	for _, en := range entries {
		locals = append(locals, p.localEntry(en))
	}
	return locals, nil
}

// localEntry is the planner's view of one listed file: taken from state
// when its fingerprint is as recorded, else read, hashed and validated. It
// records the file's fingerprint (and bytes, when read and valid).
func (p *pass) localEntry(en vdir.Entry) plan.Local {
	p.localFP[en.Name] = en.Fingerprint
	p.usedNames[en.Name] = true
	if k, ok := p.byName[en.Name]; ok && sameFP(k.Fingerprint, en.Fingerprint) {
		return plan.Local{Name: en.Name, Hash: k.Hash, UID: k.UID}
	}
	data, fp, err := p.d.Read(en.Name)
	if err != nil {
		return plan.Local{Name: en.Name, Invalid: err.Error()}
	}
	p.localFP[en.Name] = fp
	l := plan.Local{Name: en.Name, Hash: vdir.Hash(data)}
	info, err := ics.Inspect(data)
	switch {
	case err != nil:
		l.Invalid = err.Error()
	case p.cal.Components != nil && !slices.ContainsFunc(p.cal.Components, func(c string) bool { return strings.EqualFold(c, info.Component) }):
		l.Invalid = fmt.Sprintf("%s in a calendar that holds only %s", info.Component, strings.Join(p.cal.Components, ", "))
	default:
		l.UID = info.UID
		p.localData[en.Name] = data
	}
	if l.Invalid != "" {
		p.e.log.Error().Str("file", filepath.Join(p.d.Path(), en.Name)).Str("reason", l.Invalid).Msg("skipping invalid file")
	}
	return l
}

func sameFP(a state.Fingerprint, b vdir.Fingerprint) bool {
	return a.Size == b.Size && a.ModNs == b.ModNs && a.Inode == b.Inode
}

// listRemote fills p.remote with the server's members and returns the
// sync-token to record. Cheapest first: unchanged change marker → no
// request; sync-collection delta; a first download in one streamed
// calendar-query with data; otherwise an etag-only calendar-query.
func (p *pass) listRemote(ctx context.Context, haveState bool) (string, error) {
	p.remote = make(map[string]string, len(p.known))
	p.remoteData = map[string]davclient.Object{}
	p.remoteUID = map[string]string{}
	col := p.col
	if haveState && p.serverAsRecorded() {
		for h, it := range p.known {
			p.remote[h] = it.ETag
		}
		return col.SyncToken, nil
	}
	if !haveState {
		err := p.c.Download(ctx, p.cal.Href, func(o davclient.Object) error {
			p.addRemote(o)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("download: %w", err)
		}
		return "", nil
	}
	if p.cal.SupportsSync && !p.deltaDoubted {
		from := col.SyncToken
		token, changes, truncated, err := p.syncCollection(ctx, from)
		if errors.Is(err, davclient.ErrInvalidSyncToken) && from != "" {
			p.e.log.Info().Str("calendar", p.s.Calendar).Msg("sync token no longer valid: full listing")
			from = ""
			token, changes, truncated, err = p.syncCollection(ctx, from)
		}
		switch {
		case err == nil && from != "" && p.doubtDelta(from, token, changes):
			p.deltaDoubted = true
		case err == nil && (from != "" || !truncated):
			return token, nil
		case err == nil:
			// A full listing that came in truncated pages: absence from it is
			// not proof of deletion, so membership comes from calendar-query.
			if err := p.listETags(ctx); err != nil {
				return "", err
			}
			return token, nil
		case isHTTPStatus(err) && !errors.Is(err, davclient.ErrRateLimited):
			// The server answered but will not do sync-collection now: the
			// etag listing still works. A lost connection is a real error,
			// and "come back later" (429/503) is honoured, not worked around.
			p.e.log.Info().Str("calendar", p.s.Calendar).Err(err).Msg("sync-collection refused: full etag listing")
		default:
			return "", fmt.Errorf("sync-collection: %w", err)
		}
	}
	if err := p.listETags(ctx); err != nil {
		return "", err
	}
	if p.deltaDoubted {
		// The token the calendar listing gave was issued by the server
		// before this listing: a delta from it repeats what came after.
		p.e.log.Info().Str("calendar", p.s.Calendar).Msg("the change marker moved but the delta from the recorded sync-token named no change: listed etags instead")
		return p.cal.SyncToken, nil
	}
	return "", nil
}

// listETags fills p.remote from a calendar-query of every member's etag.
func (p *pass) listETags(ctx context.Context) error {
	items, err := p.c.ListETags(ctx, p.cal.Href)
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	clear(p.remote)
	for _, it := range items {
		p.remote[it.Href] = it.ETag
	}
	return nil
}

// doubtDelta tells whether a delta from the token sent, which handed back
// got and named changes members, cannot be believed: the change marker
// moved since the last pass, yet the delta names no change or hands back
// the very token it was sent. A server that accepts a token it no longer
// knows (sabre/dav 4 after a restore from a backup) answers just so, and
// believing it would hide the calendar's changes for good. A normal delta
// names the changes that moved the marker, so only this case costs an
// etag listing.
func (p *pass) doubtDelta(sent, got string, changes int) bool {
	return p.cal.Marker() != "" && !p.serverAsRecorded() && (changes == 0 || got == sent)
}

// syncCollection fills p.remote from an RFC 6578 sync-collection report:
// with a token, the changes since it are applied to the known items; with
// none, the report is a full listing (and gives the first token). It
// returns the new token and how many members the report named. A
// truncated (507, §3.6) answer is continued from the token it returned; it
// reports whether that happened.
func (p *pass) syncCollection(ctx context.Context, token string) (string, int, bool, error) {
	clear(p.remote)
	if token != "" {
		for h, it := range p.known {
			p.remote[h] = it.ETag
		}
	}
	truncated, changes := false, 0
	for i := 0; ; i++ {
		res, err := p.c.SyncCollection(ctx, p.cal.Href, token)
		if err != nil {
			return "", changes, truncated, err
		}
		for _, it := range res.Changed {
			p.remote[it.Href] = it.ETag
		}
		for _, h := range res.Deleted {
			delete(p.remote, h)
		}
		changes += len(res.Changed) + len(res.Deleted)
		if res.Token == "" {
			return "", changes, truncated, fmt.Errorf("sync-collection answer without a token: %w", davclient.ErrMalformed)
		}
		token = res.Token
		if !res.Truncated {
			return token, changes, truncated, nil
		}
		truncated = true
		if i >= 1000 {
			return "", changes, truncated, fmt.Errorf("sync-collection still truncated after %d pages: %w", i+1, davclient.ErrMalformed)
		}
	}
}

// isHTTPStatus tells an error the server answered with (a status) from one
// where no answer came (connection, timeout, cancel).
func isHTTPStatus(err error) bool {
	var de *davclient.Error
	return errors.As(err, &de) && de.Status != 0
}

// addRemote records a member whose data we hold. Data that is not one
// valid calendar item is never written locally: the member is reported and
// left as it was (known etag, or absent if new), and the pass does not
// advance the change marker, so it is fetched again once the server serves it well.
func (p *pass) addRemote(o davclient.Object) {
	info, err := p.checkRemote(o)
	if err == nil {
		p.remoteUID[o.Href] = info.UID
	} else {
		if k, ok := p.known[o.Href]; ok {
			p.remote[o.Href] = k.ETag
		} else {
			delete(p.remote, o.Href)
		}
		return
	}
	if o.ETag == "" {
		o.ETag = pseudoETagPrefix + vdir.Hash(o.Data)
	}
	p.remote[o.Href] = o.ETag
	p.remoteData[o.Href] = o
}

// fetchChanged downloads members that are new or whose etag changed (and
// those without an etag: "unknown", never "absent"), in multiget batches.
func (p *pass) fetchChanged(ctx context.Context) error {
	var need []string
	for h, etag := range p.remote {
		if _, ok := p.remoteData[h]; ok {
			continue
		}
		if k, ok := p.known[h]; !ok || etag == "" || k.ETag != etag {
			need = append(need, h)
		}
	}
	if len(need) == 0 {
		return nil
	}
	gone := map[string]bool{}
	err := p.c.Multiget(ctx, p.cal.Href, need, func(o davclient.Object) error {
		if o.Data == nil {
			gone[o.Href] = true
			return nil
		}
		p.addRemote(o)
		return nil
	})
	if err != nil {
		return fmt.Errorf("multiget: %w", err)
	}
	for _, h := range need {
		if _, ok := p.remote[h]; !ok {
			continue // rejected as invalid by addRemote
		}
		if _, ok := p.remoteData[h]; !ok {
			// Deleted between listing and fetch, or silently omitted: drop it
			// only if it was new; a known item stays as known (not "absent").
			if k, ok := p.known[h]; ok && !gone[h] {
				p.remote[h] = k.ETag
				p.heldRemote = true
			} else {
				delete(p.remote, h)
			}
		}
	}
	return nil
}

func (p *pass) changedFingerprints() bool {
	for name, fp := range p.localFP {
		if k, ok := p.byName[name]; ok && !sameFP(k.Fingerprint, fp) {
			return true
		}
	}
	return false
}

// refreshFingerprints records new stat fingerprints of files that were
// touched without a content change, so the next pass does not re-read them.
func (p *pass) refreshFingerprints() {
	for name, fp := range p.localFP {
		k, ok := p.byName[name]
		if !ok || sameFP(k.Fingerprint, fp) {
			continue
		}
		data, isRead := p.localData[name]
		if !isRead || vdir.Hash(data) != k.Hash {
			continue
		}
		cur, ok := p.e.currentItem(p.key, k.Href)
		if !ok || cur.Name != name || cur.Hash != k.Hash || cur.ETag != k.ETag {
			continue // changed by this pass: already recorded
		}
		it := k
		it.Fingerprint = state.Fingerprint(fp)
		p.batch = append(p.batch, func(tx *state.Tx) error { return tx.PutItem(it) })
	}
}

func (e *Engine) currentItem(key, href string) (state.Item, bool) {
	it, ok, err := e.store.Item(key, href)
	return it, ok && err == nil
}

// newDirFor picks the local folder of a calendar seen for the first time:
// the href's last segment when it is a plain name, else a hash; never one
// another calendar already uses.
func (e *Engine) newDirFor(a *config.Account, cal davclient.Calendar) string {
	seg := path.Base(strings.TrimSuffix(cal.Href, "/"))
	if u, err := url.PathUnescape(seg); err == nil {
		seg = u
	}
	if !plainDirName(seg) {
		seg = "cal-" + shortHash(cal.Href)
	}
	used := map[string]bool{}
	if cols, err := e.store.Collections(); err == nil {
		for _, c := range cols {
			used[c.Dir] = true
		}
	}
	dir := filepath.Join(a.LocalRoot, seg)
	for i := 2; used[dir]; i++ {
		dir = filepath.Join(a.LocalRoot, fmt.Sprintf("%s-%d", seg, i))
	}
	return dir
}

func plainDirName(s string) bool {
	if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return false
		}
	}
	return true
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkRemote validates server data before it may reach the folder.
func (p *pass) checkRemote(o davclient.Object) (ics.Info, error) {
	info, err := ics.Inspect(o.Data)
	if err != nil {
		p.heldRemote = true
		p.s.Problems = append(p.s.Problems, p.invalidRemote(o.Href, err))
	}
	return info, err
}

// invalidRemote logs that the server sent data for href that is not one
// valid calendar item, and returns the problem to report. It changes
// nothing in p, so concurrent writers may call it.
func (p *pass) invalidRemote(href string, err error) string {
	p.e.log.Error().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Str("href", href).Err(err).Msg("invalid calendar data from server")
	return fmt.Sprintf("server sent invalid data for %s: %v (not written; retried next pass)", href, err)
}
