// Package versions keeps the versions of items that sync replaces or
// deletes: the bytes of a local file or a server object that disappeared,
// with the collection, UID, href, file name, side, reason, pass and time.
// A mistake carried to the other side can then be undone from here.
//
// The store is plain files under one directory, one file per version and
// one append-only index per UTC day (docs/design.md, "The versions store").
// A version exists exactly when its file does; the index only makes
// listing cheap and is repaired from the files. Writers take a lock file,
// so a daemon and a CLI process can share the store. Nothing here reads
// the clock: times come from the caller.
package versions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of the retention settings (keep_versions, versions_max_size).
const (
	DefaultKeepFor  = 30 * 24 * time.Hour
	DefaultMaxBytes = 200_000_000
)

// Side says whose copy of the item a version is.
type Side string

// The two sides of a sync.
const (
	Local  Side = "local"  // the file in the folder
	Server Side = "server" // the object on the server
)

// Reason says why a version was replaced. The constants are the ones vdird
// uses; any other non-empty value is stored and described as it is.
type Reason string

// Why sync replaced an item.
const (
	DeletedOnServer     Reason = "deleted-on-server"      // the file was deleted because the server's item was
	OverwrittenByServer Reason = "overwritten-by-server"  // the file was overwritten by a server change
	DeletedLocally      Reason = "deleted-locally"        // the server's item was removed because its file was deleted
	OverwrittenByLocal  Reason = "overwritten-by-local"   // the server's item was overwritten by a local edit
	MassDeleteConfirmed Reason = "mass-delete-confirmed"  // removed by a mass delete confirmed with --allow-mass-delete
	Conflict            Reason = "conflict"               // replaced when a conflict was resolved
	Restored            Reason = "overwritten-by-restore" // replaced by a restore of an older version
	Merged              Reason = "merged"                 // replaced by the merge of both sides' edits
)

var reasonText = map[Reason]string{
	DeletedOnServer:     "deleted on server",
	OverwrittenByServer: "overwritten by server change",
	DeletedLocally:      "deleted locally, removed from server",
	OverwrittenByLocal:  "overwritten by local edit",
	MassDeleteConfirmed: "removed by mass-delete confirm",
	Conflict:            "replaced in a conflict",
	Restored:            "overwritten by restore",
	Merged:              "replaced by a merge of both sides' edits",
}

// Describe is the reason in words, as `vdird history` shows it.
func (r Reason) Describe() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return strings.ReplaceAll(string(r), "-", " ")
}

// Meta describes one version.
type Meta struct {
	Account    string // required
	Collection string // the collection's href
	Folder     string // the collection's folder name
	UID        string
	Href       string // the item's href on the server
	File       string // the item's file name in the folder
	Side       Side   // required: whose copy disappeared
	Reason     Reason // required
	Pass       string // the pass that replaced it, as the engine names passes
	Time       time.Time
	// Summary is the item's SUMMARY (events, tasks, journal entries) or FN
	// (contacts). Save reads it from the bytes when it is empty.
	Summary string
}

// Version is a version to keep: its description and its bytes, verbatim.
type Version struct {
	Meta
	Data []byte
}

// Entry is a kept version without its bytes.
type Entry struct {
	ID string // names the version for Read
	Meta
	Size int64 // length of the bytes
}

// Retention is how long and how much is kept.
type Retention struct {
	// KeepFor is how long a version is kept after its Time. 0 keeps
	// nothing: Save stores nothing and Prune removes what is there.
	KeepFor time.Duration
	// MaxBytes caps the bytes of the versions it applies to; beyond it the
	// oldest go first. 0 sets no cap.
	MaxBytes int64
}

// Options configure a Store. The top-level Retention applies to accounts
// not in Accounts, and its MaxBytes caps the whole store. An account's own
// Retention replaces KeepFor for its versions, and its MaxBytes caps its
// versions on top of the store's cap.
type Options struct {
	Retention
	Accounts map[string]Retention
}

// DefaultOptions keep versions for 30 days in at most 200 MB.
func DefaultOptions() Options {
	return Options{Retention: Retention{KeepFor: DefaultKeepFor, MaxBytes: DefaultMaxBytes}}
}

// Errors callers branch on.
var (
	// ErrNoSpace: the store's filesystem is full (or over quota).
	ErrNoSpace = errors.New("no space left for versions")
	// ErrNotFound: no version has this ID (it may have been pruned).
	ErrNotFound = errors.New("no such version")
)

// SaveError is why one version could not be kept. The caller must then
// not carry out the change that would replace that item.
type SaveError struct {
	Item string // account, folder, file name and UID of the item
	Err  error
}

func (e *SaveError) Error() string {
	return fmt.Sprintf("keep the version of %s: %v", e.Item, e.Err)
}

func (e *SaveError) Unwrap() error { return e.Err }

// BatchError reports the versions SaveBatch could not keep: Errs[i] is the
// *SaveError of the i-th version, nil for those kept.
type BatchError struct {
	Errs []error
}

func (e *BatchError) Error() string {
	var b strings.Builder
	n := 0
	for _, err := range e.Errs {
		if err == nil {
			continue
		}
		if n++; n > 1 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return fmt.Sprintf("keep versions: %d of %d failed: %s", n, len(e.Errs), b.String())
}

func (e *BatchError) Unwrap() []error { return e.Errs }

// Store is an open versions store. Its methods are safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	// sem admits one writer of this Store at a time; lockFile's flock
	// admits one writer process (or Store) at a time.
	sem      chan struct{}
	lockFile *os.File
}

// Open opens the store in dir, creating it (mode 0700) when missing, and
// repairs what a crash left: temp files, torn index lines, index entries
// without a file and files without an index entry.
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	s := &Store{dir: dir, opts: opts, sem: make(chan struct{}, 1), lockFile: lf}
	if _, _, err := s.repairAll(context.Background(), false); err != nil {
		lf.Close()
		return nil, err
	}
	return s, nil
}

func (o Options) check() error {
	check := func(who string, r Retention) error {
		if r.KeepFor < 0 || r.MaxBytes < 0 {
			return fmt.Errorf("%s: negative retention %v / %d bytes", who, r.KeepFor, r.MaxBytes)
		}
		return nil
	}
	if err := check("store", o.Retention); err != nil {
		return err
	}
	for name, r := range o.Accounts {
		if err := check("account "+name, r); err != nil {
			return err
		}
	}
	return nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the store's lock file.
func (s *Store) Close() error { return s.lockFile.Close() }

// Keeps reports whether versions of account are kept at all, so a caller
// can skip reading bytes that would not be stored.
func (s *Store) Keeps(account string) bool { return s.retention(account).KeepFor > 0 }

func (s *Store) retention(account string) Retention {
	if r, ok := s.opts.Accounts[account]; ok {
		return r
	}
	return s.opts.Retention
}

// acquire takes the writer lock: first this Store's, then the lock file's
// flock. It gives up when ctx ends.
func (s *Store) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("versions: lock: %w", ctx.Err())
	}
	wait := time.Millisecond
	for {
		err := unix.Flock(int(s.lockFile.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			<-s.sem
			return nil, fmt.Errorf("versions: lock %s: %w", s.lockFile.Name(), err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			<-s.sem
			return nil, fmt.Errorf("versions: lock: %w", ctx.Err())
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
	return func() {
		_ = unix.Flock(int(s.lockFile.Fd()), unix.LOCK_UN)
		<-s.sem
	}, nil
}
