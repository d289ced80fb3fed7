package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/vdird/vdird/internal/statefile"
	"github.com/vdird/vdird/vdir"
)

// record is what vdird keeps of a subscription between fetches, in a JSON
// file beside the state file. It never holds the feed's URL, which may be
// a secret: only its hash, to notice that the URL changed.
type record struct {
	Dir          string    `json:"dir"`
	URLKey       string    `json:"url_key,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	LastAttempt  time.Time `json:"last_attempt,omitzero"`
	LastFetch    time.Time `json:"last_fetch,omitzero"`  // the last fetch that was applied, or answered 304
	LastChange   time.Time `json:"last_change,omitzero"` // the last fetch that changed the folder
	LastError    string    `json:"last_error,omitempty"`
	Refused      string    `json:"refused,omitempty"`
	Problems     []string  `json:"problems,omitempty"` // of the last fetch applied
	// Items are the files written from the feed, by file name.
	Items map[string]*itemRecord `json:"items,omitempty"`
}

// itemRecord is one file written from the feed.
type itemRecord struct {
	UID  string           `json:"uid"`
	Hash string           `json:"hash,omitempty"` // of the feed's version, as written
	FP   vdir.Fingerprint `json:"fp"`
	// Next is the hash of a version about to be written: a file holding it
	// after a crash is vdird's own write, not a local edit.
	Next string `json:"next,omitempty"`
}

// ours tells whether a file with hash h holds what vdird wrote.
func (it *itemRecord) ours(h string) bool {
	return h != "" && (h == it.Hash || h == it.Next)
}

// loadRecord reads the record at path; a missing file is an empty record.
func loadRecord(path string) (*record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &record{Items: map[string]*itemRecord{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): remove it, and the next fetch starts over", path, err)
	}
	if r.Items == nil {
		r.Items = map[string]*itemRecord{}
	}
	return &r, nil
}

// save replaces the record at path atomically and durably.
func (r *record) save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := statefile.Write(path, append(data, '\n')); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

// lock takes the lock beside the record at path, so that two processes
// (the daemon and a `vdird sync`) never work on one subscription at once.
// It waits for the other until ctx ends.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	unlock, err = statefile.Lock(ctx, strings.TrimSuffix(path, ".json")+".lock")
	if err != nil {
		return nil, fmt.Errorf("waiting for another fetch of this subscription: %w", err)
	}
	return unlock, nil
}
