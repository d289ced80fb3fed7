package ics

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// recurring is a daily standup in Europe/Berlin with a reminder on the
// master and one moved occurrence (the override), in CRLF and folded as a
// client writes it.
const recurring = "BEGIN:VCALENDAR\r\n" +
	"VERSION:2.0\r\n" +
	"PRODID:-//vdird test//EN\r\n" +
	"BEGIN:VTIMEZONE\r\n" +
	"TZID:Europe/Berlin\r\n" +
	"BEGIN:STANDARD\r\n" +
	"DTSTART:19701025T030000\r\n" +
	"TZOFFSETFROM:+0200\r\n" +
	"TZOFFSETTO:+0100\r\n" +
	"END:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\n" +
	"DTSTART:19700329T020000\r\n" +
	"TZOFFSETFROM:+0100\r\n" +
	"TZOFFSETTO:+0200\r\n" +
	"END:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:standup\r\n" +
	"DTSTAMP:20250101T000000Z\r\n" +
	"DTSTART;TZID=Europe/Berlin:20250106T100000\r\n" +
	"RRULE:FREQ=DAILY;COUNT=10\r\n" +
	"SUMMARY:Standup\r\n" +
	"LOCATION:Room 1\r\n" +
	"DESCRIPTION:a description long enough to be folded, since it is longer than \r\n" +
	" seventy-five octets\r\n" +
	"BEGIN:VALARM\r\n" +
	"ACTION:DISPLAY\r\n" +
	"DESCRIPTION:Reminder\r\n" +
	"TRIGGER:-PT15M\r\n" +
	"END:VALARM\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:standup\r\n" +
	"DTSTAMP:20250101T000000Z\r\n" +
	"RECURRENCE-ID;TZID=Europe/Berlin:20250108T100000\r\n" +
	"DTSTART;TZID=Europe/Berlin:20250108T140000\r\n" +
	"SUMMARY:Standup MOVED\r\n" +
	"LOCATION:Room 2\r\n" +
	"END:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

// edit returns recurring with each old→new replacement applied once, in
// order, failing the test when one does not match or nothing changed.
func edit(t testing.TB, pairs ...string) []byte {
	t.Helper()
	s := recurring
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("fixture lacks %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if s == recurring {
		t.Fatal("edit left the fixture unchanged")
	}
	return []byte(s)
}

// swapped returns recurring with the two lines a and b exchanged.
func swapped(t testing.TB, a, b string) []byte {
	t.Helper()
	return edit(t, a, "\x00", b, a, "\x00", b)
}

// moveBlock returns s with the block [begin, end] (both lines included)
// cut out and inserted before the line at.
func moveBlock(t testing.TB, s, begin, end, at string) string {
	t.Helper()
	i := strings.Index(s, begin)
	j := strings.Index(s[i:], end)
	if i < 0 || j < 0 || !strings.Contains(s, at) {
		t.Fatalf("fixture lacks %q..%q or %q", begin, end, at)
	}
	block := s[i : i+j+len(end)]
	s = s[:i] + s[i+j+len(end):]
	k := strings.Index(s, at)
	return s[:k] + block + s[k:]
}

func TestEquivalent_SummarySwappedBetweenMasterAndOverride_IsAnEdit(t *testing.T) {
	b := swapped(t, "SUMMARY:Standup\r\n", "SUMMARY:Standup MOVED\r\n")
	if Equivalent([]byte(recurring), b) {
		t.Fatal("SUMMARY swapped between master and override reported equivalent")
	}
}

func TestEquivalent_LocationSwappedBetweenMasterAndOverride_IsAnEdit(t *testing.T) {
	b := swapped(t, "LOCATION:Room 1\r\n", "LOCATION:Room 2\r\n")
	if Equivalent([]byte(recurring), b) {
		t.Fatal("LOCATION swapped between master and override reported equivalent")
	}
	// The two edits of the both-changed case are not each other either.
	if Equivalent(b, swapped(t, "SUMMARY:Standup\r\n", "SUMMARY:Standup MOVED\r\n")) {
		t.Fatal("a LOCATION swap reported equivalent to a SUMMARY swap")
	}
}

