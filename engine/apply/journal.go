package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/remote"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// journal opens the journal entry of a remote write about to be sent.
func (x *Executor) journal(op, href, name, etag, hash, uid string) (uint64, error) {
	id, err := x.Rec.Store.BeginJournal(state.JournalEntry{Key: x.Rec.Key, Href: href, Name: name, Op: op,
		ETagBefore: etag, Hash: hash, UID: uid, Started: x.Now()})
	if err != nil {
		return 0, fmt.Errorf("%w: journal: %v", ErrState, err)
	}
	return id, nil
}

// endJournal closes a journal entry after a failed remote write, unless the
// outcome is unknown: when the request got no HTTP answer (connection lost,
// timeout, cancel) the server may have applied it, and the open entry lets
// the next pass recognise our own write instead of calling it a conflict.
func (x *Executor) endJournal(id uint64, err error) {
	var de *davclient.Error
	if errors.As(err, &de) {
		_ = x.Rec.Store.EndJournal(id)
	}
}

// Recover settles the remote writes of account that a crash (or a lost
// answer) left unrecorded in store: the server is asked what it holds, and
// state is brought in line, so the next plan neither repeats a create
// (duplicate) nor loses the local edit. kindOf tells the kind of the
// collection of a state key.
func Recover(ctx context.Context, store *state.Store, c *davclient.Client, account string, kindOf func(key string) davclient.Kind, log zerolog.Logger) error {
	pending, err := store.Pending()
	if err != nil {
		return err
	}
	for _, j := range pending {
		col, ok, err := store.Collection(j.Key)
		if err != nil {
			return err
		}
		if !ok || col.Account != account {
			if !ok {
				_ = store.EndJournal(j.ID)
			}
			continue
		}
		cal := davclient.Calendar{Href: col.Href, Kind: kindOf(j.Key)}
		o, err := c.Get(ctx, cal, j.Href)
		switch {
		case errors.Is(err, davclient.ErrNotFound):
			err = store.Update(j.Key, func(tx *state.Tx) error {
				if j.Op == "delete" {
					if err := tx.DeleteItem(j.Href); err != nil {
						return err
					}
				}
				return tx.EndJournal(j.ID)
			})
		case err != nil:
			return fmt.Errorf("recovering interrupted %s of %s: %w", j.Op, j.Href, err)
		default:
			err = recoverWrite(store, j, col, format.Of(cal.Kind), o)
		}
		if err != nil {
			return err
		}
		log.Info().Str("account", account).Str("op", j.Op).Str("href", j.Href).Msg("settled a write interrupted by a crash")
	}
	return nil
}

// recoverWrite handles an interrupted put/create whose href exists on the
// server. The item is ours when the server holds our bytes, or — for a create,
// since servers such as Radicale rewrite bodies — our UID at our href.
func recoverWrite(store *state.Store, j state.JournalEntry, col state.Collection, f *format.Format, o davclient.Object) error {
	o = remote.WithETag(o)
	if j.Op == "delete" {
		return store.EndJournal(j.ID)
	}
	d, err := vdir.Open(col.Dir, f.Ext)
	if err != nil {
		return store.EndJournal(j.ID)
	}
	data, fp, err := d.Read(j.Name)
	unchanged := err == nil && vdir.Hash(data) == j.Hash
	info, _ := f.Inspect(o.Data)
	ours := vdir.Hash(o.Data) == j.Hash ||
		(unchanged && f.Equivalent(o.Data, data)) ||
		(j.Op == "create" && info.UID != "" && info.UID == j.UID)
	if !ours {
		// Someone else's version: state keeps the old etag, so the next pass
		// sees both sides changed and applies the conflict policy.
		return store.EndJournal(j.ID)
	}
	if !unchanged {
		// The file changed since (or is gone): record the server side only as
		// of the old content, so the next pass sees the local change.
		return store.Update(j.Key, func(tx *state.Tx) error {
			if err := tx.PutItem(state.Item{Href: j.Href, ETag: o.ETag, Name: j.Name, Hash: j.Hash, UID: j.UID}); err != nil {
				return err
			}
			return tx.EndJournal(j.ID)
		})
	}
	return store.Update(j.Key, func(tx *state.Tx) error {
		it := state.Item{Href: j.Href, ETag: o.ETag, Name: j.Name, Fingerprint: state.Fingerprint(fp), Hash: j.Hash, UID: j.UID, Base: data}
		if err := tx.PutItem(it); err != nil {
			return err
		}
		return tx.EndJournal(j.ID)
	})
}
