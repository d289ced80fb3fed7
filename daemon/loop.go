package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/work"
)

// RunOptions tune the long-running loop. The zero value is what `vdird
// daemon` uses.
type RunOptions struct {
	// Reload receives a value for each SIGHUP: the config is loaded again
	// from ConfigPath (default cfg.Path) and account workers are restarted.
	Reload     <-chan os.Signal
	ConfigPath string
	// SocketPath is the control socket; "" = control.SocketPath(cfg.StatePath),
	// "-" = no control socket.
	SocketPath string
	// Debounce is the quiet time after a file event before a pass (default 200 ms).
	Debounce time.Duration
	// StopGrace is how long an in-flight pass may go on after ctx is
	// cancelled, so the request in flight can finish and state be committed
	// (default 3 s; systemd's TimeoutStopSec is longer).
	StopGrace time.Duration
	// Stats, when set, is filled with counters as passes run.
	Stats *Stats
	// Ready, when set, is called once after the first reconcile (with READY=1).
	Ready func()
}

// PassKind says why a pass ran.
type PassKind int

const (
	// PassLocal is a pass after a local file event: reuses the calendar list,
	// costs no request unless something must be written.
	PassLocal PassKind = iota + 1
	// PassFull is a poll, a rescan, an overflow or the first reconcile.
	PassFull
	// PassRequested is a pass asked for on the control socket.
	PassRequested
)

func (k PassKind) String() string {
	switch k {
	case PassLocal:
		return "local"
	case PassFull:
		return "full"
	case PassRequested:
		return "requested"
	}
	return "none"
}

// Stats counts what the loop did; safe for concurrent use.
type Stats struct {
	mu       sync.Mutex
	passes   map[string]map[PassKind]int
	last     map[string][]*engine.Summary
	lastPass time.Time
}

func (s *Stats) record(account string, kind PassKind, sums []*engine.Summary, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passes == nil {
		s.passes = map[string]map[PassKind]int{}
		s.last = map[string][]*engine.Summary{}
	}
	if s.passes[account] == nil {
		s.passes[account] = map[PassKind]int{}
	}
	s.passes[account][kind]++
	s.last[account] = sums
	s.lastPass = at
}

// Passes returns how many passes of kind ran for account (kind 0: all kinds).
func (s *Stats) Passes(account string, kind PassKind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.passes[account] {
		if kind == 0 || k == kind {
			n += c
		}
	}
	return n
}

// LastSummaries returns the summaries of account's most recent pass.
func (s *Stats) LastSummaries(account string) []*engine.Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[account]
}

// LastPass is when the most recent pass of any account ended.
func (s *Stats) LastPass() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastPass
}

// Run is `vdird daemon`: one full reconcile of every account, READY=1, then
// per account a worker that owns that account's passes, fed by a poller
// (every Interval ±10%, with exponential backoff on errors), a file watcher
// (debounced local-only passes, periodic and overflow rescans) and the
// control socket. It returns nil after ctx is cancelled and the passes in
// flight have finished (at most StopGrace later).
func Run(ctx context.Context, cfg *config.Config, eng *engine.Engine, log zerolog.Logger, opts RunOptions) error {
	opts = opts.withDefaults(cfg)
	if err := ctx.Err(); err != nil {
		return nil
	}

	// Passes run on their own context: cancelling ctx stops new passes at
	// once but lets the one in flight finish its request and commit state
	// for up to StopGrace.
	passCtx, cancelPasses := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPasses()

	r := &runner{eng: eng, log: log, opts: opts, notify: newNotifier(), passCtx: passCtx,
		cals: map[string]*engine.Summary{}}
	ctl, err := r.openControl(ctx)
	if err != nil {
		return err
	}
	r.startFleet(ctx, cfg)
	defer r.startPrune(ctx)()
	log.Info().Int("accounts", len(cfg.Accounts)).Dur("interval", cfg.Interval).Msg("daemon started: first reconcile")
	r.loop(ctx, cfg, ctl, cancelPasses)
	return nil
}

func (o RunOptions) withDefaults(cfg *config.Config) RunOptions {
	if o.Debounce <= 0 {
		o.Debounce = 200 * time.Millisecond
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 3 * time.Second
	}
	if o.ConfigPath == "" {
		o.ConfigPath = cfg.Path
	}
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
	if o.SocketPath == "" {
		o.SocketPath = control.SocketPath(cfg.StatePath)
	}
	return o
}

