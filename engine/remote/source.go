package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/davclient/calfilter"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/window"
	"github.com/vdird/vdird/state"
)

// maxChanges bounds a delta for a scoped pass: one naming more members
// goes through a full pass instead.
const maxChanges = 1000

var errBigDelta = errors.New("delta too big for a scoped pass")

// Source reads one collection's members from the server for one pass.
type Source struct {
	Client *davclient.Client
	Cal    davclient.Calendar // as the calendar listing of this pass gave it
	// Marker and Token are the change marker and sync-token recorded after
	// the last complete pass. Token is cleared when the server refuses it.
	Marker, Token string
	Log           zerolog.Logger
	// Progress, when set, hears how far downloads of members have come.
	Progress Progress
	// Scope narrows what is listed (a date window, component types), its
	// window taken at Now; RecordedScope is the scope recorded with
	// Marker (window.Scope.Key).
	Scope         window.Scope
	Now           time.Time
	RecordedScope string

	doubted bool // the delta from Token cannot be believed (doubt)
}

// Progress hears how far a download of members has come: Start with how
// many are coming (0: not known ahead), Add as they arrive, then Done.
type Progress interface {
	Start(total int)
	Add(items, bytes int)
	Done()
}

// noProgress is the Progress of a source that has none.
type noProgress struct{}

func (noProgress) Start(int)    {}
func (noProgress) Add(int, int) {}
func (noProgress) Done()        {}

func (s *Source) progress() Progress {
	if s.Progress == nil {
		return noProgress{}
	}
	return s.Progress
}

// AsRecorded tells that the calendar's change marker in this pass's
// listing is the one recorded after the last complete pass: no member was
// added, changed or removed on the server since.
func (s *Source) AsRecorded() bool {
	m := s.Cal.Marker()
	return m != "" && s.Marker == m && s.ScopeKey() == s.RecordedScope
}

// ScopeKey spells what a listing of this pass covers, to be recorded with
// the change marker; "" for the whole collection.
func (s *Source) ScopeKey() string { return s.Scope.Key(s.Now) }

// Filter narrows a listing to the scope at Now.
func (s *Source) Filter() calfilter.Filter {
	f := calfilter.Filter{Components: s.Scope.Components}
	if start, end, ok := s.Scope.Range(s.Now); ok {
		f.Start, f.End = start, end
		f.Overlaps = func(data []byte) bool { return window.Overlaps(data, start, end) }
	}
	return f
}

// List returns the server's members and the sync-token to record.
// known is what state records; haveState tells that it may be trusted
// for a delta. Cheapest first: unchanged change marker → no request;
// sync-collection delta; without state, a first download in one streamed
// calendar-query with data; otherwise an etag-only calendar-query. A
// calendar the Scope narrows is listed with its filter and never by a
// delta (listNarrowed), and its first download is filtered too.
func (s *Source) List(ctx context.Context, known map[string]state.Item, haveState bool) (*View, string, error) {
	v := NewView(make(map[string]string, len(known)), format.Of(s.Cal.Kind), s.Log)
	if haveState && s.AsRecorded() {
		for h, it := range known {
			v.ETags[h] = it.ETag
		}
		return v, s.Token, nil
	}
	if !haveState {
		prog := s.progress()
		prog.Start(0)
		defer prog.Done()
		err := calfilter.Download(ctx, s.Client, s.Cal, s.Filter(), func(o davclient.Object) error {
			prog.Add(1, len(o.Data))
			v.Add(o, known)
			return nil
		})
		if err != nil {
			return nil, "", fmt.Errorf("download: %w", err)
		}
		return v, "", nil
	}
	if s.Scope.Narrowed() {
		// No sync-token is recorded: a delta from it would name changes
		// outside the scope, and a later pass over the whole calendar
		// must list it.
		return v, "", s.listNarrowed(ctx, v, known)
	}
	if s.Cal.SupportsSync && !s.doubted {
		token, done, err := s.listDelta(ctx, v, known)
		if err != nil || done {
			return v, token, err
		}
	}
	if err := s.listETags(ctx, v); err != nil {
		return nil, "", err
	}
	if s.doubted {
		// The token the calendar listing gave was issued by the server
		// before this listing: a delta from it repeats what came after.
		s.Log.Info().Msg("the change marker moved but the delta from the recorded sync-token named no change: listed etags instead")
		return v, s.Cal.SyncToken, nil
	}
	return v, "", nil
}

