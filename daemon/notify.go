package daemon

import (
	"fmt"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/vdird/vdird/engine"
)

// notifier speaks the sd_notify protocol (sd_notify(3)) to the service
// manager. Without NOTIFY_SOCKET every call is a cheap no-op, so the loop
// calls it unconditionally.
type notifier struct {
	// send is sd.SdNotify; errors are returned, never logged here.
	send func(state string) error
	// watchdog is half of WatchdogSec, 0 when the watchdog is off.
	watchdog time.Duration
}

func newNotifier() *notifier {
	n := &notifier{send: func(state string) error {
		_, err := sd.SdNotify(false, state)
		return err
	}}
	// SdWatchdogEnabled checks WATCHDOG_PID against our pid, so a child
	// process never pings for its parent. Ping at half the interval as
	// sd_watchdog_enabled(3) recommends.
	if d, err := sd.SdWatchdogEnabled(false); err == nil && d > 0 {
		n.watchdog = d / 2
	}
	return n
}

func (n *notifier) ready() error    { return n.send(sd.SdNotifyReady) }
func (n *notifier) stopping() error { return n.send(sd.SdNotifyStopping) }
func (n *notifier) reloading() error {
	// RELOADING=1 needs MONOTONIC_USEC on newer systemd for Type=notify-reload;
	// for Type=notify it is informational and READY=1 ends it.
	return n.send(sd.SdNotifyReloading)
}
func (n *notifier) ping() error { return n.send(sd.SdNotifyWatchdog) }
func (n *notifier) status(s string) error {
	return n.send("STATUS=" + s)
}

// extendStart asks for more start-up time while the first reconcile of a big
// calendar is still running, so TimeoutStartSec does not kill a healthy start
// (systemd ≥ 236 honours EXTEND_TIMEOUT_USEC, older ones ignore it).
func (n *notifier) extendStart(d time.Duration) error {
	return n.send(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds()))
}

// collections counts the calendars and address books the daemon syncs.
type collections struct{ calendars, books int }

// String is e.g. "2 calendars, 1 address book", a kind with none left out;
// "0 calendars" when there is nothing at all.
func (n collections) String() string {
	var parts []string
	if n.calendars > 0 || n.books == 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n.calendars, plural(n.calendars, "calendar", "calendars")))
	}
	if n.books > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n.books, plural(n.books, "address book", "address books")))
	}
	return strings.Join(parts, ", ")
}

// statusLine is the STATUS= text shown by `systemctl --user status vdird`,
// e.g. "2 calendars, 1 address book, last sync 12:01:05, 0 errors" (a kind
// with none left out), led by each failing
// account: "work failing since 11:40:02 (4 attempts): PROPFIND
// https://…: authentication failed for alice (401 Unauthorized); ". Times
// of another day than now carry their date. Conflicts waiting to be
// settled (their copies) end it: ", 2 conflicts".
func statusLine(n collections, last time.Time, errs, conflicts int, failing []engine.CalendarStatus, now time.Time) string {
	var b strings.Builder
	for _, f := range failing {
		fmt.Fprintf(&b, "%s failing since %s (%d %s): %s; ", f.Account, clock(f.FailingSince, now), f.Attempts,
			plural(f.Attempts, "attempt", "attempts"), shortError(f.Account, f.LastError))
	}
	when := "never"
	if !last.IsZero() {
		when = clock(last, now)
	}
	fmt.Fprintf(&b, "%s, last sync %s, %d %s", n, when,
		errs, plural(errs, "error", "errors"))
	if conflicts > 0 {
		fmt.Fprintf(&b, ", %d %s", conflicts, plural(conflicts, "conflict", "conflicts"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clock is t's local time of day, with its date when that is not now's.
func clock(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// maxStatusError caps the error in a STATUS= line.
const maxStatusError = 160

// shortError is an account's error for a STATUS= line: without the
// account's name, which leads the line already, and cut short.
func shortError(account, msg string) string {
	msg = strings.TrimPrefix(msg, "account "+account+": ")
	if r := []rune(msg); len(r) > maxStatusError {
		msg = string(r[:maxStatusError]) + "…"
	}
	return msg
}
