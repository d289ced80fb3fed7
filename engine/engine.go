package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/work"
	"github.com/vdird/vdird/internal/oauth"
	"github.com/vdird/vdird/internal/version"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/versions"
)

// Engine runs sync passes: for each configured account it lists calendars,
// and for each calendar builds the local and remote listings, asks the
// planner what to do and executes the plan, recording every result in state.
type Engine struct {
	cfg   *config.Config
	store *state.Store
	log   zerolog.Logger

	// HTTPClient, when set, is used for every request (tests count requests with it).
	HTTPClient *http.Client
	// Now is the clock (conflict copy names); tests may pin it.
	Now func() time.Time
	// Versions, when set, keeps the versions that passes replace.
	Versions *versions.Store

	mu       sync.Mutex
	clients  map[string]*davclient.Client
	lastCals map[string][]davclient.Calendar // per account, from the last listing
}

// NewEngine returns an engine for cfg using store.
func NewEngine(cfg *config.Config, store *state.Store, log zerolog.Logger) *Engine {
	return &Engine{cfg: cfg, store: store, log: log, Now: time.Now, clients: map[string]*davclient.Client{}, lastCals: map[string][]davclient.Calendar{}}
}

// Reconfigure makes later passes use cfg. Clients and the calendars seen
// are dropped, since an account's URL or password may have changed. No pass
// may run meanwhile.
func (e *Engine) Reconfigure(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	clear(e.clients)
	clear(e.lastCals)
}

// SyncOptions tune one pass.
type SyncOptions struct {
	DryRun          bool
	AllowMassDelete bool
	Calendars       []string // only these (folder name, display name, href or its last segment); empty = all
	// LocalOnly skips the calendar-home request and reuses the calendars seen
	// by the previous pass of this engine: for passes triggered by a local
	// change, which then cost no request at all unless something must be
	// written. A remote change meanwhile surfaces as 412 and is handled as
	// both-changed. Without a previous pass it is ignored.
	LocalOnly bool
	// Progress, when set, hears how far each calendar's downloads and
	// uploads have come.
	Progress work.Progress

	// account is shared by the calendar passes of one account pass
	// (SyncAccount sets it).
	account *accountPass
	// listed: Sync has just listed every account's calendars; the passes
	// reuse those lists.
	listed bool
}

// listAccounts lists every account's calendars into the cache. An account
// that cannot be listed is skipped: its pass lists it again and reports why.
func (e *Engine) listAccounts(ctx context.Context, dryRun bool) {
	for i := range e.cfg.Accounts {
		a := &e.cfg.Accounts[i]
		if c, err := e.client(a); err == nil {
			_, _ = e.calendarsOf(ctx, a, c, false, dryRun)
		}
	}
}

// Sync runs one pass over every configured account.
// A name in opts.Calendars that matches no calendar makes it sync nothing
// and return one summary whose Err is an *UnknownCalendarError.
func (e *Engine) Sync(ctx context.Context, opts SyncOptions) []*Summary {
	if len(opts.Calendars) > 0 {
		// The name check and the passes share one listing per account.
		e.listAccounts(ctx, opts.DryRun)
		opts.listed = true
	}
	if err := e.CheckCalendars(ctx, opts.Calendars); err != nil {
		return []*Summary{{Calendar: "*", Err: err}}
	}
	var out []*Summary
	for i := range e.cfg.Accounts {
		out = append(out, e.SyncAccount(ctx, &e.cfg.Accounts[i], opts)...)
	}
	return out
}

func (e *Engine) client(a *config.Account) (*davclient.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[a.Name]; ok {
		return c, nil
	}
	c, err := newClient(a, e.HTTPClient, e.log)
	if err != nil {
		return nil, err
	}
	e.clients[a.Name] = c
	return c, nil
}

