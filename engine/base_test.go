package engine

import (
	"os"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

// A touched file (same bytes, new mtime) is recorded with its new stat
// fingerprint; the stored base must survive that, or on a server with weak
// ETags the next edit is taken for a conflict with our own earlier upload.
func TestSync_TouchedFileThenEditOnWeakETagServer_EditUploadedNoConflict(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.px.Add(faultproxy.Rule{Action: faultproxy.WeakenETag()})
	want := f.seed("x")
	f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
	f.runOK()

	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(f.File(f.Events, "x.ics"), later, later); err != nil {
		t.Fatal(err)
	}
	f.runOK()

	f.WriteFile(f.Events, "x.ics", event("x", "v3 local edit"))
	s := f.runOK()
	if s.Conflicts != 0 || s.Uploaded != 1 {
		t.Fatalf("edit after a touch: %d conflicts, %d uploaded; want 0 and 1", s.Conflicts, s.Uploaded)
	}
	want["x"] = "v3 local edit"
	f.converged(want)
	f.noConflictCopies("conflict copies of our own edit")
}
