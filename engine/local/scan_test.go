package local

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// countingRecords counts the file names a scan looks up in state.
type countingRecords struct {
	Records
	looked int
}

func (c *countingRecords) ItemsByName(key string, names []string) (map[string]state.Item, error) {
	c.looked += len(names)
	return c.Records.ItemsByName(key, names)
}

const key = "acct/cal/"

func event(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

// recordedFolder makes a folder of n item files and a state that records
// each of them as they are.
func recordedFolder(t *testing.T, n int) (*vdir.Dir, *state.Store) {
	t.Helper()
	d, err := vdir.Create(filepath.Join(t.TempDir(), "cal"), vdir.ICS)
	if err != nil {
		t.Fatal(err)
	}
	files := make([]vdir.NewFile, n)
	for i := range files {
		uid := fmt.Sprintf("f%04d", i)
		files[i] = vdir.NewFile{Name: uid + ".ics", Data: event(uid, "seeded")}
	}
	fps, err := d.WriteBatch(files)
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = store.Update(key, func(tx *state.Tx) error {
		if err := tx.SetCollection(state.Collection{Key: key, Account: "acct", Href: "/cal/", Dir: d.Path()}); err != nil {
			return err
		}
		for i, f := range files {
			it := state.Item{Href: "/cal/" + f.Name, ETag: `"1"`, Name: f.Name, Fingerprint: state.Fingerprint(fps[i]),
				Hash: vdir.Hash(f.Data), UID: f.Name[:5]}
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, store
}

// TestScanChanged_OneEditAndOneNewFile_LooksUpOnlyTheShardsThatDiffer: in a
// folder of 1,000 recorded files, one edit and one new file are found by
// comparing the folder's file sum with state's shard by shard, so only the
// files of the (at most two) shards that differ are looked up in state; a
// scan without the folder's shards looks up every file.
func TestScanChanged_OneEditAndOneNewFile_LooksUpOnlyTheShardsThatDiffer(t *testing.T) {
	const n = 1000
	d, store := recordedFolder(t, n)
	fp, err := d.Stat("f0500.ics")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("f0500.ics", event("f0500", "edited here"), &fp); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("mine.ics", event("mine", "new here"), nil); err != nil {
		t.Fatal(err)
	}
	folder, same := AsRecorded(d.Path(), vdir.ICS, store, key)
	if same || folder.Shards == nil {
		t.Fatalf("AsRecorded after an edit: same %v, shards %v", same, folder.Shards != nil)
	}

	for _, tc := range []struct {
		name     string
		folder   Folder
		maxLooks int
	}{
		{"with the folder's shards", folder, 40}, // about 2 × 1000/256
		{"without", Folder{}, n + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &countingRecords{Records: store}
			scan, ok, err := ScanChanged(d, rec, key, tc.folder)
			if err != nil || !ok {
				t.Fatalf("scan: ok %v, err %v", ok, err)
			}
			var changed []string
			for _, e := range scan.Changed {
				changed = append(changed, e.Name)
			}
			slices.Sort(changed)
			if !slices.Equal(changed, []string{"f0500.ics", "mine.ics"}) || len(scan.ChangedKnown) != 1 || scan.ChangedKnown["f0500.ics"].Name == "" {
				t.Fatalf("changed %v, of them recorded %v", changed, scan.ChangedKnown)
			}
			if rec.looked == 0 || rec.looked > tc.maxLooks {
				t.Fatalf("looked up %d names, want at most %d", rec.looked, tc.maxLooks)
			}
			t.Logf("looked up %d of %d names", rec.looked, n+1)
		})
	}
}

// TestScanChanged_RecordedFileGone_CannotTell: a scan never plans a
// deletion; a recorded file that is missing makes it give up.
func TestScanChanged_RecordedFileGone_CannotTell(t *testing.T) {
	d, store := recordedFolder(t, 50)
	if err := os.Remove(filepath.Join(d.Path(), "f0007.ics")); err != nil {
		t.Fatal(err)
	}
	folder, _ := AsRecorded(d.Path(), vdir.ICS, store, key)
	if _, ok, err := ScanChanged(d, store, key, folder); ok || err != nil {
		t.Fatalf("ok %v, err %v; want a scan that cannot tell", ok, err)
	}
}