func TestEquivalent_SummarySwappedBetweenTwoOverrides_IsAnEdit(t *testing.T) {
	second := "BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20250101T000000Z\r\n" +
		"RECURRENCE-ID;TZID=Europe/Berlin:20250109T100000\r\nDTSTART;TZID=Europe/Berlin:20250109T160000\r\n" +
		"SUMMARY:Standup LATE\r\nLOCATION:Room 2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	a := strings.Replace(recurring, "END:VCALENDAR\r\n", second, 1)
	b := strings.Replace(strings.Replace(strings.Replace(a,
		"SUMMARY:Standup MOVED\r\n", "\x00", 1),
		"SUMMARY:Standup LATE\r\n", "SUMMARY:Standup MOVED\r\n", 1),
		"\x00", "SUMMARY:Standup LATE\r\n", 1)
	if a == b {
		t.Fatal("fixture not edited")
	}
	if Equivalent([]byte(a), []byte(b)) {
		t.Fatal("SUMMARY swapped between two overrides reported equivalent")
	}
}

func TestEquivalent_PropertyMovedBetweenEventAndAlarm_IsAnEdit(t *testing.T) {
	// The event's DESCRIPTION moves into the alarm and the alarm's out.
	b := edit(t, "DESCRIPTION:Reminder\r\n", "\x00",
		"DESCRIPTION:a description long enough to be folded, since it is longer than \r\n seventy-five octets\r\n", "DESCRIPTION:Reminder\r\n",
		"\x00", "DESCRIPTION:a description long enough to be folded, since it is longer than seventy-five octets\r\n")
	if Equivalent([]byte(recurring), b) {
		t.Fatal("DESCRIPTION swapped between VEVENT and VALARM reported equivalent")
	}
	// A line moved out of the alarm into its event.
	c := edit(t, "TRIGGER:-PT15M\r\n", "", "SUMMARY:Standup\r\n", "SUMMARY:Standup\r\nTRIGGER:-PT15M\r\n")
	if Equivalent([]byte(recurring), c) {
		t.Fatal("TRIGGER moved from VALARM to VEVENT reported equivalent")
	}
	// The alarm moved from the master to the override.
	alarm := "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
	d := edit(t, alarm, "", "LOCATION:Room 2\r\n", "LOCATION:Room 2\r\n"+alarm)
	if Equivalent([]byte(recurring), d) {
		t.Fatal("VALARM moved from master to override reported equivalent")
	}
}

func TestEquivalent_PropertyMovedBetweenTimezoneAndEvent_IsAnEdit(t *testing.T) {
	// A line that only the VTIMEZONE had moves into the event.
	b := edit(t, "TZID:Europe/Berlin\r\n", "TZID:Europe/Berlin\r\nX-LIC-LOCATION:Europe/Berlin\r\n")
	c := edit(t, "UID:standup\r\n", "UID:standup\r\nX-LIC-LOCATION:Europe/Berlin\r\n")
	if Equivalent(b, c) {
		t.Fatal("a property moved from VTIMEZONE to VEVENT reported equivalent")
	}
	// Offsets swapped between the STANDARD and DAYLIGHT rules.
	d := swapped(t, "TZOFFSETTO:+0100\r\n", "TZOFFSETTO:+0200\r\n")
	if Equivalent([]byte(recurring), d) {
		t.Fatal("offsets swapped between STANDARD and DAYLIGHT reported equivalent")
	}
}

func TestEquivalent_PropertyMovedBetweenCalendarAndEvent_IsAnEdit(t *testing.T) {
	b := edit(t, "PRODID:-//vdird test//EN\r\n", "", "SUMMARY:Standup\r\n", "SUMMARY:Standup\r\nPRODID:-//vdird test//EN\r\n")
	if Equivalent([]byte(recurring), b) {
		t.Fatal("PRODID moved from VCALENDAR into VEVENT reported equivalent")
	}
}

