// Package remote builds the server side of one collection for a sync pass:
// which members there are and their etags (as recorded, from a
// sync-collection delta or from a listing, cheapest first), and the data
// of those that are new or changed, checked before it may reach the
// folder. It reads from the server and writes nothing.
package remote

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// View is the server side of one calendar or address book as a pass saw
// it. The executor updates it as it reads members again (Data) and meets
// changes it leaves for the next pass (Held).
type View struct {
	ETags map[string]string           // href → etag (a pseudo-etag when the server gives none)
	Data  map[string]davclient.Object // members fetched this pass, valid and with an etag
	UIDs  map[string]string           // the UID of each member in Data
	// Held is set when a remote change was not applied: the pass must not
	// advance the change marker or the sync-token.
	Held bool
	// Problems are the members whose data is not one valid item.
	Problems []string

	format *format.Format
	log    zerolog.Logger
}

// NewView returns a view of the members in etags (href → etag), items in
// format f, none of them fetched; problems are logged to log.
func NewView(etags map[string]string, f *format.Format, log zerolog.Logger) *View {
	return &View{ETags: etags, Data: map[string]davclient.Object{}, UIDs: map[string]string{}, format: f, log: log}
}

// Remotes is the planner's view of the members, by href; those fetched
// come with their hash, UID and content key.
func (v *View) Remotes() []plan.Remote {
	out := make([]plan.Remote, 0, len(v.ETags))
	for _, href := range slices.Sorted(maps.Keys(v.ETags)) {
		r := plan.Remote{Href: href, ETag: v.ETags[href]}
		if o, ok := v.Data[href]; ok {
			r.Hash, r.UID, r.Content = vdir.Hash(o.Data), v.UIDs[href], v.format.ContentKey(o.Data)
		}
		out = append(out, r)
	}
	return out
}

// Add records a member whose data arrived. Data that is not one valid
// item is never written locally: the member is reported and left
// as known records it (or absent if new), and the view is held back, so
// it is fetched again once the server serves it well.
func (v *View) Add(o davclient.Object, known map[string]state.Item) {
	info, err := v.Check(o)
	if err != nil {
		if k, ok := known[o.Href]; ok {
			v.ETags[o.Href] = k.ETag
		} else {
			delete(v.ETags, o.Href)
		}
		return
	}
	o = WithETag(o)
	v.UIDs[o.Href] = info.UID
	v.ETags[o.Href] = o.ETag
	v.Data[o.Href] = o
}

// Check validates server data before it may reach the folder. Invalid
// data is logged, added to Problems and holds the view back.
func (v *View) Check(o davclient.Object) (format.Info, error) {
	info, err := v.format.Inspect(o.Data)
	if err != nil {
		v.Held = true
		v.Problems = append(v.Problems, Invalid(v.log, o.Href, err))
	}
	return info, err
}

// TakeProblems returns the problems found since the last call.
func (v *View) TakeProblems() []string {
	p := v.Problems
	v.Problems = nil
	return p
}

// Invalid logs that the server sent data for href that is not one valid
// item, and returns the problem to report.
func Invalid(log zerolog.Logger, href string, err error) string {
	log.Error().Str("href", href).Err(err).Msg("invalid data from server")
	return fmt.Sprintf("server sent invalid data for %s: %v (not written; retried next pass)", href, err)
}

// WithETag gives o a pseudo-etag (plan.PseudoETagPrefix and the hash of
// its data) when the server sent none.
func WithETag(o davclient.Object) davclient.Object {
	if o.ETag == "" {
		o.ETag = plan.PseudoETagPrefix + vdir.Hash(o.Data)
	}
	return o
}
