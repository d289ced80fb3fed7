package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// Limits of one batch of a fresh download: files written with one folder
// flush and recorded in one state transaction. They bound memory, so a new
// calendar of any size streams through in constant space.
const (
	freshBatchItems = 500
	freshBatchBytes = 4 << 20
)

// freshDownload brings a calendar that has no state and an empty local
// folder in with one streamed request: every member is a plain download
// (the planner would say so for each), so objects go straight to disk in
// batches instead of being held for planning. Where the server offers
// sync-collection, that one REPORT carries the data and the first
// sync-token; otherwise (or where it leaves data out, or truncates) a
// calendar-query with data brings the rest. It returns the token to record.
func (p *pass) freshDownload(ctx context.Context) (string, error) {
	var (
		objs  []davclient.Object
		uids  []string // UIDs of objs
		size  int
		total int
		done  = map[string]bool{}
	)
	flush := func() error {
		if len(objs) == 0 {
			return nil
		}
		files := make([]vdir.NewFile, len(objs))
		for i, o := range objs {
			files[i] = vdir.NewFile{Name: p.newName(o.Href), Data: o.Data}
		}
		fps, err := p.d.WriteBatch(files)
		var be *vdir.BatchError
		if err != nil && !errors.As(err, &be) {
			return fmt.Errorf("writing %d files: %w", len(files), err)
		}
		items := make([]state.Item, 0, len(objs))
		for i, o := range objs {
			if be != nil && be.Errs[i] != nil {
				p.s.Problems = append(p.s.Problems, fmt.Sprintf("download %s: %v", o.Href, be.Errs[i]))
				continue
			}
			etag := o.ETag
			if etag == "" {
				etag = pseudoETagPrefix + vdir.Hash(o.Data)
			}
			items = append(items, state.Item{Href: o.Href, ETag: etag, Name: files[i].Name,
				Fingerprint: state.Fingerprint(fps[i]), Hash: vdir.Hash(o.Data), UID: uids[i], Base: o.Data})
		}
		p.batch = append(p.batch, func(tx *state.Tx) error {
			for _, it := range items {
				if err := tx.PutItem(it); err != nil {
					return err
				}
			}
			return nil
		})
		if err := p.flush(); err != nil {
			return err
		}
		p.s.Downloaded += len(items)
		total += len(items)
		objs, uids, size = objs[:0], uids[:0], 0
		if p.e.afterBatch != nil {
			p.e.afterBatch(total)
		}
		return nil
	}
	add := func(o davclient.Object) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if done[o.Href] {
			return nil
		}
		done[o.Href] = true
		info, err := p.checkRemote(o)
		if err != nil {
			return nil
		}
		objs = append(objs, o)
		uids = append(uids, info.UID)
		size += len(o.Data)
		if len(objs) >= freshBatchItems || size >= freshBatchBytes {
			return flush()
		}
		return nil
	}

	token, needQuery := "", true
	if p.cal.SupportsSync {
		var truncated, missing bool
		tok, trunc, err := p.c.DownloadSync(ctx, p.cal.Href, func(o davclient.Object) error {
			if o.Data == nil {
				missing = true
				return nil
			}
			return add(o)
		})
		truncated = trunc
		switch {
		case err == nil:
			// The token predates whatever the calendar-query below adds, so
			// the next delta may repeat changes (harmless), never miss one.
			token, needQuery = tok, truncated || missing
		case isHTTPStatus(err) && !errors.Is(err, davclient.ErrRateLimited):
			p.e.log.Info().Str("calendar", p.s.Calendar).Err(err).Msg("sync-collection with data refused: calendar-query")
		default:
			return "", fmt.Errorf("download: %w", err)
		}
	}
	if needQuery {
		if err := p.c.Download(ctx, p.cal.Href, add); err != nil {
			return "", fmt.Errorf("download: %w", err)
		}
	}
	if err := flush(); err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	p.e.log.Info().Str("account", p.a.Name).Str("calendar", p.s.Calendar).Int("items", total).Msg("↓ downloaded new calendar")
	return token, nil
}