// openControl starts the control socket. Only another live daemon is an
// error; any other failure leaves the daemon running without the socket.
func (r *runner) openControl(ctx context.Context) (*control.Server, error) {
	if r.opts.SocketPath == "-" {
		return nil, nil
	}
	ctl, err := control.Start(ctx, r.opts.SocketPath, r, r.log)
	switch {
	case errors.Is(err, control.ErrDaemonRunning):
		return nil, err
	case err != nil:
		// Syncing matters more than the socket (a read-only /run under
		// ProtectSystem=strict, say): run without it, loudly.
		r.log.Error().Err(err).Msg("no control socket: vdird status/sync will not reach this daemon")
		return nil, nil
	}
	r.log.Info().Str("socket", r.opts.SocketPath).Msg("control socket listening")
	return ctl, nil
}

// loop talks to systemd (ready, watchdog, start-time extensions), reloads
// on SIGHUP and stops the fleet when ctx ends.
func (r *runner) loop(ctx context.Context, cfg *config.Config, ctl *control.Server, cancelPasses context.CancelFunc) {
	var wdC <-chan time.Time
	if r.notify.watchdog > 0 {
		t := time.NewTicker(r.notify.watchdog)
		defer t.Stop()
		wdC = t.C
		_ = r.notify.ping()
	}
	extend := time.NewTicker(20 * time.Second)
	defer extend.Stop()
	readyC := r.fleet.firstDone
	ready := false
	for {
		select {
		case <-ctx.Done():
			r.log.Info().Msg("stopping: waiting for the pass in flight")
			_ = r.notify.stopping()
			grace := time.AfterFunc(r.opts.StopGrace, cancelPasses)
			if ctl != nil {
				ctl.Close()
			}
			r.stopFleet()
			grace.Stop()
			r.log.Info().Msg("stopped")
			return
		case <-readyC:
			readyC, ready = nil, true
			extend.Stop()
			r.becameReady()
		case <-extend.C:
			// Still in the first reconcile: ask systemd for more start time.
			_ = r.notify.extendStart(60 * time.Second)
		case <-wdC:
			// Pinged from this loop, so a wedged loop stops the pings and
			// systemd restarts us.
			_ = r.notify.ping()
		case <-r.opts.Reload:
			r.reload(ctx, cfg)
			if !ready {
				readyC = r.fleet.firstDone
			}
		}
	}
}

func (r *runner) becameReady() {
	_ = r.notify.ready()
	r.sendStatus()
	r.log.Info().Msg("first reconcile done: ready")
	if r.opts.Ready != nil {
		r.opts.Ready()
	}
}

// runner is the state of one Run.
type runner struct {
	eng     *engine.Engine
	log     zerolog.Logger
	opts    RunOptions
	notify  *notifier
	passCtx context.Context

	mu    sync.Mutex
	fleet *fleet
	cals  map[string]*engine.Summary // account + "\x00" + href → latest summary, for STATUS=
	last  time.Time
}

// fleet is one generation of account workers, replaced as a whole on reload.
type fleet struct {
	cfg       *config.Config
	workers   []*worker
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	firstDone chan struct{} // closed when every worker finished its first pass
}

func (r *runner) startFleet(ctx context.Context, cfg *config.Config) {
	fctx, cancel := context.WithCancel(ctx)
	r.eng.Reconfigure(cfg)
	f := &fleet{cfg: cfg, cancel: cancel, firstDone: make(chan struct{})}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		w := &worker{r: r, f: f, acct: a, log: r.log.With().Str("account", a.Name).Logger(),
			wake: make(chan struct{}, 1), firstDone: make(chan struct{}), want: PassFull}
		w.wake <- struct{}{}
		wt, err := newWatcher(rootsOf(a), r.opts.Debounce, cfg.RescanInterval, w.log, func(full bool) {
			if full {
				w.trigger(PassFull)
			} else {
				w.trigger(PassLocal)
			}
		})
		if err != nil {
			// Polling still works; the periodic full passes catch local edits.
			w.log.Error().Err(err).Msg("cannot watch local files: local changes wait for the next poll")
		} else {
			w.watch = wt
			f.wg.Add(1)
			go func() { defer f.wg.Done(); wt.run(fctx) }()
		}
		f.workers = append(f.workers, w)
		f.wg.Add(1)
		go func() { defer f.wg.Done(); w.run(fctx) }()
	}
	r.startSubscriptions(fctx, f)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for _, w := range f.workers {
			select {
			case <-w.firstDone:
			case <-fctx.Done():
				return
			}
		}
		close(f.firstDone)
	}()
	r.mu.Lock()
	r.fleet = f
	r.mu.Unlock()
}

