package daemon

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/daemon/control"
	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/engine/restore"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/versions"
)

// startKeepingDaemon runs the daemon on cfg with the versions store vs and
// a control socket, and waits for READY. It returns the socket's path.
func startKeepingDaemon(t *testing.T, cfg *config.Config, vs *versions.Store) string {
	t.Helper()
	store, err := state.Open(cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(shortDir(t), "s")
	ready := make(chan struct{})
	var once sync.Once
	opts := RunOptions{SocketPath: socket, Ready: func() { once.Do(func() { close(ready) }) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
		eng := engine.NewEngine(cfg, store, log)
		eng.HTTPClient = &http.Client{}
		eng.Versions = vs
		if err := Run(ctx, cfg, eng, log, opts); err != nil {
			t.Errorf("Run: %v", err)
		}
		store.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("daemon not ready after 60 s")
	}
	return socket
}

func openStore(t *testing.T, dir string, keep time.Duration) *versions.Store {
	t.Helper()
	vs, err := versions.Open(dir, versions.Options{Retention: versions.Retention{KeepFor: keep}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vs.Close() })
	return vs
}

func TestDaemon_Restore_ThroughTheControlSocket_TheWatcherUploadsIt(t *testing.T) {
	synctest.ForEachServer(t, func(t *testing.T, e *synctest.Env) {
		e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
		e.Srv.Put(t, e.Events+"a.ics", synctest.Event("a", "Alpha"))
		e.Srv.Put(t, e.Events+"b.ics", synctest.Event("b", "Beta"))
		vs := openStore(t, filepath.Join(t.TempDir(), "versions"), 24*time.Hour)
		socket := startKeepingDaemon(t, e.Cfg, vs)
		old := e.ReadFile(e.Events, "a.ics")

		e.Srv.Delete(t, e.Events+"a.ics") // the phone
		ctx := context.Background()
		if _, err := control.Sync(ctx, socket, engine.SyncOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(e.File(e.Events, "a.ics")); !os.IsNotExist(err) {
			t.Fatal("a.ics not deleted after the phone deleted it")
		}
		res, err := control.Restore(ctx, socket, restore.Selection{Collection: "events", File: "a.ics"})
		if err != nil || res.Count(restore.Restored) != 1 {
			t.Fatalf("restore: %+v, %v", res, err)
		}
		if !bytes.Equal(e.ReadFile(e.Events, "a.ics"), old) {
			t.Fatal("a.ics restored with other bytes")
		}
		var members []string
		if !waitFor(10*time.Second, func() bool { members = e.Srv.Members(t, e.Events); return len(members) == 2 }) {
			t.Fatalf("the watcher did not upload the restored file: server holds %v", members)
		}
		if got, _ := e.Srv.Get(t, e.Events+"a.ics"); got == nil {
			t.Fatalf("a.ics not back at its href: %v", members)
		}
	})
}

func TestDaemon_PrunesVersionsPastKeepVersions_AfterTheFirstReconcile(t *testing.T) {
	e := synctest.New(t, "radicale")
	e.Cfg.Interval, e.Cfg.RescanInterval = time.Hour, time.Hour
	e.Srv.Put(t, e.Events+"a.ics", synctest.Event("a", "Alpha"))
	vs := openStore(t, filepath.Join(t.TempDir(), "versions"), 30*24*time.Hour)
	now := time.Now()
	for _, at := range []time.Time{now.Add(-40 * 24 * time.Hour), now.Add(-24 * time.Hour)} {
		v := versions.Version{Data: synctest.Event("a", "Old"), Meta: versions.Meta{Account: "test", Collection: e.Events,
			Folder: "events", UID: "a", File: "a.ics", Side: versions.Local, Reason: versions.DeletedOnServer, Time: at}}
		if err := vs.Save(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	startKeepingDaemon(t, e.Cfg, vs)
	var st versions.Stats
	if !waitFor(10*time.Second, func() bool { st, _ = vs.Stats(); return st.Count == 1 }) {
		t.Fatalf("store holds %d versions, want the one of yesterday", st.Count)
	}
	if st.Oldest.Before(now.Add(-25 * time.Hour)) {
		t.Fatalf("the version left is from %v", st.Oldest)
	}
}
