package pass

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/state"
)

// Account is what the passes of one account pass share: the creates
// refused because their UID lives at another href of the account, which
// wait for every collection to have had its turn (plan.RetryRefused and
// SettleRefused), where the collection list came from, and in a dry run
// how the journal would have been settled first.
type Account struct {
	// Settled is how the journal would have been settled (a dry run's
	// apply.Settlements): each pass plans from state as it would be then.
	Settled []apply.Settlement
	// Listed: the collection list came from the server in this account
	// pass, not from the previous one's. Only then does a pass that
	// applied every remote change record the time of its last sync.
	Listed bool

	refused []refusedCreate
	pass    string // names the account pass in the versions it keeps
}

// knownItems is what state records of the calendar key's items, as the
// pass finds them once the journal is settled: a dry run, which settles
// nothing, applies the settlements to what it read. settled counts the
// settlements of the calendar.
func (ap *Account) knownItems(store *state.Store, key string) (items []state.Item, settled int, err error) {
	items, err = store.Items(key)
	if err != nil || ap == nil || len(ap.Settled) == 0 {
		return items, 0, err
	}
	byHref := make(map[string]state.Item, len(items))
	for _, it := range items {
		byHref[it.Href] = it
	}
	for _, st := range ap.Settled {
		if st.Entry.Key != key {
			continue
		}
		settled++
		switch {
		case st.Drop:
			delete(byHref, st.Entry.Href)
		case st.Put != nil:
			byHref[st.Entry.Href] = *st.Put
		}
	}
	return slices.SortedFunc(maps.Values(byHref), func(a, b state.Item) int { return strings.Compare(a.Href, b.Href) }), settled, nil
}

// refusedCreate is one such create, and the calendar pass and executor
// that made it.
type refusedCreate struct {
	plan.RefusedCreate
	p   *pass
	x   *apply.Executor
	act plan.Action // the create, at the href it was sent to
	err error
}

// refuse holds a create refused with davclient.ErrUIDInUse for the end of
// the account pass.
func (ap *Account) refuse(p *pass, x *apply.Executor, act plan.Action, err error) {
	act = plan.Action{Kind: plan.Create, Href: act.Href, Name: act.Name, UID: act.UID}
	r := refusedCreate{RefusedCreate: plan.RefusedCreate{UID: act.UID}, p: p, x: x, act: act, err: err}
	var de *davclient.Error
	if errors.As(err, &de) {
		r.Holder = de.Href
	}
	ap.refused = append(ap.refused, r)
}

// SettleRefused ends the pass of account in store: the refused creates
// that plan.RetryRefused picks are sent once more, and those still not
// accepted become problems of their collections, whose change markers
// then stay where they were.
func (ap *Account) SettleRefused(ctx context.Context, store *state.Store, account string) {
	if len(ap.refused) == 0 {
		return
	}
	retry := make([]bool, len(ap.refused))
	rec, err := accountRecords(store, account, ap.refused)
	if err == nil {
		retry = plan.RetryRefused(refusedOnly(ap.refused), rec)
	}
	failed := map[*pass]bool{}
	touched := map[*pass]*apply.Executor{}
	for i, r := range ap.refused {
		p := r.p
		if p.s.Err != nil {
			continue // the calendar failed: its next pass starts over
		}
		touched[p] = r.x
		r.x.Refuse = nil // a second refusal is final
		if retry[i] {
			_, r.err = r.x.Settle(ctx, r.act)
		}
		if r.err != nil {
			r.x.Problem(r.act, r.err)
			failed[p] = true
		}
	}
	for p, x := range touched {
		p.take(x)
		err := p.rec.Flush()
		if failed[p] {
			err = p.finish("", x.Remote.Held)
		}
		if err != nil && p.s.Err == nil {
			p.s.Err = err
		}
	}
}

func refusedOnly(rs []refusedCreate) []plan.RefusedCreate {
	out := make([]plan.RefusedCreate, len(rs))
	for i, r := range rs {
		out[i] = r.RefusedCreate
	}
	return out
}

// accountRecords reads what state records about the holders and UIDs of
// refused creates, in every collection of account.
func accountRecords(store *state.Store, account string, refused []refusedCreate) (plan.AccountRecords, error) {
	rec := plan.AccountRecords{Hrefs: map[string]bool{}, UIDs: map[string]bool{}}
	var holders []string
	uids := map[string]bool{}
	for _, r := range refused {
		if r.Holder != "" {
			holders = append(holders, r.Holder)
		} else {
			uids[r.UID] = true
		}
	}
	cols, err := store.Collections()
	if err != nil {
		return rec, err
	}
	for _, col := range cols {
		if col.Account != account || strings.HasPrefix(col.Key, "@") {
			continue
		}
		rec.Calendars = append(rec.Calendars, col.Href)
		byHref, err := store.ItemsByHref(col.Key, holders)
		if err != nil {
			return rec, err
		}
		for h := range byHref {
			rec.Hrefs[h] = true
		}
		byUID, err := store.ItemsWithUID(col.Key, uids)
		if err != nil {
			return rec, err
		}
		for _, it := range byUID {
			rec.UIDs[it.UID] = true
		}
	}
	return rec, nil
}