// stopFleet stops the current workers after their pass in flight.
func (r *runner) stopFleet() {
	r.mu.Lock()
	f := r.fleet
	r.mu.Unlock()
	f.cancel()
	f.wg.Wait()
}

// reload loads the config again; a bad file keeps the running one.
func (r *runner) reload(ctx context.Context, old *config.Config) {
	r.log.Info().Str("config", r.opts.ConfigPath).Msg("SIGHUP: reloading config")
	_ = r.notify.reloading()
	defer func() { _ = r.notify.ready() }()
	cfg, err := config.Load(r.opts.ConfigPath)
	if err != nil {
		r.log.Error().Err(err).Msg("config reload failed: keeping the running config")
		return
	}
	r.mu.Lock()
	cur := r.fleet.cfg
	r.mu.Unlock()
	if cfg.StatePath != cur.StatePath {
		r.log.Warn().Str("state_path", cfg.StatePath).Msg("state_path changed: takes effect at the next restart")
		cfg.StatePath = cur.StatePath
	}
	// Workers finish their pass in flight, then a new generation starts with
	// a full pass of every account: pending local changes are found by
	// fingerprint, so nothing is lost in the switch.
	r.stopFleet()
	r.mu.Lock()
	keep := map[string]bool{}
	for _, a := range cfg.Accounts {
		keep[a.Name] = true
	}
	for k, s := range r.cals {
		if !keep[s.Account] {
			delete(r.cals, k)
		}
	}
	r.mu.Unlock()
	r.startFleet(ctx, cfg)
	r.log.Info().Int("accounts", len(cfg.Accounts)).Msg("config reloaded")
}

// status serves `vdird status` on the control socket.
func (r *runner) Status() ([]engine.CalendarStatus, error) {
	sts, err := r.eng.Overview()
	if err != nil {
		return nil, err
	}
	return withWork(sts, r.working()), nil
}

// checkCalendars serves the name check of `vdird sync NAME…`.
func (r *runner) CheckCalendars(ctx context.Context, names []string) error {
	return r.eng.CheckCalendars(ctx, names)
}

// syncNow serves `vdird sync`: a pass of every account now, in config order.
func (r *runner) SyncNow(ctx context.Context, opts engine.SyncOptions) []*engine.Summary {
	r.mu.Lock()
	f := r.fleet
	r.mu.Unlock()
	replies := make([]chan []*engine.Summary, len(f.workers))
	for i, w := range f.workers {
		replies[i] = make(chan []*engine.Summary, 1)
		w.request(syncRequest{opts: opts, reply: replies[i]})
	}
	var out []*engine.Summary
	for i, ch := range replies {
		select {
		case sums := <-ch:
			out = append(out, sums...)
		case <-ctx.Done():
			out = append(out, &engine.Summary{Account: f.workers[i].acct.Name, Calendar: "*", Err: errors.New("daemon stopping: pass not run")})
		}
	}
	return out
}

// passDone updates the counters and the STATUS= line.
func (r *runner) passDone(a *config.Account, kind PassKind, opts engine.SyncOptions, sums []*engine.Summary) {
	now := time.Now()
	r.opts.Stats.record(a.Name, kind, sums, now)
	if opts.DryRun {
		return
	}
	r.mu.Lock()
	// A pass that failed for the account as a whole reached no calendar:
	// they stay counted as the last pass that reached them left them.
	reached := !(len(sums) == 1 && sums[0].Calendar == "*")
	for k, s := range r.cals {
		if s.Account == a.Name && (s.Calendar == "*" || reached && len(opts.Calendars) == 0) {
			delete(r.cals, k)
		}
	}
	for _, s := range sums {
		r.cals[s.Account+"\x00"+s.Href+"\x00"+s.Calendar] = s
	}
	// "last sync" is a pass that looked at the server and reached every
	// calendar; a failed one, or a local pass that reused the calendar
	// list, leaves it where it was.
	if kind != PassLocal && !slices.ContainsFunc(sums, func(s *engine.Summary) bool { return s.Err != nil }) {
		r.last = now
	}
	r.mu.Unlock()
	r.sendStatus()
}

