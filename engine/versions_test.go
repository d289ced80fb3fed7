package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/engine/restore"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/versions"
)

// venv is a fixture whose passes keep versions in a store under dir.
type venv struct {
	*synctest.Env
	t   *testing.T
	dir string
}

func newVersionsEnv(t *testing.T, e *synctest.Env) *venv {
	return &venv{Env: e, t: t, dir: filepath.Join(t.TempDir(), "versions")}
}

// sync runs one pass with a fresh engine, state store and versions store.
func (v *venv) sync(opts SyncOptions) []*Summary {
	v.t.Helper()
	store, err := state.Open(v.Cfg.StatePath)
	if err != nil {
		v.t.Fatal(err)
	}
	defer store.Close()
	vs := v.store()
	defer vs.Close()
	eng := NewEngine(v.Cfg, store, zerolog.New(io.Discard))
	eng.HTTPClient = v.Client()
	eng.Versions = vs
	return eng.Sync(context.Background(), opts)
}

func (v *venv) store() *versions.Store {
	v.t.Helper()
	vs, err := versions.Open(v.dir, versions.DefaultOptions())
	if err != nil {
		v.t.Fatal(err)
	}
	return vs
}

// kept lists the versions kept, by file name (the href's for a server
// version without a file), with their bytes.
func (v *venv) kept() map[string]keptVersion {
	v.t.Helper()
	vs := v.store()
	defer vs.Close()
	es, err := vs.List(versions.Filter{})
	if err != nil {
		v.t.Fatal(err)
	}
	out := map[string]keptVersion{}
	for _, e := range es {
		data, _, err := vs.Read(e.ID)
		if err != nil {
			v.t.Fatal(err)
		}
		if _, dup := out[e.File]; dup {
			v.t.Fatalf("two versions of %s: %+v", e.File, es)
		}
		out[e.File] = keptVersion{e, data}
	}
	return out
}

type keptVersion struct {
	versions.Entry
	data []byte
}

func (v *venv) syncClean(opts SyncOptions) *Summary {
	v.t.Helper()
	var out *Summary
	for _, s := range v.sync(opts) {
		if s.Failed() {
			v.t.Fatalf("%s failed: err=%v refused=%q problems=%v", s.Calendar, s.Err, s.Refused, s.Problems)
		}
		if s.Href == v.Events {
			out = s
		}
	}
	return out
}

// check asserts the version of file: side, reason, bytes and what it
// says of the item.
func (k keptVersion) check(t *testing.T, side versions.Side, reason versions.Reason, data []byte, cal, uid string) {
	t.Helper()
	if k.Side != side || k.Reason != reason || !bytes.Equal(k.data, data) {
		t.Errorf("%s: kept %s/%s %q, want %s/%s %q", k.File, k.Side, k.Reason, k.data, side, reason, data)
	}
	if k.Account != "test" || k.Collection != cal || k.Folder != synctest.CalDir(cal) || k.UID != uid ||
		k.Href != cal+uid+".ics" || k.Pass == "" || k.Time.IsZero() {
		t.Errorf("%s: kept with %+v", k.File, k.Meta)
	}
}

func TestSync_Versions_WhatEachSideReplacesIsKeptVerbatim_FirstDownloadKeepsNothing(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, se *synctest.Env) {
		v := newVersionsEnv(t, se)
		for _, u := range []string{"srvedit", "srvdel", "locedit", "locdel", "same"} {
			v.Srv.Put(t, v.Events+u+".ics", synctest.Event(u, "Before "+u))
		}
		v.syncClean(SyncOptions{})
		if k := v.kept(); len(k) != 0 {
			t.Fatalf("first download kept %d versions", len(k))
		}
		fileEdit, fileDel := v.ReadFile(v.Events, "srvedit.ics"), v.ReadFile(v.Events, "srvdel.ics")
		srvEdit, _ := v.Srv.Get(t, v.Events+"locedit.ics")
		srvDel, _ := v.Srv.Get(t, v.Events+"locdel.ics")

		v.Srv.Put(t, v.Events+"srvedit.ics", synctest.Event("srvedit", "Phone edit"))
		v.Srv.Delete(t, v.Events+"srvdel.ics")
		v.WriteFile(v.Events, "locedit.ics", synctest.Event("locedit", "Laptop edit"))
		if err := os.Remove(v.File(v.Events, "locdel.ics")); err != nil {
			t.Fatal(err)
		}
		s := v.syncClean(SyncOptions{})
		if s.Downloaded != 1 || s.Uploaded != 1 || s.DeletedLocal != 1 || s.DeletedRemote != 1 {
			t.Fatalf("pass: %+v", s)
		}
		k := v.kept()
		if len(k) != 4 {
			t.Fatalf("kept %d versions, want 4: %v", len(k), k)
		}
		k["srvedit.ics"].check(t, versions.Local, versions.OverwrittenByServer, fileEdit, v.Events, "srvedit")
		k["srvdel.ics"].check(t, versions.Local, versions.DeletedOnServer, fileDel, v.Events, "srvdel")
		k["locedit.ics"].check(t, versions.Server, versions.OverwrittenByLocal, srvEdit, v.Events, "locedit")
		k["locdel.ics"].check(t, versions.Server, versions.DeletedLocally, srvDel, v.Events, "locdel")
		pass := k["srvedit.ics"].Pass
		for _, kv := range k {
			if kv.Pass != pass {
				t.Errorf("one pass kept versions under %q and %q", pass, kv.Pass)
			}
		}

		v.syncClean(SyncOptions{})
		if n := len(v.kept()); n != 4 {
			t.Fatalf("an idle pass kept more: %d versions", n)
		}
	})
}

