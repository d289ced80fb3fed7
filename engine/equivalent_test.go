package engine

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ical "github.com/emersion/go-ical"
)

// standup is a daily event with one moved occurrence: the master is
// "Standup" in Room 1, the override "Standup MOVED" in Room 2.
func standup(masterSummary, masterLocation, overrideSummary, overrideLocation string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250106T090000Z\r\n" +
		"DURATION:PT15M\r\nRRULE:FREQ=DAILY;COUNT=10\r\nSUMMARY:" + masterSummary + "\r\nLOCATION:" + masterLocation + "\r\n" +
		"END:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID:20250108T090000Z\r\n" +
		"DTSTART:20250108T130000Z\r\nDURATION:PT15M\r\nSUMMARY:" + overrideSummary + "\r\nLOCATION:" + overrideLocation + "\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n")
}

var (
	standupOriginal    = standup("Standup", "Room 1", "Standup MOVED", "Room 2")
	standupSummarySwap = standup("Standup MOVED", "Room 1", "Standup", "Room 2")
	standupPlaceSwap   = standup("Standup", "Room 2", "Standup MOVED", "Room 1")
)

// occurrences reads an object's SUMMARY and LOCATION per VEVENT, the master
// under "master" and an override under its RECURRENCE-ID, independently of
// the engine's own comparison.
func occurrences(t *testing.T, data []byte) map[string]string {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	out := map[string]string{}
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		key := "master"
		if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
			key = p.Value
		}
		out[key] = c.Props.Get(ical.PropSummary).Value + " @ " + c.Props.Get(ical.PropLocation).Value
	}
	return out
}

func sameOccurrences(t *testing.T, got, want []byte) bool {
	t.Helper()
	g := occurrences(t, got)
	return len(g) > 0 && maps.Equal(g, occurrences(t, want))
}

// conflictCopies returns the contents of name's conflict copies in cal.
func (e *env) conflictCopies(cal, name string) [][]byte {
	e.t.Helper()
	var out [][]byte
	for _, n := range e.LocalNames(cal) {
		if strings.HasPrefix(n, name+".conflict-") {
			out = append(out, e.ReadFile(cal, n))
		}
	}
	return out
}

// checkServerWon checks that after a server-wins conflict on r.ics the file
// holds the server's bytes, the server holds want, the local version local
// is kept in exactly one conflict copy, and a second pass is quiet.
func (e *env) checkServerWon(want, local []byte) {
	t := e.t
	t.Helper()
	server, _ := e.Srv.Get(t, e.Events+"r.ics")
	if !sameOccurrences(t, server, want) {
		t.Errorf("server holds %v, want %v", occurrences(t, server), occurrences(t, want))
	}
	if got := e.ReadFile(e.Events, "r.ics"); !bytes.Equal(got, server) {
		t.Errorf("r.ics holds %v, want the server's version %v", occurrences(t, got), occurrences(t, server))
	}
	copies := e.conflictCopies(e.Events, "r.ics")
	if len(copies) != 1 || !bytes.Equal(copies[0], local) {
		t.Errorf("want one conflict copy holding the local edit %v; folder %v", occurrences(t, local), e.LocalNames(e.Events))
	}
	if s := e.syncIdle("second pass"); s.Recorded != 0 {
		t.Errorf("second pass not quiet: %+v", s)
	}
}

// TestSync_BothSwapBetweenMasterAndOverride_ServerWinsKeepsLocalAsConflictCopy:
// the local edit swaps SUMMARY between the master and its override, the phone
// swaps LOCATION. Each side holds the other's lines in another place, which is
// not the same content: without merging, the policy decides the whole item.
func TestSync_BothSwapBetweenMasterAndOverride_ServerWinsKeepsLocalAsConflictCopy(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Cfg.Accounts[0].Merge = false
		e.Srv.Put(t, e.Events+"r.ics", standupOriginal)
		if s := e.syncOK()[e.Events]; s.Downloaded != 1 {
			t.Fatalf("first pass: %+v", s)
		}
		e.WriteFile(e.Events, "r.ics", standupSummarySwap)
		e.Srv.Put(t, e.Events+"r.ics", standupPlaceSwap)

		s := e.syncOK()[e.Events]
		if s.Conflicts != 1 || s.Uploaded != 0 {
			t.Fatalf("want one conflict, server wins: %+v", s)
		}
		e.checkServerWon(standupPlaceSwap, standupSummarySwap)
	})
}

// TestSync_BothSwapBetweenMasterAndOverride_MergedBothSwapsKept: the same
// edits merged, component by component: the master and the override each
// get the local SUMMARY and the phone's LOCATION, on both sides, with no
// conflict copy.
func TestSync_BothSwapBetweenMasterAndOverride_MergedBothSwapsKept(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"r.ics", standupOriginal)
		e.syncOK()
		e.WriteFile(e.Events, "r.ics", standupSummarySwap)
		e.Srv.Put(t, e.Events+"r.ics", standupPlaceSwap)

		s := e.syncOK()[e.Events]
		if s.Merged != 1 || s.Conflicts != 0 || s.Uploaded != 1 {
			t.Fatalf("want one clean merge, uploaded: %+v", s)
		}
		want := standup("Standup MOVED", "Room 2", "Standup", "Room 1")
		server, _ := e.Srv.Get(t, e.Events+"r.ics")
		if file := e.ReadFile(e.Events, "r.ics"); !sameOccurrences(t, file, want) || !sameOccurrences(t, server, want) {
			t.Errorf("want both swaps %v on both sides; file %v, server %v", occurrences(t, want), occurrences(t, file), occurrences(t, server))
		}
		if copies := e.conflictCopies(e.Events, "r.ics"); len(copies) != 0 {
			t.Errorf("a clean merge kept %d conflict copies", len(copies))
		}
		if s := e.syncIdle("second pass"); s.Recorded != 0 {
			t.Errorf("second pass not quiet: %+v", s)
		}
	})
}

// TestSync_FirstContactSwapBetweenMasterAndOverride_ServerWinsKeepsLocalAsConflictCopy:
// the server holds the original and a folder synced for the first time holds
// the same UID with SUMMARY swapped between master and override.
func TestSync_FirstContactSwapBetweenMasterAndOverride_ServerWinsKeepsLocalAsConflictCopy(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		e.Srv.Put(t, e.Events+"r.ics", standupOriginal)
		if err := os.MkdirAll(filepath.Join(e.Root, calDir(e.Events)), 0o700); err != nil {
			t.Fatal(err)
		}
		e.WriteFile(e.Events, "r.ics", standupSummarySwap)

		s := e.syncOK()[e.Events]
		if s.Conflicts != 1 || s.Uploaded != 0 {
			t.Fatalf("want one conflict, server wins: %+v", s)
		}
		e.checkServerWon(standupOriginal, standupSummarySwap)
	})
}
