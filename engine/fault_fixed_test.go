package engine

// Strict versions of three fault tests: no conflict copy of our own write
// after a lost PUT answer, no conflict from a weak ETag on a plain edit (nor
// on an edit after a touch), and no invalid server data written to the
// folder.

import (
	"bytes"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/testserver"
)

func TestFault_WriteAcceptedAnswerLost_NoSpuriousConflictCopy(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		want := f.editAndCreateLocally()
		f.px.Add(faultproxy.Rule{Method: "PUT", Action: faultproxy.LoseAnswer()})
		f.run(SyncOptions{})
		f.clearAndConverge(want)
		f.noConflictCopies("spurious conflict copies of our own write")
	})
}

// weakETagsLocalEdit starts a fault env on Radicale whose ETags all come
// weak, syncs x down and edits it in the folder. It returns the env and
// what server and folder hold once the edit is synced.
func weakETagsLocalEdit(t *testing.T) (*fenv, map[string]string) {
	t.Helper()
	f := newFaultEnv(t, testserver.Radicale)
	f.px.Add(faultproxy.Rule{Action: faultproxy.WeakenETag()})
	want := f.seed("x")
	f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
	want["x"] = "v2 local"
	return f, want
}

func TestFault_WeakETags_LocalEditReachesServer(t *testing.T) {
	f, want := weakETagsLocalEdit(t)
	f.run(SyncOptions{})
	f.run(SyncOptions{})
	f.converged(want)
	f.noConflictCopies("weak ETag turned a local edit into a conflict copy")
}

// A touched file (same bytes, new mtime) is recorded with its new stat
// fingerprint; the stored base must survive that, or on a server with weak
// ETags the next edit is taken for a conflict with our own earlier upload.
func TestSync_TouchedFileThenEditOnWeakETagServer_EditUploadedNoConflict(t *testing.T) {
	f, want := weakETagsLocalEdit(t)
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

func TestFault_CalendarDataNotICalendar_NotWrittenAndRepairedLater(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.Srv.Put(t, f.Events+"good.ics", event("good", "v1"))
	f.Srv.Put(t, f.Events+"bad.ics", event("bad", "v1"))
	f.px.Add(faultproxy.Rule{Action: faultproxy.RewriteBody(func(r *http.Request, b []byte) []byte {
		return calDataRe.ReplaceAllFunc(b, func(m []byte) []byte {
			if !bytes.Contains(m, []byte("UID:bad")) {
				return m
			}
			s := calDataRe.FindSubmatch(m)
			return append(append(append([]byte{}, s[1]...), "&lt;html&gt;oops&lt;/html&gt;"...), s[2]...)
		})
	})})
	s := f.eventsOf(f.run(SyncOptions{}))
	if len(s.Problems) == 0 || !strings.Contains(strings.Join(s.Problems, " "), "bad.ics") {
		t.Errorf("invalid server data not reported: %+v", s)
	}
	f.clearAndConverge(map[string]string{"good": "v1", "bad": "v1"})
}

var getetagRe = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?getetag>[^<]*</(?:[A-Za-z0-9]+:)?getetag>`)

// TestFault_ServerWithoutETags_NeverWritesBlind: a server that gives no
// ETags at all leaves nothing to make a write conditional on. Items still
// come down (content hashes stand in as pseudo-ETags), and a local edit is
// kept and reported, never PUT without a precondition.
func TestFault_ServerWithoutETags_NeverWritesBlind(t *testing.T) {
	f := newFaultEnv(t, testserver.Radicale)
	f.Srv.Put(t, f.Events+"x.ics", event("x", "v1"))
	f.px.Add(faultproxy.Rule{Action: faultproxy.RewriteBody(func(r *http.Request, b []byte) []byte {
		return getetagRe.ReplaceAll(b, nil)
	})})
	f.px.Add(faultproxy.Rule{Action: faultproxy.DropETag()})
	if s := f.eventsOf(f.run(SyncOptions{})); s.Downloaded != 1 {
		t.Fatalf("first pass: %+v", s)
	}
	f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
	f.px.Take()
	s := f.eventsOf(f.run(SyncOptions{}))
	for _, r := range writes(f.px.Take()) {
		if r.IfMatch == "" && r.IfNoneMatch == "" {
			t.Fatalf("blind write: %+v", r)
		}
	}
	if !strings.Contains(strings.Join(s.Problems, " "), "no ETag") {
		t.Fatalf("local change not reported: %+v", s)
	}
	if summaryOf(f.ReadFile(f.Events, "x.ics")) != "v2 local" {
		t.Fatal("local edit lost")
	}
}