func TestSync_Versions_ConfirmedMassDeletes_KeptAsMassDeleteConfirmed(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, se *synctest.Env) {
		v := newVersionsEnv(t, se)
		v.Cfg.Accounts[0].Calendars = []string{v.Events}
		onServer := map[string][]byte{}
		for i := range 10 {
			u := fmt.Sprintf("ev%d", i)
			v.Srv.Put(t, v.Events+u+".ics", synctest.Event(u, "Event "+u))
			onServer[u], _ = v.Srv.Get(t, v.Events+u+".ics")
		}
		v.syncClean(SyncOptions{})
		for i := range 8 {
			if err := os.Remove(v.File(v.Events, fmt.Sprintf("ev%d.ics", i))); err != nil {
				t.Fatal(err)
			}
		}
		if s := v.sync(SyncOptions{})[0]; s.Refused == "" {
			t.Fatalf("8 of 10 deleted and not refused: %+v", s)
		}
		if n := len(v.kept()); n != 0 {
			t.Fatalf("a refused pass kept %d versions", n)
		}
		if s := v.syncClean(SyncOptions{AllowMassDelete: true}); s.DeletedRemote != 8 {
			t.Fatalf("confirmed: %+v", s)
		}
		k := v.kept()
		if len(k) != 8 {
			t.Fatalf("kept %d versions, want 8", len(k))
		}
		for i := range 8 {
			u := fmt.Sprintf("ev%d", i)
			k[u+".ics"].check(t, versions.Server, versions.MassDeleteConfirmed, onServer[u], v.Events, u)
		}

		// The server loses the last two and two new ones come: 2 of 4
		// deleted is no mass delete, even when confirmed.
		v.Srv.Put(t, v.Events+"n1.ics", synctest.Event("n1", "New"))
		v.Srv.Put(t, v.Events+"n2.ics", synctest.Event("n2", "New"))
		v.syncClean(SyncOptions{})
		v.Srv.Delete(t, v.Events+"ev8.ics")
		v.Srv.Delete(t, v.Events+"n1.ics")
		v.syncClean(SyncOptions{AllowMassDelete: true})
		k = v.kept()
		if k["ev8.ics"].Reason != versions.DeletedOnServer || k["n1.ics"].Reason != versions.DeletedOnServer {
			t.Fatalf("ordinary deletions in a confirmed pass: %+v / %+v", k["ev8.ics"].Meta, k["n1.ics"].Meta)
		}
	})
}

// smallDisk mounts a tmpfs of size on a fresh directory for the test.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		testserver.Unavailable(t, "cannot mount a tmpfs on %s (%v): the disk-full tests need root with mount rights", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func TestSync_Versions_DiskFull_ThatItemNotChangedAndReported_OthersSynced_NothingLost(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, se *synctest.Env) {
		v := newVersionsEnv(t, se)
		mnt := smallDisk(t, "64k")
		v.dir = filepath.Join(mnt, "versions")
		v.Cfg.Accounts[0].Calendars = []string{v.Events}
		big := synctest.Event("big", "Big "+strings.Repeat("x", 100_000))
		v.Srv.Put(t, v.Events+"big.ics", big)
		v.Srv.Put(t, v.Events+"small.ics", synctest.Event("small", "Small"))
		v.syncClean(SyncOptions{})
		bigFile, smallFile := v.ReadFile(v.Events, "big.ics"), v.ReadFile(v.Events, "small.ics")

		v.Srv.Put(t, v.Events+"big.ics", synctest.Event("big", "Big edited on the phone"))
		v.Srv.Put(t, v.Events+"small.ics", synctest.Event("small", "Small edited on the phone"))
		s := v.sync(SyncOptions{})[0]
		if s.Err != nil || s.Downloaded != 1 || len(s.Problems) != 1 ||
			!strings.Contains(s.Problems[0], "big.ics") || !strings.Contains(s.Problems[0], "no space left for versions") {
			t.Fatalf("pass: err=%v downloaded=%d problems=%q %+v kept %v", s.Err, s.Downloaded, s.Problems, s, v.kept())
		}
		if got := v.ReadFile(v.Events, "big.ics"); !bytes.Equal(got, bigFile) {
			t.Fatal("big.ics overwritten though its version could not be kept")
		}
		k := v.kept()
		if len(k) != 1 || !bytes.Equal(k["small.ics"].data, smallFile) {
			t.Fatalf("kept %v, want small.ics only", k)
		}

		// Room again: the next pass keeps big.ics's version and downloads.
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, "size=1m,mode=0700"); err != nil {
			t.Fatal(err)
		}
		if s := v.syncClean(SyncOptions{}); s.Downloaded != 1 {
			t.Fatalf("after the disk has room: %+v", s)
		}
		k = v.kept()
		if !bytes.Equal(k["big.ics"].data, bigFile) || !bytes.Contains(v.ReadFile(v.Events, "big.ics"), []byte("edited on the phone")) {
			t.Fatalf("big.ics: kept %d bytes, file %q", len(k["big.ics"].data), v.ReadFile(v.Events, "big.ics"))
		}
	})
}