func (r *runner) sendStatus() {
	r.mu.Lock()
	var n collections
	errs := 0
	for _, s := range r.cals {
		switch {
		case s.Calendar == "*":
		case s.AddressBook:
			n.books++
		default:
			n.calendars++
		}
		if s.Failed() {
			errs++
		}
	}
	last := r.last
	r.mu.Unlock()
	failing, err := r.eng.AccountsFailing()
	if err != nil {
		r.log.Warn().Err(err).Msg("reading which accounts fail")
	}
	conflicts, err := r.eng.ConflictCopies()
	if err != nil {
		r.log.Warn().Err(err).Msg("counting conflict copies")
	}
	_ = r.notify.status(statusLine(n, last, errs, conflicts, failing, time.Now()))
}

// syncRequest is a pass asked for on the control socket; the summaries go
// to reply (buffered, so a gone client never blocks the worker).
type syncRequest struct {
	opts  engine.SyncOptions
	reply chan []*engine.Summary
}

// worker owns every pass of one account, so passes of an account never
// overlap (the engine requires it) while accounts run independently.
type worker struct {
	r     *runner
	f     *fleet
	acct  *config.Account
	log   zerolog.Logger
	watch *watcher

	wake      chan struct{} // cap 1: any number of triggers become one wake-up
	firstDone chan struct{}
	meter     work.Meter // the step of the pass in flight, for vdird status

	mu   sync.Mutex
	want PassKind // strongest pending automatic pass (full > local), 0 = none
	reqs []syncRequest
}

func (w *worker) trigger(k PassKind) {
	w.mu.Lock()
	if k > w.want {
		w.want = k
	}
	w.mu.Unlock()
	w.poke()
}

func (w *worker) request(req syncRequest) {
	w.mu.Lock()
	w.reqs = append(w.reqs, req)
	w.mu.Unlock()
	w.poke()
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run(ctx context.Context) {
	cfg := w.f.cfg
	poll := time.NewTimer(jitter(cfg.Interval))
	defer poll.Stop()
	var failures int
	var notBefore time.Time // backoff: no automatic pass before this
	first := true
	defer w.refuseLateRequests()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-poll.C:
			w.mu.Lock()
			w.want = PassFull
			w.mu.Unlock()
		}
		kind, reqs, ok := w.takeWork(notBefore)
		if !ok {
			continue
		}
		failed, full := w.runWork(kind, reqs)
		if len(reqs) > 0 {
			// A sync asked for by hand starts the backoff over.
			failures = 0
		}
		if w.watch != nil {
			w.watch.refreshWatches(ctx)
		}
		if first {
			first = false
			close(w.firstDone)
		}
		if ctx.Err() != nil {
			return
		}
		if failed != nil {
			failures++
			d := backoff(cfg.Interval, failures, failed)
			notBefore = time.Now().Add(d)
			w.log.Error().Err(failed).Int("failures", failures).Dur("retry_in", d.Round(time.Millisecond)).Msg("sync failed: backing off")
			resetTimer(poll, d)
			continue
		}
		if failures > 0 {
			w.log.Info().Msg("sync works again")
		}
		failures, notBefore = 0, time.Time{}
		if full {
			// A full pass just looked at the server: the next poll is one
			// interval from now.
			resetTimer(poll, jitter(cfg.Interval))
		}
	}
}

// refuseLateRequests answers the requests that arrived too late for a pass.
func (w *worker) refuseLateRequests() {
	w.mu.Lock()
	reqs := w.reqs
	w.reqs = nil
	w.mu.Unlock()
	for _, q := range reqs {
		q.reply <- []*engine.Summary{{Account: w.acct.Name, Calendar: "*", Err: errors.New("daemon stopping or reloading: pass not run")}}
	}
}

// takeWork takes the pending automatic pass and requests; ok is false when
// there are none, or while backing off with no request waiting (the pending
// pass then runs when the poll timer fires).
func (w *worker) takeWork(notBefore time.Time) (kind PassKind, reqs []syncRequest, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.reqs) == 0 && time.Now().Before(notBefore) {
		return 0, nil, false
	}
	kind, reqs = w.want, w.reqs
	w.want, w.reqs = 0, nil
	return kind, reqs, kind != 0 || len(reqs) > 0
}

