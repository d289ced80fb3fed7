package remote

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/state"
)

// Delta is what a sync-collection from the recorded token reported.
type Delta struct {
	Changed map[string]string // href → etag
	Deleted []string
	Token   string // the new token
}

// Hrefs returns every member the delta names: the changed ones in order,
// then the deleted ones.
func (d Delta) Hrefs() []string {
	return append(slices.Sorted(maps.Keys(d.Changed)), d.Deleted...)
}

// ReadDelta asks the server what changed since the recorded sync-token. ok is
// false when a scoped pass cannot rely on the answer (token refused, delta
// too big or truncated or not to be believed, server error): the caller
// then runs a full pass, which sorts all of that out, and which then lists
// instead of asking for that delta again. err is only the pass's
// cancellation.
func (s *Source) ReadDelta(ctx context.Context) (dl Delta, ok bool, err error) {
	dl.Changed = map[string]string{}
	token, truncated, err := s.Client.SyncCollectionEach(ctx, s.Cal.Href, s.Token, func(it davclient.Item, gone bool) error {
		if len(dl.Changed)+len(dl.Deleted) >= maxChanges {
			return errBigDelta
		}
		if gone {
			dl.Deleted = append(dl.Deleted, it.Href)
			delete(dl.Changed, it.Href)
		} else {
			dl.Changed[it.Href] = it.ETag
		}
		return nil
	})
	if err != nil || truncated || token == "" {
		if cerr := ctx.Err(); cerr != nil {
			return dl, false, cerr
		}
		if errors.Is(err, davclient.ErrInvalidSyncToken) {
			// Straight to a full listing: the token will not work better.
			s.Log.Info().Msg("sync token no longer valid: full listing")
			s.Token = ""
		} else if err != nil && !errors.Is(err, errBigDelta) {
			s.Log.Debug().Err(err).Msg("delta for a scoped pass failed: full pass")
		}
		return dl, false, nil
	}
	if s.doubt(s.Token, token, len(dl.Changed)+len(dl.Deleted)) {
		// The full pass confirms it with an etag listing.
		s.doubted = true
		return dl, false, nil
	}
	dl.Token = token
	return dl, true, nil
}

// Scoped returns the view of a scoped pass: each member in known as
// recorded unless dl says otherwise, plus what dl adds.
func (s *Source) Scoped(known map[string]state.Item, dl Delta) *View {
	v := NewView(make(map[string]string, len(known)+len(dl.Changed)), format.Of(s.Cal.Kind), s.Log)
	for h, it := range known {
		v.ETags[h] = it.ETag
	}
	for _, h := range dl.Deleted {
		delete(v.ETags, h)
	}
	maps.Copy(v.ETags, dl.Changed)
	return v
}