// TestEquivalent_ServerRewrites_StayEquivalent covers what a server may do to
// the bytes it stores without changing the content.
func TestEquivalent_ServerRewrites_StayEquivalent(t *testing.T) {
	withParams := func(line string) string {
		return strings.Replace(recurring, "SUMMARY:Standup\r\n", line, 1)
	}
	for name, tc := range map[string]struct{ a, b string }{
		"identical":       {recurring, recurring},
		"LF line endings": {recurring, strings.ReplaceAll(recurring, "\r\n", "\n")},
		"properties in another order": {recurring, string(edit(t,
			"SUMMARY:Standup\r\nLOCATION:Room 1\r\n", "LOCATION:Room 1\r\n",
			"UID:standup\r\nDTSTAMP:20250101T000000Z\r\n", "SUMMARY:Standup\r\nDTSTAMP:20250101T000000Z\r\nUID:standup\r\n",
			"VERSION:2.0\r\nPRODID:-//vdird test//EN\r\n", "PRODID:-//vdird test//EN\r\n",
			"END:VCALENDAR\r\n", "VERSION:2.0\r\nEND:VCALENDAR\r\n",
			"ACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\n", "TRIGGER:-PT15M\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\n"))},
		"other folding": {recurring, string(edit(t,
			"longer than \r\n seventy-five octets\r\n", "longer than seventy-five octets\r\n",
			"SUMMARY:Standup MOVED\r\n", "SUMMARY:Stand\r\n up MO\r\n\tVED\r\n"))},
		"other folding and LF": {recurring, strings.ReplaceAll(strings.Replace(recurring, "LOCATION:Room 2", "LOCA\r\n TION:Room 2", 1), "\r\n", "\n")},
		"parameter order and name case": {
			withParams("SUMMARY;LANGUAGE=en;X-B=\"b;c:d\":Standup\r\n"),
			withParams("summary;x-b=\"b;c:d\";language=en:Standup\r\n")},
		"override before its master": {recurring, moveBlock(t, recurring,
			"BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID", "END:VEVENT\r\n",
			"BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20250101T000000Z\r\nDTSTART")},
		"VTIMEZONE after the events":          {recurring, moveBlock(t, recurring, "BEGIN:VTIMEZONE\r\n", "END:VTIMEZONE\r\n", "END:VCALENDAR\r\n")},
		"DAYLIGHT before STANDARD":            {recurring, moveBlock(t, recurring, "BEGIN:DAYLIGHT\r\n", "END:DAYLIGHT\r\n", "BEGIN:STANDARD\r\n")},
		"alarm before the event's properties": {recurring, moveBlock(t, recurring, "BEGIN:VALARM\r\n", "END:VALARM\r\n", "DTSTAMP:20250101T000000Z\r\nDTSTART;")},
	} {
		t.Run(name, func(t *testing.T) {
			if !Equivalent([]byte(tc.a), []byte(tc.b)) || !Equivalent([]byte(tc.b), []byte(tc.a)) {
				t.Fatalf("not equivalent:\n%s\n---\n%s", tc.a, tc.b)
			}
		})
	}
}

func TestEquivalent_ParameterValueOrDuplicateComponent_IsAnEdit(t *testing.T) {
	for name, b := range map[string][]byte{
		"parameter value":  edit(t, "DTSTART;TZID=Europe/Berlin:20250106T100000", "DTSTART;TZID=Europe/London:20250106T100000"),
		"parameter added":  edit(t, "SUMMARY:Standup\r\n", "SUMMARY;LANGUAGE=en:Standup\r\n"),
		"alarm duplicated": edit(t, "END:VALARM\r\n", "END:VALARM\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"),
		"value case":       edit(t, "SUMMARY:Standup\r\n", "SUMMARY:standup\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			if Equivalent([]byte(recurring), b) || Equivalent(b, []byte(recurring)) {
				t.Fatalf("reported equivalent:\n%s", b)
			}
		})
	}
}

// TestEquivalent_UnbalancedComponents_OnlyIdenticalBytes: without a component
// tree there is nothing to compare but the bytes.
func TestEquivalent_UnbalancedComponents_OnlyIdenticalBytes(t *testing.T) {
	for name, bad := range map[string]string{
		"missing END":   strings.Replace(recurring, "END:VALARM\r\n", "", 1),
		"END mismatch":  strings.Replace(recurring, "END:VALARM\r\n", "END:VEVENT\r\n", 1),
		"END at top":    recurring + "END:VCALENDAR\r\n",
		"nested deeply": strings.Repeat("BEGIN:X\r\n", 100) + strings.Repeat("END:X\r\n", 100),
	} {
		t.Run(name, func(t *testing.T) {
			if !Equivalent([]byte(bad), []byte(bad)) {
				t.Fatal("identical bytes not equivalent")
			}
			if Equivalent([]byte(bad), []byte(strings.ReplaceAll(bad, "\r\n", "\n"))) {
				t.Fatal("a malformed object matched a rewritten copy")
			}
			if Equivalent([]byte(bad), []byte(recurring)) || Equivalent([]byte(recurring), []byte(bad)) {
				t.Fatal("a malformed object matched a well-formed one")
			}
		})
	}
}

