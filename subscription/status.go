package subscription

import (
	"errors"
	"fmt"
	"time"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/vdir"
)

// Status is what `vdird status` shows of a subscription.
type Status struct {
	Subscription string    `json:"subscription"`
	Dir          string    `json:"dir"`
	LastFetch    time.Time `json:"last_fetch,omitzero"`  // the last fetch applied, or answered 304
	LastChange   time.Time `json:"last_change,omitzero"` // the last fetch that changed the folder
	NextFetch    time.Time `json:"next_fetch,omitzero"`  // when a poll fetches it again
	Items        int       `json:"items"`
	// LocalChanges counts the files written from the feed that differ
	// from what was written (touched, edited or deleted here).
	LocalChanges  int      `json:"local_changes,omitempty"`
	LastError     string   `json:"last_error,omitempty"`
	Refused       string   `json:"refused,omitempty"`
	Problems      []string `json:"problems,omitempty"`
	ConflictFiles []string `json:"conflict_files,omitempty"`
}

// Failing tells whether the subscription needs attention: an error, a
// guard's refusal, parts of the feed that could not be used, or conflict
// copies of local edits.
func (s *Status) Failing() bool {
	return s.LastError != "" || s.Refused != "" || len(s.Problems) > 0 || len(s.ConflictFiles) > 0
}

// StatusOf reads what the last fetches of sub left, and stats its folder;
// it sends no request.
func StatusOf(sub *config.Subscription) (Status, error) {
	st := Status{Subscription: sub.Name, Dir: sub.Dir}
	rec, err := loadRecord(sub.StateFile)
	if err != nil {
		return st, err
	}
	st.LastFetch, st.LastChange, st.LastError, st.Refused, st.Problems = rec.LastFetch, rec.LastChange, rec.LastError, rec.Refused, rec.Problems
	st.NextFetch = next(rec, sub)
	if rec.Dir != sub.Dir {
		return st, nil
	}
	st.Items = len(rec.Items)
	d, err := vdir.Open(sub.Dir, vdir.ICS)
	if errors.Is(err, vdir.ErrNoDir) {
		st.LocalChanges = len(rec.Items)
		return st, nil
	}
	if err != nil {
		return st, err
	}
	for name, it := range rec.Items {
		if fp, err := d.Stat(name); err != nil || fp != it.FP {
			st.LocalChanges++
		}
	}
	st.ConflictFiles, err = d.ConflictCopies()
	return st, err
}

// Overview is the status of every subscription in subs.
func Overview(subs []config.Subscription) ([]Status, error) {
	var out []Status
	for i := range subs {
		st, err := StatusOf(&subs[i])
		if err != nil {
			return nil, fmt.Errorf("subscription %s: %w", subs[i].Name, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// NextFetch is when sub is due: its interval after the last attempt, or
// the zero time when it was never fetched.
func NextFetch(sub *config.Subscription) (time.Time, error) {
	rec, err := loadRecord(sub.StateFile)
	if err != nil {
		return time.Time{}, err
	}
	return next(rec, sub), nil
}

func next(rec *record, sub *config.Subscription) time.Time {
	if rec.LastAttempt.IsZero() {
		return time.Time{}
	}
	return rec.LastAttempt.Add(sub.Interval)
}
