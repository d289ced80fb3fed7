// Package engine runs sync passes over the configured accounts: it builds
// each account's client (password, token command or OAuth2), settles the
// journal of writes a crash left open, lists the account's calendars and
// address books (from the homes state remembers, or by discovery), picks
// those a pass syncs, and has package pass run one pass over each. It
// records whether an account's passes fail, and reports every
// collection's status from state.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/local"
	"github.com/vdird/vdird/engine/pass"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/engine/work"
	"github.com/vdird/vdird/internal/oauth"
	"github.com/vdird/vdird/internal/version"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/versions"
)

// Engine runs sync passes: for each configured account it lists calendars
// and address books, and runs a pass over each (package pass), which
// plans from the local and remote listings, executes the plan and records
// every result in state. Both kinds go through the same passes; what
// differs is the item format (package format), the root folder and the
// listing.
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
	passing  map[string]*sync.Mutex          // per account, held by its passes (passLock)
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

// Summary reports what one pass did to one calendar or address book, or,
// with Calendar "*", why an account could not be synced.
type Summary = pass.Summary

// SyncOptions tune one pass.
type SyncOptions struct {
	DryRun          bool
	AllowMassDelete bool
	Calendars       []string // only these calendars or address books (folder name, display name, href or its last segment); empty = all
	// LocalOnly skips the calendar-home request and reuses the calendars seen
	// by the previous pass of this engine: for passes triggered by a local
	// change, which then cost no request at all unless something must be
	// written. A remote change meanwhile surfaces as 412 and is handled as
	// both-changed. Without a previous pass it is ignored.
	LocalOnly bool
	// Progress, when set, hears how far each calendar's downloads and
	// uploads have come.
	Progress work.Progress

	// account is shared by the collection passes of one account pass
	// (SyncAccount sets it).
	account *pass.Account
	// listed: Sync has just listed every account's calendars; the passes
	// reuse those lists.
	listed bool
	// refused holds, for one Sync, the accounts whose credentials the
	// server refused, with its answer: the run asks them nothing more, so
	// a server that locks an account after failed logins counts one.
	refused map[string]error
}

// listAccounts lists every account's calendars into the cache. An account
// that cannot be listed is skipped: its pass lists it again and reports why.
func (e *Engine) listAccounts(ctx context.Context, opts SyncOptions) {
	for i := range e.cfg.Accounts {
		a := &e.cfg.Accounts[i]
		if c, err := e.client(a); err == nil {
			_, _ = e.calendarsOf(ctx, a, c, false, opts.DryRun, opts.refused)
		}
	}
}

