package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/plan"
)

// accountPass is what the calendar passes of one account pass share: the
// creates refused because their UID lives at another href of the account,
// which wait for every calendar to have had its turn (plan.RetryRefused),
// and where the calendar list came from.
type accountPass struct {
	refused []refusedCreate
	// listed: the calendar list came from the server in this account
	// pass, not from the previous one's (SyncOptions.LocalOnly).
	listed bool
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
func (ap *accountPass) refuse(p *pass, x *apply.Executor, act plan.Action, err error) {
	act = plan.Action{Kind: plan.Create, Href: act.Href, Name: act.Name, UID: act.UID}
	r := refusedCreate{RefusedCreate: plan.RefusedCreate{UID: act.UID}, p: p, x: x, act: act, err: err}
	var de *davclient.Error
	if errors.As(err, &de) {
		r.Holder = de.Href
	}
	ap.refused = append(ap.refused, r)
}

// settleRefused ends an account pass: the refused creates that
// plan.RetryRefused picks are sent once more, and those still not accepted
// become problems of their calendars, whose change markers then stay where
// they were.
func (e *Engine) settleRefused(ctx context.Context, a *config.Account, ap *accountPass) {
	if len(ap.refused) == 0 {
		return
	}
	retry := make([]bool, len(ap.refused))
	rec, err := e.accountRecords(a, ap.refused)
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
// refused creates, in every calendar of account a.
func (e *Engine) accountRecords(a *config.Account, refused []refusedCreate) (plan.AccountRecords, error) {
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
	cols, err := e.store.Collections()
	if err != nil {
		return rec, err
	}
	for _, col := range cols {
		if col.Account != a.Name || strings.HasPrefix(col.Key, "@") {
			continue
		}
		rec.Calendars = append(rec.Calendars, col.Href)
		byHref, err := e.store.ItemsByHref(col.Key, holders)
		if err != nil {
			return rec, err
		}
		for h := range byHref {
			rec.Hrefs[h] = true
		}
		byUID, err := e.store.ItemsWithUID(col.Key, uids)
		if err != nil {
			return rec, err
		}
		for _, it := range byUID {
			rec.UIDs[it.UID] = true
		}
	}
	return rec, nil
}
