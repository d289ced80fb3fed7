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

// Settlement is how settling one open journal entry brings state in
// line with what the server holds.
type Settlement struct {
	Entry state.JournalEntry
	// Drop: the item at Entry.Href is forgotten (a delete that happened).
	Drop bool
	// Put, when set, is recorded at Entry.Href (a write that happened).
	// Neither: nothing happened, or someone else's version is there, and
	// state stays as it is.
	Put *state.Item
}

// Recover settles the remote writes of account that a crash (or a lost
// answer) left unrecorded in store: the server is asked what it holds, and
// state is brought in line, so the next plan neither repeats a create
// (duplicate) nor loses the local edit. kindOf tells the kind of the
// collection of a state key.
func Recover(ctx context.Context, store *state.Store, c *davclient.Client, account string, kindOf func(key string) davclient.Kind, log zerolog.Logger) error {
	orphan := func(j state.JournalEntry) { _ = store.EndJournal(j.ID) }
	return settle(ctx, store, c, account, kindOf, orphan, func(st Settlement) error {
		err := store.Update(st.Entry.Key, func(tx *state.Tx) error {
			switch {
			case st.Drop:
				if err := tx.DeleteItem(st.Entry.Href); err != nil {
					return err
				}
			case st.Put != nil:
				if err := tx.PutItem(*st.Put); err != nil {
					return err
				}
			}
			return tx.EndJournal(st.Entry.ID)
		})
		if err == nil {
			log.Info().Str("account", account).Str("op", st.Entry.Op).Str("href", st.Entry.Href).Msg("settled a write interrupted by a crash")
		}
		return err
	})
}

// Settlements says how Recover would settle the open journal entries of
// account, reading the server and the folders and writing nothing: a dry
// run plans from state as the real run will find it.
func Settlements(ctx context.Context, store *state.Store, c *davclient.Client, account string, kindOf func(key string) davclient.Kind) ([]Settlement, error) {
	var out []Settlement
	err := settle(ctx, store, c, account, kindOf, func(state.JournalEntry) {}, func(st Settlement) error {
		out = append(out, st)
		return nil
	})
	return out, err
}

// settle works out, oldest first, how each open journal entry of account
// is settled, and hands that to do; an entry whose calendar state no
// longer knows goes to orphan.
func settle(ctx context.Context, store *state.Store, c *davclient.Client, account string, kindOf func(key string) davclient.Kind, orphan func(state.JournalEntry), do func(Settlement) error) error {
	pending, err := store.Pending()
	if err != nil {
		return err
	}
	for _, j := range pending {
		col, ok, err := store.Collection(j.Key)
		if err != nil {
			return err
		}
		if !ok {
			orphan(j)
			continue
		}
		if col.Account != account {
			continue
		}
		st := Settlement{Entry: j}
		cal := davclient.Calendar{Href: col.Href, Kind: kindOf(j.Key)}
		o, err := c.Get(ctx, cal, j.Href)
		switch {
		case errors.Is(err, davclient.ErrNotFound):
			st.Drop = j.Op == "delete"
		case err != nil:
			return fmt.Errorf("recovering interrupted %s of %s: %w", j.Op, j.Href, err)
		case j.Op != "delete":
			st.Put = recoveredWrite(j, col, format.Of(cal.Kind), o)
		}
		if err := do(st); err != nil {
			return err
		}
	}
	return nil
}

// recoveredWrite is what state records after an interrupted put/create
// whose href exists on the server: nothing unless the item is ours, which
// it is when the server holds our bytes, or — for a create, since servers
// such as Radicale rewrite bodies — our UID at our href.
func recoveredWrite(j state.JournalEntry, col state.Collection, f *format.Format, o davclient.Object) *state.Item {
	o = remote.WithETag(o)
	d, err := vdir.Open(col.Dir, f.Ext)
	if err != nil {
		return nil
	}
	data, fp, err := d.Read(j.Name)
	unchanged := err == nil && vdir.Hash(data) == j.Hash
	info, _ := f.Inspect(o.Data)
	ours := vdir.Hash(o.Data) == j.Hash ||
		(unchanged && f.Equivalent(o.Data, data)) ||
		(j.Op == "create" && info.UID != "" && info.UID == j.UID)
	switch {
	case !ours:
		// Someone else's version: state keeps the old etag, so the next pass
		// sees both sides changed and applies the conflict policy.
		return nil
	case !unchanged:
		// The file changed since (or is gone): record the server side only as
		// of the old content, so the next pass sees the local change.
		return &state.Item{Href: j.Href, ETag: o.ETag, Name: j.Name, Hash: j.Hash, UID: j.UID}
	}
	return &state.Item{Href: j.Href, ETag: o.ETag, Name: j.Name, Fingerprint: state.Fingerprint(fp), Hash: j.Hash, UID: j.UID, Base: data}
}