// listDelta fills v from sync-collection: a delta from the recorded token,
// or a full listing when there is none or the server refused it. done is
// false when v must come from an etag listing instead (the delta is in
// doubt, or the server will not do sync-collection now).
func (s *Source) listDelta(ctx context.Context, v *View, known map[string]state.Item) (token string, done bool, err error) {
	from := s.Token
	token, changes, truncated, err := s.syncCollection(ctx, v, known, from)
	if errors.Is(err, davclient.ErrInvalidSyncToken) && from != "" {
		s.Log.Info().Msg("sync token no longer valid: full listing")
		from = ""
		token, changes, truncated, err = s.syncCollection(ctx, v, known, from)
	}
	switch {
	case err == nil && from != "" && s.doubt(from, token, changes):
		s.doubted = true
		return "", false, nil
	case err == nil && (from != "" || !truncated):
		return token, true, nil
	case err == nil:
		// A full listing that came in truncated pages: absence from it is
		// not proof of deletion, so membership comes from calendar-query.
		return token, true, s.listETags(ctx, v)
	case isHTTPStatus(err) && !errors.Is(err, davclient.ErrRateLimited):
		// The server answered but will not do sync-collection now: the
		// etag listing still works. A lost connection is a real error,
		// and "come back later" (429/503) is honoured, not worked around.
		s.Log.Info().Err(err).Msg("sync-collection refused: full etag listing")
		return "", false, nil
	}
	return "", true, fmt.Errorf("sync-collection: %w", err)
}

// listETags fills v from a calendar-query of every member's etag.
func (s *Source) listETags(ctx context.Context, v *View) error {
	items, err := s.Client.ListETags(ctx, s.Cal)
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	clear(v.ETags)
	for _, it := range items {
		v.ETags[it.Href] = it.ETag
	}
	return nil
}

// listNarrowed fills v from a listing of the etags of the members in the
// scope, and of the recorded members it left out that the server still
// holds: those outside the window or of other types keep syncing, and only
// a 404 for one of them makes it gone.
func (s *Source) listNarrowed(ctx context.Context, v *View, known map[string]state.Item) error {
	items, err := calfilter.ListETags(ctx, s.Client, s.Cal, s.Filter())
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	listed := make(map[string]string, len(items))
	for _, it := range items {
		listed[it.Href] = it.ETag
	}
	recorded := make(map[string]string, len(known))
	for h, it := range known {
		recorded[h] = it.ETag
	}
	present := map[string]string{}
	var gone []string
	if absent := window.Absent(recorded, listed); len(absent) > 0 {
		found, g, err := calfilter.ETags(ctx, s.Client, s.Cal, absent, calfilter.Batch)
		if err != nil {
			return fmt.Errorf("looking up members outside the listing: %w", err)
		}
		for _, it := range found {
			present[it.Href] = it.ETag
		}
		gone = g
	}
	clear(v.ETags)
	maps.Copy(v.ETags, window.Members(recorded, listed, present, gone))
	s.Log.Debug().Str("scope", s.ScopeKey()).Int("listed", len(listed)).Int("outside", len(present)).
		Int("gone", len(gone)).Msg("narrowed listing")
	return nil
}