// Sync runs one pass over every configured account.
// A name in opts.Calendars that matches no calendar makes it sync nothing
// and return one summary whose Err is an *UnknownCalendarError.
func (e *Engine) Sync(ctx context.Context, opts SyncOptions) []*Summary {
	opts.refused = map[string]error{}
	if len(opts.Calendars) > 0 {
		// The name check and the passes share one listing per account.
		e.listAccounts(ctx, opts)
		opts.listed = true
	}
	if err := e.checkCalendars(ctx, opts.Calendars, opts.refused); err != nil {
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
		Kinds:              kinds(a),
		VCardVersion:       a.VCardVersion,
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

// kinds are the kinds of collection account a syncs.
func kinds(a *config.Account) []davclient.Kind {
	var out []davclient.Kind
	if a.SyncsCalendars() {
		out = append(out, davclient.KindCalendar)
	}
	if a.SyncsAddressBooks() {
		out = append(out, davclient.KindAddressBook)
	}
	return out
}

// Discover finds account a's calendar and address book homes and lists
// the collections of the kinds it syncs, with the client a pass would use
// (same auth, TLS and timeouts). It needs no state and records nothing.
func Discover(ctx context.Context, a *config.Account, log zerolog.Logger) (homes davclient.Homes, cals []davclient.Calendar, err error) {
	c, err := newClient(a, nil, log)
	if err != nil {
		return davclient.Homes{}, nil, err
	}
	if cals, err = c.Discover(ctx); err != nil {
		return davclient.Homes{}, nil, err
	}
	homes, _ = c.Homes(ctx)
	return homes, cals, nil
}

// addressBookKey starts the part of an address book's state key after the
// account name. A calendar's is its href, which starts with "/", so the
// keys of a calendar and an address book never meet, even at one href.
const addressBookKey = "addressbook"

// collectionKey is the state key of account a's collection cal.
func collectionKey(a *config.Account, cal davclient.Calendar) string {
	if cal.Kind == davclient.KindAddressBook {
		return a.Name + "/" + addressBookKey + cal.Href
	}
	return a.Name + "/" + cal.Href
}

// kindOfKey is the kind of the collection of a state key (collectionKey).
func kindOfKey(key string) davclient.Kind {
	if _, rest, ok := strings.Cut(key, "/"); ok && strings.HasPrefix(rest, addressBookKey+"/") {
		return davclient.KindAddressBook
	}
	return davclient.KindCalendar
}

// SyncAccount runs one pass over one account's calendars and records in
// state whether the account is failing (see noteAccount).
func (e *Engine) SyncAccount(ctx context.Context, a *config.Account, opts SyncOptions) []*Summary {
	mu := e.passLock(a.Name)
	mu.Lock()
	defer mu.Unlock()
	ap := &pass.Account{}
	opts.account = ap
	sums := e.syncAccount(ctx, a, opts)
	if !opts.DryRun && ctx.Err() == nil {
		e.noteAccount(a, sums, ap.Listed && len(opts.Calendars) == 0)
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
	if err == nil {
		err = opts.refused[a.Name]
	}
	if err != nil {
		return fail(err)
	}
	ap := opts.account
	if opts.DryRun {
		ap.Settled, err = apply.Settlements(ctx, e.store, c, a.Name, kindOfKey)
	} else {
		err = apply.Recover(ctx, e.store, c, a.Name, kindOfKey, e.log)
	}
	if err != nil {
		return fail(err)
	}
	e.mu.Lock()
	_, seen := e.lastCals[a.Name]
	e.mu.Unlock()
	cals, err := e.calendarsOf(ctx, a, c, opts.LocalOnly || opts.listed, opts.DryRun, opts.refused)
	if err != nil {
		return fail(err)
	}
	// A local pass reuses the last list: it tells nothing of the server.
	ap.Listed = !(opts.LocalOnly && seen) || opts.listed
	known, err := e.store.Collections()
	if err != nil {
		return fail(err)
	}
	dirs, forgotten := collectionDirs(known), forgottenDirs(known)
	onServer := map[string]bool{}
	var out []*Summary
	for _, cal := range cals {
		onServer[collectionKey(a, cal)] = true
		folder := e.folderOf(a, cal, dirs)
		if !selected(a, opts, cal, folder) {
			continue
		}
		if dir, ok := forgotten[collectionKey(a, cal)]; ok {
			if len(opts.Calendars) > 0 {
				out = append(out, forgottenSummary(a.Name, cal, dir))
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			out = append(out, &Summary{Account: a.Name, Href: cal.Href, Calendar: path.Base(cal.Href),
				AddressBook: cal.Kind == davclient.KindAddressBook, Err: err})
			continue
		}
		out = append(out, e.syncCollection(ctx, a, c, cal, folder, opts))
	}
	if !opts.DryRun {
		if err := e.settleCreating(a, known, onServer, ap.Listed); err != nil {
			return append(out, fail(err)...)
		}
	}
	out = append(out, e.createCollections(ctx, a, c, cals, ap.Listed, opts)...)
	ap.SettleRefused(ctx, e.store, a.Name)
	return append(out, e.goneCollections(a, known, cals, ap.Listed, opts.DryRun)...)
}

// syncCollection runs the pass over account a's collection cal, whose
// local folder is named folder.
func (e *Engine) syncCollection(ctx context.Context, a *config.Account, c *davclient.Client, cal davclient.Calendar, folder string, opts SyncOptions) *Summary {
	env := pass.Env{Store: e.store, Log: e.log, Now: e.Now, Versions: e.Versions}
	job := pass.Job{Account: a.Name, Client: c, Cal: cal, Key: collectionKey(a, cal), NewDir: func() string { return e.newDirFor(a, cal) }}
	if cal.Kind == davclient.KindCalendar {
		job.Scope = a.ScopeOf(names(a, cal, folder))
	}
	return pass.Run(ctx, env, job, pass.Options{DryRun: opts.DryRun, Plan: planOptions(e.cfg, a, opts),
		Progress: opts.Progress, Account: opts.account})
}

// planOptions are the planner's options for the collections of account
// a. The planner reads a zero MaxDeleteMin as its default; a configured 0
// means the guard applies to collections of any size, which it spells as
// negative.
func planOptions(cfg *config.Config, a *config.Account, opts SyncOptions) plan.Options {
	minItems := cfg.MaxDeleteMin
	if minItems == 0 {
		minItems = -1
	}
	return plan.Options{
		Policy:            a.ConflictPolicy,
		MaxDeleteFraction: cfg.MaxDeleteFraction,
		MaxDeleteMin:      minItems,
		AllowMassDelete:   opts.AllowMassDelete,
		Merge:             a.Merge,
	}
}

// selected tells whether a pass with opts syncs cal, whose local folder is
// named folder: the account's calendars (or addressbooks) list and
// opts.Calendars are each empty or name it.
func selected(a *config.Account, opts SyncOptions, cal davclient.Calendar, folder string) bool {
	is := names(a, cal, folder)
	chosen := a.Calendars
	if cal.Kind == davclient.KindAddressBook {
		chosen = a.AddressBooks
	}
	return (len(chosen) == 0 || slices.ContainsFunc(chosen, is)) &&
		(len(opts.Calendars) == 0 || slices.ContainsFunc(opts.Calendars, is))
}

// names returns whether a name denotes cal of account a: its local folder
// name, display name, href, the href's last segment or the name the href
// gives it (for Google, the calendar ID), each also as ACCOUNT/NAME.
func names(a *config.Account, cal davclient.Calendar, folder string) func(string) bool {
	is := func(n string) bool {
		return n != "" && (n == folder || n == cal.DisplayName || n == cal.Href || n == path.Base(cal.Href) || n == local.CalendarName(cal.Href))
	}
	return func(n string) bool {
		acct, rest, ok := strings.Cut(n, "/")
		return is(n) || ok && acct == a.Name && is(rest)
	}
}

// calendarsOf lists a's calendars, or, when cached is set, reuses those the
// previous pass of this engine saw if there was one. An account in refused
// is not asked again; one whose credentials are refused goes into it.
func (e *Engine) calendarsOf(ctx context.Context, a *config.Account, c *davclient.Client, cached, dryRun bool, refused map[string]error) ([]davclient.Calendar, error) {
	e.mu.Lock()
	cals, ok := e.lastCals[a.Name]
	e.mu.Unlock()
	if cached && ok {
		return cals, nil
	}
	if err := refused[a.Name]; err != nil {
		return nil, err
	}
	cals, err := e.listCalendars(ctx, a, c, dryRun)
	if err != nil {
		if refused != nil && errors.Is(err, davclient.ErrUnauthorized) {
			refused[a.Name] = err
		}
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
	if d, ok := dirs[collectionKey(a, cal)]; ok {
		return filepath.Base(d)
	}
	return filepath.Base(e.newDirFor(a, cal))
}

// newDirFor picks the local folder of a collection seen for the first
// time, under the root of its kind, never one another collection already
// uses.
func (e *Engine) newDirFor(a *config.Account, cal davclient.Calendar) string {
	taken := map[string]bool{}
	if cols, err := e.store.Collections(); err == nil {
		for _, c := range cols {
			taken[c.Dir] = true
		}
	}
	return local.NewFolder(rootOf(a, cal.Kind), cal.Href, taken)
}

// rootOf is the folder under which account a keeps its collections of
// kind k.
func rootOf(a *config.Account, k davclient.Kind) string {
	if k == davclient.KindAddressBook {
		return a.ContactsRoot
	}
	return a.LocalRoot
}

// collectionDirs maps the key of each collection to its local folder.
func collectionDirs(cols []state.Collection) map[string]string {
	dirs := make(map[string]string, len(cols))
	for _, c := range cols {
		dirs[c.Key] = c.Dir
	}
	return dirs
}

// listCalendars lists the calendar and address book homes in one request
// each (one when they are the same) when they are known from an earlier
// pass, else runs discovery and remembers the homes.
func (e *Engine) listCalendars(ctx context.Context, a *config.Account, c *davclient.Client, dryRun bool) ([]davclient.Calendar, error) {
	known, ok, err := e.store.Account(a.Name)
	if err != nil {
		return nil, err
	}
	looked := kindsKey(a)
	if known.Kinds == "" {
		known.Kinds = config.SyncCalendars // what discovery looked for before address books
	}
	if ok && (known.Home != "" || known.BookHome != "") && known.URL == a.URL && known.Kinds == looked {
		cals, err := c.ListCollections(ctx, known.Home, known.BookHome)
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
	homes, err := c.Homes(ctx)
	if err != nil {
		return nil, fmt.Errorf("account %s: discovery: %w", a.Name, err)
	}
	if homes.Elsewhere != "" {
		e.log.Warn().Str("account", a.Name).Str("url", homes.Elsewhere).
			Msg("the address books are on another host than the calendars: sync them with an account of that url and sync = [\"addressbooks\"]")
	}
	if dryRun {
		return cals, nil
	}
	// The configured URL and the kinds looked for are kept, so that a
	// change of either in the config rediscovers.
	err = e.store.UpdateAccount(a.Name, func(rec *state.Account) {
		rec.URL, rec.Home, rec.BookHome, rec.Kinds = a.URL, homes.Calendars, homes.AddressBooks, looked
	})
	return cals, err
}

// kindsKey spells the kinds account a syncs for state (state.Account.Kinds)
// as the config does.
func kindsKey(a *config.Account) string {
	var out []string
	for _, k := range kinds(a) {
		if k == davclient.KindAddressBook {
			out = append(out, config.SyncAddressBooks)
		} else {
			out = append(out, config.SyncCalendars)
		}
	}
	return strings.Join(out, ",")
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