// TestSync_Versions_AddressBook_CardTheServerReplacedKeptUnderItsName_RestoredIntoTheBook:
// a card the phone renamed is kept, named by its FN, and a restore writes
// it back into the address book's folder, from which the next pass
// uploads it.
func TestSync_Versions_AddressBook_CardTheServerReplacedKeptUnderItsName_RestoredIntoTheBook(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, se *synctest.Env) {
		v := newVersionsEnv(t, se)
		book := v.AddAddressBook("contacts", "Contacts")
		v.Srv.Put(t, book+"ann.vcf", synctest.Card("4.0", "ann", "Ann Four"))
		v.sync(SyncOptions{})
		before := v.ReadFile(book, "ann.vcf")
		v.Srv.Put(t, book+"ann.vcf", synctest.Card("4.0", "ann", "Ann Renamed"))
		v.sync(SyncOptions{})

		k, ok := v.kept()["ann.vcf"]
		if !ok || k.Side != versions.Local || k.Reason != versions.OverwrittenByServer || !bytes.Equal(k.data, before) ||
			k.Summary != "Ann Four" || k.UID != "ann" || k.Collection != book {
			t.Fatalf("kept %+v (ok %v)", k.Entry, ok)
		}

		store, err := state.Open(v.Cfg.StatePath)
		if err != nil {
			t.Fatal(err)
		}
		vs := v.store()
		eng := NewEngine(v.Cfg, store, zerolog.New(io.Discard))
		eng.Versions = vs
		res, err := eng.Restore(context.Background(), restore.Selection{UID: "ann"})
		vs.Close()
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) != 1 || res.Items[0].Outcome != restore.Restored || res.Items[0].Path != v.File(book, "ann.vcf") {
			t.Fatalf("restore: %+v", res.Items)
		}
		if got := v.ReadFile(book, "ann.vcf"); !bytes.Equal(got, before) {
			t.Errorf("the card holds %q, want the kept version", got)
		}
		for _, s := range v.sync(SyncOptions{}) {
			if s.Href == book && s.Uploaded != 1 {
				t.Errorf("the pass after the restore: %+v, want the card uploaded", s)
			}
		}
		if on, _ := v.Srv.Get(t, book+"ann.vcf"); !bytes.Contains(on, []byte("FN:Ann Four")) {
			t.Errorf("the server holds %q", on)
		}
	})
}

func TestSync_Versions_MergeOfBothSidesEdits_KeepsTheFileAndTheServerItemItReplaced(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, se *synctest.Env) {
		v := newVersionsEnv(t, se)
		href := v.Events + "m.ics"
		v.Srv.Put(t, href, threeProps("m", "Title", "Room 1", "Notes"))
		v.syncClean(SyncOptions{})
		v.WriteFile(v.Events, "m.ics", threeProps("m", "Laptop title", "Room 1", "Notes"))
		v.Srv.Put(t, href, threeProps("m", "Title", "Phone room", "Notes"))
		fileBefore := v.ReadFile(v.Events, "m.ics")
		srvBefore, _ := v.Srv.Get(t, href)

		if s := v.syncClean(SyncOptions{}); s.Merged != 1 || s.Conflicts != 0 {
			t.Fatalf("want one clean merge: %+v", s)
		}
		vs := v.store()
		defer vs.Close()
		es, err := vs.List(versions.Filter{UID: "m"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[versions.Side][]byte{}
		for _, e := range es {
			data, _, err := vs.Read(e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.Reason != versions.Merged || got[e.Side] != nil {
				t.Errorf("kept %+v", e.Meta)
			}
			got[e.Side] = data
		}
		if len(es) != 2 || !bytes.Equal(got[versions.Local], fileBefore) || !bytes.Equal(got[versions.Server], srvBefore) {
			t.Errorf("kept %d versions: local %q, server %q; want the file and the server item the merge replaced", len(es), got[versions.Local], got[versions.Server])
		}
	})
}