// newClient builds the CalDAV client of account a from its config: the
// password or token source, auth scheme, TLS files and pin, timeouts. hc,
// when set, carries every request (tests count them with it).
func newClient(a *config.Account, hc *http.Client, log zerolog.Logger) (*davclient.Client, error) {
	pw, err := a.Password()
	if err != nil {
		return nil, err
	}
	opts := davclient.Options{
		URL:                a.URL,
		Username:           a.Username,
		Password:           pw,
		Auth:               davclient.Auth(a.Auth),
		AuthHint:           a.CredentialHint(),
		HTTPClient:         hc,
		InsecureSkipVerify: a.InsecureSkipVerify,
		TLS:                davclient.TLSOptions{CAFile: a.CAFile, CertFile: a.CertFile, KeyFile: a.KeyFile, Pin: a.TLSFingerprint},
		ConnectTimeout:     a.ConnectTimeout,
		ResponseTimeout:    a.ResponseTimeout,
		UserAgent:          "vdird/" + version.String(),
		Trace: func(method, url string, status int, d time.Duration, err error) {
			ev := log.Debug()
			if !ev.Enabled() {
				return
			}
			ev.Str("account", a.Name).Str("method", method).Str("url", url).Int("status", status).
				Dur("headers_after", d.Round(time.Millisecond)).Err(err).Msg("request")
		},
	}
	switch {
	case a.TokenCommand != "":
		opts.Token = davclient.ReuseToken(a.Token)
	case a.Auth == "oauth2":
		oc, err := OAuthConfig(context.Background(), a)
		if err != nil {
			return nil, err
		}
		opts.Auth, opts.Token = davclient.AuthBearer, oauth.NewSource(oc)
	}
	c, err := davclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", a.Name, err)
	}
	return c, nil
}

// Discover finds account a's calendar home and lists its calendars with
// the client a pass would use (same auth, TLS and timeouts). It needs no
// state and records nothing.
func Discover(ctx context.Context, a *config.Account, log zerolog.Logger) (home string, cals []davclient.Calendar, err error) {
	c, err := newClient(a, nil, log)
	if err != nil {
		return "", nil, err
	}
	if cals, err = c.Discover(ctx); err != nil {
		return "", nil, err
	}
	home, _ = c.HomeSet(ctx)
	return home, cals, nil
}

func collectionKey(a *config.Account, href string) string { return a.Name + "/" + href }

// SyncAccount runs one pass over one account's calendars and records in
// state whether the account is failing (see noteAccount).
func (e *Engine) SyncAccount(ctx context.Context, a *config.Account, opts SyncOptions) []*Summary {
	ap := &accountPass{}
	opts.account = ap
	sums := e.syncAccount(ctx, a, opts)
	if !opts.DryRun && ctx.Err() == nil {
		e.noteAccount(a, sums, ap.listed && len(opts.Calendars) == 0)
	}
	return sums
}

func (e *Engine) syncAccount(ctx context.Context, a *config.Account, opts SyncOptions) []*Summary {
	fail := func(err error) []*Summary {
		var ae *oauth.AuthorizeError
		if errors.As(err, &ae) {
			err = ae // what to run says it all; the request it stopped does not matter
		}
		return []*Summary{{Account: a.Name, Calendar: "*", Err: err}}
	}
	c, err := e.client(a)
	if err != nil {
		return fail(err)
	}
	ap := opts.account
	if opts.DryRun {
		ap.settled, err = apply.Settlements(ctx, e.store, c, a.Name)
	} else {
		err = apply.Recover(ctx, e.store, c, a.Name, e.log)
	}
	if err != nil {
		return fail(err)
	}
	e.mu.Lock()
	_, seen := e.lastCals[a.Name]
	e.mu.Unlock()
	cals, err := e.calendarsOf(ctx, a, c, opts.LocalOnly || opts.listed, opts.DryRun)
	if err != nil {
		return fail(err)
	}
	// A local pass reuses the last list: it tells nothing of the server.
	ap.listed = !(opts.LocalOnly && seen) || opts.listed
	known, err := e.store.Collections()
	if err != nil {
		return fail(err)
	}
	dirs := collectionDirs(known)
	onServer := map[string]bool{}
	var out []*Summary
	for _, cal := range cals {
		onServer[collectionKey(a, cal.Href)] = true
		if !selected(a, opts, cal, e.folderOf(a, cal, dirs)) {
			continue
		}
		if err := ctx.Err(); err != nil {
			out = append(out, &Summary{Account: a.Name, Href: cal.Href, Calendar: path.Base(cal.Href), Err: err})
			continue
		}
		out = append(out, e.syncCalendar(ctx, a, c, cal, opts))
	}
	e.settleRefused(ctx, a, ap)
	for _, col := range known {
		if col.Account != a.Name || onServer[col.Key] {
			continue
		}
		out = append(out, &Summary{Account: a.Name, Href: col.Href, Dir: col.Dir, Calendar: path.Base(col.Dir),
			Notes: []string{"calendar no longer on the server: local folder left alone"}})
	}
	return out
}

