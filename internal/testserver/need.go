package testserver

import (
	"fmt"
	"os"
	"testing"
)

// Unavailable stops a test that lacks something it needs (a tool, root's
// mount rights): on CI (the CI environment variable set) the test fails,
// since CI must run everything; elsewhere it is skipped with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
