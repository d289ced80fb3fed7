package pass

// A state commit that fails in the middle of a pass (a full disk under the
// state file): the pass must fail, and the calendar's change markers must
// not move past the results it could not record.

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/state"
)

func TestPass_BatchCommitFails_PassFailsAndMarkersStay(t *testing.T) {
	store, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cal := davclient.Calendar{Href: "/cal/", SyncToken: "T2"}
	col := state.Collection{Key: "test" + cal.Href, Account: "test", Href: cal.Href, Dir: t.TempDir(),
		Marker: "sync-token T1", SyncToken: "T1"}
	if err := store.Update(col.Key, func(tx *state.Tx) error { return tx.SetCollection(col) }); err != nil {
		t.Fatal(err)
	}
	env := Env{Store: store, Log: zerolog.New(io.Discard), Now: time.Now}
	p := &pass{env: env, account: "test", cal: cal, key: col.Key, col: col, s: &Summary{}, rec: &apply.Recorder{Store: store, Key: col.Key, Col: col}}

	// A full batch whose commit fails (as bbolt's does on a full disk).
	for i := range apply.BatchSize - 1 {
		it := state.Item{Href: fmt.Sprintf("/cal/%d.ics", i), ETag: `"1"`, Name: fmt.Sprintf("%d.ics", i)}
		p.rec.Queue(func(tx *state.Tx) error { return tx.PutItem(it) })
	}
	p.rec.Queue(func(*state.Tx) error { return errors.New("no space left on device") })
	err = p.finish("T2", false)

	got, _, _ := store.Collection(col.Key)
	items, _ := store.Items(col.Key)
	t.Logf("finish: %v; markers %q %q; %d items recorded", err, got.Marker, got.SyncToken, len(items))
	if err == nil {
		t.Fatal("a failed batch commit went unreported: finish succeeded")
	}
	if got.Marker != col.Marker || got.SyncToken != col.SyncToken {
		t.Fatalf("the change markers advanced past unrecorded results: %q %q", got.Marker, got.SyncToken)
	}
}
