package pass

import (
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"slices"

	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/plan"
)

// Summary reports what one pass did to one calendar. It travels as JSON over
// the control socket, where the error keeps only its message.
type Summary struct {
	Account  string `json:"account"`
	Calendar string `json:"calendar"` // local folder name
	Href     string `json:"href,omitempty"`
	Dir      string `json:"dir,omitempty"`
	// AddressBook: the collection is an address book, not a calendar.
	AddressBook bool `json:"address_book,omitempty"`

	// Counts of what the pass did.
	Downloaded    int `json:"downloaded"`
	Uploaded      int `json:"uploaded"`
	DeletedLocal  int `json:"deleted_local"`
	DeletedRemote int `json:"deleted_remote"`
	Conflicts     int `json:"conflicts"`
	Recorded      int `json:"recorded"`
	// Merged counts the items whose edits on both sides were merged.
	Merged int `json:"merged,omitempty"`

	Unchanged bool `json:"unchanged,omitempty"` // change marker unchanged and no local change: nothing listed
	// Strategy is how the pass went about the calendar: "unchanged",
	// "scoped-delta", "scoped-local", "scoped-both", "first-download",
	// "resume-first-download" or "full".
	Strategy plan.Strategy `json:"strategy,omitempty"`
	Skipped  []string      `json:"skipped,omitempty"`  // invalid files, read-only edits, duplicate UIDs…
	Problems []string      `json:"problems,omitempty"` // per-item failures that left that item for the next pass
	// Rejected are the item files whose content the server refuses, with
	// its answer: not sent again until they change.
	Rejected []string      `json:"rejected,omitempty"`
	Refused  string        `json:"refused,omitempty"` // a safety guard stopped this calendar
	Planned  []plan.Action `json:"planned,omitempty"` // dry run: what would be done
	Notes    []string      `json:"notes,omitempty"`   // new calendar, calendar gone from server…
	Err      error         `json:"-"`                 // the calendar could not be synced
	// Throttled is the first per-item error that carried a Retry-After
	// (429/503 on a PUT or DELETE), so the daemon's backoff honours it.
	Throttled error `json:"-"`
}

// Failed tells whether the calendar needs attention (exit code, status).
func (s *Summary) Failed() bool {
	return s.Err != nil || s.Refused != "" || len(s.Problems) > 0 || len(s.Rejected) > 0
}

// summaryJSON is Summary with its error as a message.
type summaryJSON struct {
	*summaryFields
	Err string `json:"error,omitempty"`
}

type summaryFields Summary

// MarshalJSON writes the summary with its error's message.
func (s *Summary) MarshalJSON() ([]byte, error) {
	j := summaryJSON{summaryFields: (*summaryFields)(s)}
	if s.Err != nil {
		j.Err = s.Err.Error()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a summary; the error comes back as its message.
func (s *Summary) UnmarshalJSON(data []byte) error {
	j := summaryJSON{summaryFields: (*summaryFields)(s)}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.Err != "" {
		s.Err = errors.New(j.Err)
	}
	return nil
}

// add counts what an executor did into the summary.
func (s *Summary) add(r apply.Report) {
	s.Downloaded += r.Downloaded
	s.Uploaded += r.Uploaded
	s.DeletedLocal += r.DeletedLocal
	s.DeletedRemote += r.DeletedRemote
	s.Conflicts += r.Conflicts
	s.Recorded += r.Recorded
	s.Merged += r.Merged
	s.Skipped = append(s.Skipped, r.Skipped...)
	s.Problems = append(s.Problems, r.Problems...)
	for _, name := range slices.Sorted(maps.Keys(r.Rejected)) {
		s.Rejected = append(s.Rejected, RejectedMessage(filepath.Join(s.Dir, name), r.Rejected[name].Reason))
	}
	if s.Throttled == nil {
		s.Throttled = r.Throttled
	}
}

// RejectedMessage reports that the server refuses file, for reason.
func RejectedMessage(file, reason string) string {
	return file + ": refused by the server, not sent again until the file changes: " + reason
}
