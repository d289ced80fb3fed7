package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/vdir"
)

// TestSync_StagedFilesDamagedByACrash_FetchedAgainNeverPublishedWrong
// stands for a power cut during a first download: staged files are
// recorded before they are flushed, so their bytes may be lost. After an
// interrupted download one recorded file is truncated, one emptied and
// one holds other bytes of the same size under the same fingerprint. The
// resume fetches those three again with the rest, uploads and deletes
// nothing, and publishes a folder equal to the server.
func TestSync_StagedFilesDamagedByACrash_FetchedAgainNeverPublishedWrong(t *testing.T) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) {
		f := withFaultProxy(t, &env{Env: synctest.On(t, srv), t: t})
		const n = 1000
		cal := f.seedOnly("torn", n, "d%04d", "server")
		f.Events = cal
		first := f.interruptedFirstSync(cal, 0.6).Downloaded
		staged := f.hidden(cal, first)
		stage := vdir.StagePath(filepath.Join(f.Root, calDir(cal)))
		damage := map[string]func([]byte) []byte{
			staged[0]: func(b []byte) []byte { return b[:len(b)/2] },
			staged[1]: func([]byte) []byte { return nil },
			staged[2]: func(b []byte) []byte { return bytes.Replace(b, []byte("SUMMARY:server"), []byte("SUMMARY:SERVER"), 1) },
		}
		for name, fn := range damage {
			path := filepath.Join(stage, name)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Rewritten in place with the old mtime: same inode and time,
			// and for the third file the same size.
			if err := os.WriteFile(path, fn(data), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}

		objects := f.countObjects()
		f.px.Take()
		s := f.runOK()
		fetch := n - first + len(damage)
		if s.Strategy != plan.ResumeFirstDownload || s.Downloaded != fetch ||
			s.Uploaded+s.DeletedLocal+s.DeletedRemote+s.Conflicts != 0 {
			t.Fatalf("resume after %d of %d with %d damaged files: want %d downloads and nothing else, got %+v", first, n, len(damage), fetch, s)
		}
		if got := objects.Load(); got != int64(fetch) {
			t.Errorf("the server sent %d objects, want the %d missing or damaged", got, fetch)
		}
		if w := writes(f.px.Take()); len(w) > 0 {
			t.Errorf("the resume wrote to the server: %+v", w)
		}
		want := map[string]string{}
		for i := range n {
			want[fmt.Sprintf("d%04d", i)] = "server"
		}
		f.px.Clear()
		f.converged(want)
		f.idle()
	})
}