// runWork runs the requested passes, then the automatic one unless a
// request already covered everything. It returns the error that should slow
// the account down, and whether a pass looked at the whole server.
func (w *worker) runWork(kind PassKind, reqs []syncRequest) (failed error, full bool) {
	for _, q := range reqs {
		sums := w.pass(PassRequested, q.opts)
		q.reply <- sums
		if err := passError(sums); err != nil {
			failed = err
		}
		if !q.opts.DryRun && len(q.opts.Calendars) == 0 {
			kind = 0 // this pass already covered everything pending
		}
	}
	if kind != 0 {
		sums := w.pass(kind, engine.SyncOptions{LocalOnly: kind == PassLocal})
		if err := passError(sums); err != nil {
			failed = err
		}
	}
	return failed, kind == PassFull || kind == 0 && len(reqs) > 0
}

func (w *worker) pass(kind PassKind, opts engine.SyncOptions) []*engine.Summary {
	start := time.Now()
	opts.Progress = &w.meter
	sums := w.r.eng.SyncAccount(w.r.passCtx, w.acct, opts)
	ev := w.log.Debug()
	if changed(sums) {
		ev = w.log.Info()
	}
	ev.Str("pass", kind.String()).Dur("took", time.Since(start).Round(time.Millisecond)).Str("result", describe(sums)).Msg("pass done")
	w.r.passDone(w.acct, kind, opts, sums)
	return sums
}

func changed(sums []*engine.Summary) bool {
	for _, s := range sums {
		if s.Downloaded+s.Uploaded+s.DeletedLocal+s.DeletedRemote+s.Conflicts > 0 || s.Failed() {
			return true
		}
	}
	return false
}

func describe(sums []*engine.Summary) string {
	var d, u, x, c, f int
	for _, s := range sums {
		d += s.Downloaded
		u += s.Uploaded
		x += s.DeletedLocal + s.DeletedRemote
		c += s.Conflicts
		if s.Failed() {
			f++
		}
	}
	return fmt.Sprintf("%d collections ↓%d ↑%d ✗%d ⚠%d, %d failed", len(sums), d, u, x, c, f)
}

// passError is the first error that should slow the account down: a
// calendar that could not be synced (network, server, auth). Per-item
// problems and guards are not retried faster or slower than the poll.
func passError(sums []*engine.Summary) error {
	var errs []error
	for _, s := range sums {
		if s.Err != nil && !errors.Is(s.Err, context.Canceled) {
			errs = append(errs, s.Err)
		}
		if s.Throttled != nil {
			errs = append(errs, s.Throttled)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	// Prefer an error that carries Retry-After.
	sort.SliceStable(errs, func(i, j int) bool { return engine.RetryAfter(errs[i]) > engine.RetryAfter(errs[j]) })
	return errs[0]
}

// The backoff after a refused login: a server that locks an account after
// a few wrong passwords sees four attempts in the first hour, then one an
// hour.
const (
	loginBackoffFirst = 5 * time.Minute
	loginBackoffMax   = time.Hour
)

// backoff is the wait before retrying after the n-th failure in a row:
// Interval/10 doubling up to 10×Interval; after a refused login
// loginBackoffFirst doubling up to loginBackoffMax when that is longer;
// never shorter than the server's Retry-After (RFC 9110 §10.2.3).
func backoff(interval time.Duration, n int, err error) time.Duration {
	d := doubling(interval/10, n, 10*interval)
	if engine.LoginRefused(err) {
		d = max(d, doubling(loginBackoffFirst, n, loginBackoffMax))
	}
	if ra := engine.RetryAfter(err); ra > d {
		d = ra
	}
	return d
}

// doubling is base doubled for each failure after the first, with jitter,
// up to maxD.
func doubling(base time.Duration, n int, maxD time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	return min(jitter(d), maxD)
}

// jitter spreads d by ±10% so accounts and restarted daemons do not poll in
// lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 10
	if spread == 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(2*spread+1)-spread)
}

func resetTimer(t *time.Timer, d time.Duration) {
	// Since Go 1.23 Reset needs no drain: the channel is unbuffered.
	t.Reset(d)
}
