package main

import (
	"testing"

	"github.com/vdird/vdird/internal/testserver"
)

// writeConfig writes a config for srv's account "t" with its calendars
// under root and returns its path.
func writeConfig(t *testing.T, srv *testserver.Server, root string) string {
	t.Helper()
	return mustWrite(t, srv.VdirdConfig(t.TempDir(), "t", root))
}

func mustWrite(t *testing.T, c testserver.VdirdConfig) string {
	t.Helper()
	path, err := c.Write()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

const ev = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
