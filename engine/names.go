package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vdird/vdird/config"
)

// UnknownCalendarError is a sync asked for calendars by names that match no
// calendar of any account.
type UnknownCalendarError struct {
	Names     []string `json:"names"`     // the names that matched nothing
	Calendars []string `json:"calendars"` // the calendars there are: "folder (display name)"
}

func (e *UnknownCalendarError) Error() string {
	quoted := make([]string, len(e.Names))
	for i, n := range e.Names {
		quoted[i] = strconv.Quote(n)
	}
	cals := strings.Join(e.Calendars, ", ")
	if cals == "" {
		cals = "none"
	}
	return fmt.Sprintf("no calendar named %s; calendars: %s", strings.Join(quoted, ", "), cals)
}

// CheckCalendars returns an *UnknownCalendarError when one of names matches
// no calendar that a pass would sync, in any account: by folder name,
// display name, href or the href's last segment, each also as
// ACCOUNT/NAME. It starts from the calendars the last pass saw and lists
// the accounts again before calling a name unknown. It writes nothing, and reports nothing when an account
// cannot be listed: that account's pass will say why.
func (e *Engine) CheckCalendars(ctx context.Context, names []string) error {
	return e.checkCalendars(ctx, names, nil)
}

// checkCalendars is CheckCalendars within a Sync, which asks nothing of
// the accounts in refused (SyncOptions.refused).
func (e *Engine) checkCalendars(ctx context.Context, names []string, refused map[string]error) error {
	if len(names) == 0 {
		return nil
	}
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	u, ok := e.unknownNames(ctx, cfg, names, true, refused)
	if ok && u != nil {
		u, ok = e.unknownNames(ctx, cfg, names, false, refused)
	}
	if !ok || u == nil {
		return nil
	}
	return u
}

// unknownNames matches names against every account's calendars, listed or,
// with cached, as the last pass saw them. ok is false when an account or
// state could not be read.
func (e *Engine) unknownNames(ctx context.Context, cfg *config.Config, want []string, cached bool, refused map[string]error) (u *UnknownCalendarError, ok bool) {
	known, err := e.store.Collections()
	if err != nil {
		return nil, false
	}
	dirs := collectionDirs(known)
	matched := map[string]bool{}
	u = &UnknownCalendarError{}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		c, err := e.client(a)
		if err != nil {
			return nil, false
		}
		cals, err := e.calendarsOf(ctx, a, c, cached, true, refused)
		if err != nil {
			return nil, false
		}
		for _, cal := range cals {
			folder := e.folderOf(a, cal, dirs)
			if !selected(a, SyncOptions{}, cal, folder) {
				continue
			}
			choice := folder
			if len(cfg.Accounts) > 1 {
				choice = a.Name + "/" + folder
			}
			if cal.DisplayName != "" {
				choice += " (" + cal.DisplayName + ")"
			}
			u.Calendars = append(u.Calendars, choice)
			for _, n := range want {
				matched[n] = matched[n] || names(a, cal, folder)(n)
			}
		}
		matchNewFolders(a, known, want, matched)
	}
	for _, n := range want {
		if !matched[n] && !slices.Contains(u.Names, n) {
			u.Names = append(u.Names, n)
		}
	}
	if len(u.Names) == 0 {
		return nil, true
	}
	return u, true
}