// FindUIDs looks on the server for members holding the UIDs of uids (UID
// → component type) that a narrowed listing may have left out, and adds
// those that hold one of them, with their data, to v: a file that is new
// here then meets its item on the server as the same item, not as one to
// create again. known is what state records.
func (s *Source) FindUIDs(ctx context.Context, v *View, known map[string]state.Item, uids map[string]string) error {
	var need []string
	for _, uid := range slices.Sorted(maps.Keys(uids)) {
		items, err := calfilter.ByUID(ctx, s.Client, s.Cal, uids[uid], uid)
		if err != nil {
			return fmt.Errorf("looking up UID %s: %w", uid, err)
		}
		for _, it := range items {
			if _, listed := v.ETags[it.Href]; !listed && !slices.Contains(need, it.Href) {
				need = append(need, it.Href)
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	err := s.Client.Multiget(ctx, s.Cal, need, func(o davclient.Object) error {
		if info, err := v.format.Inspect(o.Data); o.Data != nil && err == nil && uids[info.UID] != "" {
			v.Add(o, known)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("multiget: %w", err)
	}
	return nil
}

// doubt tells whether a delta from the token sent, which handed back got
// and named changes members, cannot be believed: the change marker moved
// since the last pass, yet the delta names no change or hands back the
// very token it was sent. A server that accepts a token it no longer
// knows (sabre/dav 4 after a restore from a backup) answers just so, and
// believing it would hide the calendar's changes for good. A normal delta
// names the changes that moved the marker, so only this case costs an
// etag listing.
func (s *Source) doubt(sent, got string, changes int) bool {
	return s.Cal.Marker() != "" && !s.AsRecorded() && (changes == 0 || got == sent)
}

// syncCollection fills v from an RFC 6578 sync-collection report: with a
// token, the changes since it are applied to the known items; with none,
// the report is a full listing (and gives the first token). It returns the
// new token and how many members the report named. A truncated (507,
// §3.6) answer is continued from the token it returned; it reports
// whether that happened.
func (s *Source) syncCollection(ctx context.Context, v *View, known map[string]state.Item, token string) (string, int, bool, error) {
	clear(v.ETags)
	if token != "" {
		for h, it := range known {
			v.ETags[h] = it.ETag
		}
	}
	truncated, changes := false, 0
	for i := 0; ; i++ {
		res, err := s.Client.SyncCollection(ctx, s.Cal.Href, token)
		if err != nil {
			return "", changes, truncated, err
		}
		for _, it := range res.Changed {
			v.ETags[it.Href] = it.ETag
		}
		for _, h := range res.Deleted {
			delete(v.ETags, h)
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

// Fetch downloads the members of v that are new or whose etag differs
// from what known records (and those without an etag: "unknown", never
// "absent"), in multiget batches. A known member that vanished between
// listing and fetch, or was silently left out, stays as known and holds
// the view back; a new one is dropped.
func (s *Source) Fetch(ctx context.Context, v *View, known map[string]state.Item) error {
	var need []string
	for h, etag := range v.ETags {
		if _, ok := v.Data[h]; ok {
			continue
		}
		if k, ok := known[h]; !ok || etag == "" || k.ETag != etag {
			need = append(need, h)
		}
	}
	if len(need) == 0 {
		return nil
	}
	gone := map[string]bool{}
	prog := s.progress()
	prog.Start(len(need))
	defer prog.Done()
	err := s.Client.Multiget(ctx, s.Cal, need, func(o davclient.Object) error {
		prog.Add(1, len(o.Data))
		if o.Data == nil {
			gone[o.Href] = true
			return nil
		}
		v.Add(o, known)
		return nil
	})
	if err != nil {
		return fmt.Errorf("multiget: %w", err)
	}
	for _, h := range need {
		if _, ok := v.ETags[h]; !ok {
			continue // rejected as invalid by Add
		}
		if _, ok := v.Data[h]; !ok {
			if k, ok := known[h]; ok && !gone[h] {
				v.ETags[h] = k.ETag
				v.Held = true
			} else {
				delete(v.ETags, h)
			}
		}
	}
	return nil
}