// selected tells whether a pass with opts syncs cal, whose local folder is
// named folder: the account's calendars list and opts.Calendars are each
// empty or name it.
func selected(a *config.Account, opts SyncOptions, cal davclient.Calendar, folder string) bool {
	is := names(cal, folder)
	return (len(a.Calendars) == 0 || slices.ContainsFunc(a.Calendars, is)) &&
		(len(opts.Calendars) == 0 || slices.ContainsFunc(opts.Calendars, is))
}

// names returns whether a name denotes cal: its local folder name, display
// name, href, the href's last segment or the name the href gives it (for
// Google, the calendar ID).
func names(cal davclient.Calendar, folder string) func(string) bool {
	return func(n string) bool {
		return n != "" && (n == folder || n == cal.DisplayName || n == cal.Href || n == path.Base(cal.Href) || n == local.CalendarName(cal.Href))
	}
}

// calendarsOf lists a's calendars, or, when cached is set, reuses those the
// previous pass of this engine saw if there was one.
func (e *Engine) calendarsOf(ctx context.Context, a *config.Account, c *davclient.Client, cached, dryRun bool) ([]davclient.Calendar, error) {
	e.mu.Lock()
	cals, ok := e.lastCals[a.Name]
	e.mu.Unlock()
	if cached && ok {
		return cals, nil
	}
	cals, err := e.listCalendars(ctx, a, c, dryRun)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.lastCals[a.Name] = cals
	e.mu.Unlock()
	return cals, nil
}

// folderOf is the name of cal's local folder: the one state records, or
// for a calendar seen for the first time the one its first pass will make.
func (e *Engine) folderOf(a *config.Account, cal davclient.Calendar, dirs map[string]string) string {
	if d, ok := dirs[collectionKey(a, cal.Href)]; ok {
		return filepath.Base(d)
	}
	return filepath.Base(e.newDirFor(a, cal))
}

// newDirFor picks the local folder of a calendar seen for the first time,
// never one another calendar already uses.
func (e *Engine) newDirFor(a *config.Account, cal davclient.Calendar) string {
	taken := map[string]bool{}
	if cols, err := e.store.Collections(); err == nil {
		for _, c := range cols {
			taken[c.Dir] = true
		}
	}
	return local.NewFolder(a.LocalRoot, cal.Href, taken)
}

// collectionDirs maps the key of each collection to its local folder.
func collectionDirs(cols []state.Collection) map[string]string {
	dirs := make(map[string]string, len(cols))
	for _, c := range cols {
		dirs[c.Key] = c.Dir
	}
	return dirs
}

// listCalendars lists the calendar home in one request when it is known from
// an earlier pass, else runs discovery and remembers the home.
func (e *Engine) listCalendars(ctx context.Context, a *config.Account, c *davclient.Client, dryRun bool) ([]davclient.Calendar, error) {
	known, ok, err := e.store.Account(a.Name)
	if err != nil {
		return nil, err
	}
	if ok && known.Home != "" && known.URL == a.URL {
		cals, err := c.ListCalendars(ctx, known.Home)
		if err == nil {
			return cals, nil
		}
		if !errors.Is(err, davclient.ErrNotFound) && !errors.Is(err, davclient.ErrForbidden) {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
		// The home moved: discover again.
	}
	cals, err := c.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("account %s: discovery: %w", a.Name, err)
	}
	home, err := c.HomeSet(ctx)
	if err != nil {
		return nil, fmt.Errorf("account %s: discovery: %w", a.Name, err)
	}
	if dryRun {
		return cals, nil
	}
	// The configured URL is kept so that a changed url in the config rediscovers.
	err = e.store.UpdateAccount(a.Name, func(rec *state.Account) { rec.URL, rec.Home = a.URL, home })
	return cals, err
}

// RetryAfter is how long the server asked us to wait (429/503 with
// Retry-After, RFC 9110 §10.2.3) in err or what it wraps; 0 when it did not.
func RetryAfter(err error) time.Duration {
	var de *davclient.Error
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}

// LoginRefused tells whether err is the server refusing the account's
// credentials (401), which a lockout-prone server must not see often.
func LoginRefused(err error) bool { return errors.Is(err, davclient.ErrUnauthorized) }