// TestContentKey_EqualExactlyWhenEquivalent compares every pair of a corpus
// of rewrites (same content) and edits (other content) of one object, and
// of objects whose components do not nest.
func TestContentKey_EqualExactlyWhenEquivalent(t *testing.T) {
	lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
	broken := strings.Replace(recurring, "END:VALARM\r\n", "", 1)
	corpus := []string{
		recurring,
		lf(recurring),
		string(edit(t, "SUMMARY:Standup\r\nLOCATION:Room 1\r\n", "LOCATION:Room 1\r\nSUMMARY:Standup\r\n")),
		string(edit(t, "longer than \r\n seventy-five octets\r\n", "longer than seventy-five octets\r\n")),
		moveBlock(t, recurring, "BEGIN:VTIMEZONE\r\n", "END:VTIMEZONE\r\n", "END:VCALENDAR\r\n"),
		string(swapped(t, "SUMMARY:Standup\r\n", "SUMMARY:Standup MOVED\r\n")),
		lf(string(swapped(t, "SUMMARY:Standup\r\n", "SUMMARY:Standup MOVED\r\n"))),
		string(swapped(t, "LOCATION:Room 1\r\n", "LOCATION:Room 2\r\n")),
		string(edit(t, "SUMMARY:Standup\r\n", "SUMMARY;LANGUAGE=en:Standup\r\n")),
		string(edit(t, "SUMMARY:Standup\r\n", "summary;language=en:Standup\r\n")),
		string(edit(t, "TRIGGER:-PT15M\r\n", "", "SUMMARY:Standup\r\n", "SUMMARY:Standup\r\nTRIGGER:-PT15M\r\n")),
		broken,
		lf(broken),
	}
	var same, differ int
	for i, a := range corpus {
		for j, b := range corpus {
			eq := Equivalent([]byte(a), []byte(b))
			if keyEq := ContentKey([]byte(a)) == ContentKey([]byte(b)); keyEq != eq {
				t.Errorf("corpus %d and %d: equivalent %v, equal keys %v", i, j, eq, keyEq)
			}
			switch {
			case eq && a != b:
				same++
			case !eq:
				differ++
			}
		}
	}
	if same == 0 || differ == 0 {
		t.Fatalf("corpus has %d equivalent rewrites and %d edits: both kinds needed", same, differ)
	}
}

// FuzzEquivalent checks that Equivalent never panics, is symmetric, matches
// an object with its LF copy whenever the object parses, and agrees with
// ContentKey.
func FuzzEquivalent(f *testing.F) {
	f.Add([]byte(recurring), []byte(strings.ReplaceAll(recurring, "SUMMARY:Standup\r\n", "SUMMARY:Standup MOVED\r\n")))
	f.Add([]byte("BEGIN:A\nX;B=\"1;2\";a=3:v\n c\nEND:A\n"), []byte("begin:a\nx;A=3;b=\"1;2\":vc\nend:A\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if Equivalent(a, b) != Equivalent(b, a) {
			t.Fatal("not symmetric")
		}
		if !Equivalent(a, a) {
			t.Fatal("not reflexive")
		}
		if _, ok := parseTree(a); ok && !Equivalent(a, bytes.ReplaceAll(a, []byte("\r\n"), []byte("\n"))) {
			t.Fatal("LF copy not equivalent")
		}
		if (ContentKey(a) == ContentKey(b)) != Equivalent(a, b) {
			t.Fatal("content keys disagree with Equivalent")
		}
	})
}

// BenchmarkEquivalent compares a recurring event with its re-serialised copy
// (LF, refolded, properties reordered), small and with 200 overrides.
func BenchmarkEquivalent(b *testing.B) {
	var many strings.Builder
	for i := range 200 {
		fmt.Fprintf(&many, "BEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID:2025%04dT100000Z\r\n"+
			"DTSTART:2025%04dT140000Z\r\nSUMMARY:Standup %d\r\nLOCATION:Room %d\r\nEND:VEVENT\r\n", 101+i, 101+i, i, i%7)
	}
	for name, data := range map[string]string{
		"small":         recurring,
		"200 overrides": strings.Replace(recurring, "END:VCALENDAR\r\n", many.String()+"END:VCALENDAR\r\n", 1),
	} {
		a := []byte(data)
		c := []byte(strings.ReplaceAll(moveBlock(b, data, "BEGIN:VTIMEZONE\r\n", "END:VTIMEZONE\r\n", "END:VCALENDAR\r\n"), "\r\n", "\n"))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !Equivalent(a, c) {
					b.Fatal("not equivalent")
				}
			}
		})
	}
}
