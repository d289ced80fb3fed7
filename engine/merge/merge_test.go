package merge

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/ics"
)

// event is the item most rows edit: a recurring event with an override, a
// folded description, list properties, attendees, an alarm and a time zone.
const event = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//vdird//merge test//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:standup-1@example.org
DTSTAMP:20260101T090000Z
SEQUENCE:1
DTSTART;TZID=Europe/Berlin:20270301T090000
DTEND;TZID=Europe/Berlin:20270301T091500
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Standup
LOCATION:Room 1
DESCRIPTION:Daily standup of the sync team. Say what you did\, what you wil
 l do and what blocks you.
CATEGORIES:Work,Daily
EXDATE;TZID=Europe/Berlin:20270302T090000
ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.org
ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:mailto:ben@example.org
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT10M
DESCRIPTION:Standup
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:standup-1@example.org
RECURRENCE-ID;TZID=Europe/Berlin:20270303T090000
DTSTAMP:20260101T090000Z
DTSTART;TZID=Europe/Berlin:20270303T110000
DTEND;TZID=Europe/Berlin:20270303T111500
SUMMARY:Standup (late)
END:VEVENT
END:VCALENDAR
`

// crlf gives s the line endings iCalendar asks for.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// sub replaces each old with its new in s; every old must occur exactly
// once, so that a row states precisely which lines differ.
func sub(s string, pairs ...string) string {
	for i := 0; i < len(pairs); i += 2 {
		if n := strings.Count(s, pairs[i]); n != 1 {
			panic("sub: " + pairs[i] + " occurs " + string(rune('0'+n)) + " times")
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// ev is the test event in CRLF with some edits.
func ev(pairs ...string) string { return sub(crlf(event), crlfAll(pairs)...) }

func crlfAll(pairs []string) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = crlf(p)
	}
	return out
}

func testdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// between is the part of s from the line starting with from up to and
// including the line starting with to that follows it.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	j := strings.Index(s[i:], to)
	k := strings.Index(s[i+j:], "\n")
	return s[i : i+j+k+1]
}

// withoutOverride is s without the test event's override.
func withoutOverride(s string) string {
	return sub(s, between(s, "BEGIN:VEVENT\r\nUID:standup-1@example.org\r\nRECURRENCE-ID", "END:VEVENT"), "")
}

type row struct {
	name                string
	base, local, remote string
	policy              Policy
	want                string   // the merged bytes exactly
	conflicts           []string // "component|property" of each conflict
}

// runRows runs rows through merge, and checks each result with valid.
func runRows(t *testing.T, merge func(base, local, remote []byte, p Policy) (Result, error), valid func([]byte) error, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			res, err := merge([]byte(r.base), []byte(r.local), []byte(r.remote), r.policy)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Data) != r.want {
				t.Errorf("merged:\n%s\nwant:\n%s", res.Data, r.want)
			}
			var got []string
			for _, c := range res.Conflicts {
				got = append(got, c.Component+"|"+c.Property)
			}
			if !slices.Equal(got, r.conflicts) {
				t.Errorf("conflicts %q, want %q", got, r.conflicts)
			}
			if res.Clean != (len(r.conflicts) == 0) {
				t.Errorf("Clean = %v with conflicts %q", res.Clean, got)
			}
			if res.LocalChanged != (r.want != r.local) {
				t.Errorf("LocalChanged = %v", res.LocalChanged)
			}
			if err := valid(res.Data); err != nil {
				t.Errorf("merged item does not validate: %v", err)
			}
		})
	}
}

func validItem(data []byte) error {
	_, err := ics.Inspect(data)
	return err
}

func TestMerge_RealWorldEdits(t *testing.T) {
	base := testdata(t, "event-base.ics")
	khalSummary := testdata(t, "event-khal-summary.ics")
	khalTime := testdata(t, "event-khal-time.ics")
	location := testdata(t, "event-radicale-location.ics")
	override := testdata(t, "event-radicale-override.ics")
	serverSummary := testdata(t, "event-radicale-summary.ics")
	overrideBlock := between(override, "BEGIN:VEVENT\r\nUID:6f1c2d7e-3b4a-4c55-9e0f-2a7b8c9d0e1f\r\nRECURRENCE-ID", "END:VEVENT")
	zoneBlock := between(override, "BEGIN:VTIMEZONE", "END:VTIMEZONE")
	todoBase, todoDone := testdata(t, "todo-base.ics"), testdata(t, "todo-todoman-done.ics")
	runRows(t, ICal, validItem, []row{{
		name: "SummaryLocalLocationRemote_BothKept", // khal re-serialised the whole file
		base: base, local: khalSummary, remote: location,
		want: sub(khalSummary,
			"DTSTAMP:20261201T091500Z\r\n", "DTSTAMP:20261203T074233Z\r\n",
			"LOCATION:Room 4.12\r\n", "LOCATION:Room 2.01 (the big one)\r\n",
			"STATUS:CONFIRMED\r\n", "STATUS:CONFIRMED\r\nLAST-MODIFIED:20261203T074233Z\r\n"),
	}, {
		name: "SameSummaryChangedDifferently_ConflictOnSummaryOnly",
		base: base, local: khalSummary, remote: serverSummary,
		want:      sub(khalSummary, "SUMMARY:Team planning (moved to Q1 review)\r\n", "SUMMARY:Team planning (all hands)\r\n"),
		conflicts: []string{"VEVENT|SUMMARY"},
	}, {
		name: "SameSummaryChangedDifferently_LocalWinsKeepsLocal",
		base: base, local: khalSummary, remote: serverSummary, policy: LocalWins,
		want: khalSummary, conflicts: []string{"VEVENT|SUMMARY"},
	}, {
		name:   "RadicaleReorderedProperties_NoEdit", // the last upload came back in Radicale's layout
		base:   testdata(t, "event-phone-layout.ics"),
		local:  sub(testdata(t, "event-phone-layout.ics"), "SUMMARY:Team planning\r\n", "SUMMARY:Team sync\r\n"),
		remote: base,
		want:   sub(testdata(t, "event-phone-layout.ics"), "SUMMARY:Team planning\r\n", "SUMMARY:Team sync\r\n"),
	}, {
		name: "NewOverrideOnServer_Added", // and the master changed locally
		base: base, local: khalSummary, remote: override,
		want: sub(khalSummary, "END:VEVENT\r\nEND:VCALENDAR", "END:VEVENT\r\n"+overrideBlock+"END:VCALENDAR"),
	}, {
		name: "ZoneDroppedLocallyUsedByServerOverride_ZoneTakenFromServer",
		base: base, local: khalTime, remote: override,
		want: sub(khalTime, "BEGIN:VEVENT\r\n", zoneBlock+"BEGIN:VEVENT\r\n",
			"END:VEVENT\r\nEND:VCALENDAR", "END:VEVENT\r\n"+overrideBlock+"END:VCALENDAR"),
	}, {
		name: "AttendeesAddedOnBothSides_Union",
		base: base, local: testdata(t, "event-local-attendee.ics"), remote: testdata(t, "event-radicale-attendee.ics"),
		want: sub(testdata(t, "event-local-attendee.ics"), "mailto:carla@example.org\r\n",
			"mailto:carla@example.org\r\nATTENDEE;CN=Dev Raman;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:dev@example.or\r\n g\r\n"),
	}, {
		name: "TodomanDoneServerMovedDue_BothKept",
		base: todoBase, local: todoDone, remote: testdata(t, "todo-radicale-due.ics"),
		want: sub(todoDone,
			"DTSTAMP;VALUE=DATE-TIME:20261201T100000Z\r\n", "DTSTAMP:20261204T183000Z\r\n",
			"DUE;VALUE=DATE:20270115\r\n", "DUE;VALUE=DATE:20270122\r\n"),
	}, {
		name: "TodomanDoneServerUnchanged_LocalKeptByteForByte", // todoman added VALUE=, moved a line, rewrote PT0S as P0D
		base: todoBase, local: todoDone, remote: todoBase,
		want: todoDone,
	}})
}

func TestMerge_Rules(t *testing.T) {
	base := ev()
	runRows(t, ICal, validItem, []row{{
		name: "PropertyChangedOnServer_OnlyThatLineReplaced",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Daily standup\n"), remote: ev("LOCATION:Room 1\n", "LOCATION:Room 2\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Daily standup\n", "LOCATION:Room 1\n", "LOCATION:Room 2\n"),
	}, {
		name: "PropertyAddedOnServer_InsertedAfterLastProperty",
		base: base, local: base, remote: ev("LOCATION:Room 1\n", "LOCATION:Room 1\nURL:https://meet.example.org/standup\n"),
		want: ev("mailto:ben@example.org\n", "mailto:ben@example.org\nURL:https://meet.example.org/standup\n"),
	}, {
		name: "PropertyRemovedOnServer_LineRemoved",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Daily standup\n"), remote: ev("LOCATION:Room 1\n", ""),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Daily standup\n", "LOCATION:Room 1\n", ""),
	}, {
		name: "FoldedPropertyChangedOnServer_WholeContentLineReplaced",
		base: base, local: base,
		remote: ev("what blocks you.\n", "what blocks you. Keep it short.\n"),
		want:   ev("what blocks you.\n", "what blocks you. Keep it short.\n"),
	}, {
		name: "RemovedLocallyChangedOnServer_ConflictServerWins",
		base: base, local: ev("LOCATION:Room 1\n", ""), remote: ev("LOCATION:Room 1\n", "LOCATION:Room 2\n"),
		want:      ev("LOCATION:Room 1\n", "", "mailto:ben@example.org\n", "mailto:ben@example.org\nLOCATION:Room 2\n"),
		conflicts: []string{"VEVENT|LOCATION"},
	}, {
		name: "ChangedIdenticallyOnBothSides_NoConflict",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"), remote: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
	}, {
		name: "ParameterOrderQuotingAndCaseOnly_NoEdit",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: ev("ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.org\n", "ATTENDEE;partstat=accepted;CN=\"Ana\":MAILTO:ana@example.org\n",
			"RRULE:FREQ=DAILY;COUNT=5\n", "RRULE:COUNT=5;FREQ=DAILY\n",
			"DTSTART;TZID=Europe/Berlin:20270301T090000\n", "DTSTART;VALUE=DATE-TIME;TZID=Europe/Berlin:20270301T090000\n",
			"SEQUENCE:1\n", "SEQUENCE:01\n",
			"TRIGGER:-PT10M\n", "TRIGGER:-PT600S\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
	}, {
		name: "RefoldedAndLFOnServer_NoEdit",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: sub(event, "Say what you did\\, what you wil\n l do", "Say what you did\\, what\n  you will do"),
		want:   ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
	}, {
		name: "SequenceBumpedOnBothSides_LargerTaken",
		base: base, local: ev("SEQUENCE:1\n", "SEQUENCE:2\n", "SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: ev("SEQUENCE:1\n", "SEQUENCE:4\n", "LOCATION:Room 1\n", "LOCATION:Room 2\n"),
		want:   ev("SEQUENCE:1\n", "SEQUENCE:4\n", "SUMMARY:Standup\n", "SUMMARY:Sync\n", "LOCATION:Room 1\n", "LOCATION:Room 2\n"),
	}, {
		name: "SequenceLargerLocally_LocalKept",
		base: base, local: ev("SEQUENCE:1\n", "SEQUENCE:7\n"), remote: ev("SEQUENCE:1\n", "SEQUENCE:3\n"),
		want: ev("SEQUENCE:1\n", "SEQUENCE:7\n"),
	}, {
		name: "DtstampChangedOnBothSides_LaterTaken",
		base: base, local: ev("DTSTAMP:20260101T090000Z\nSEQ", "DTSTAMP:20260105T090000Z\nSEQ"),
		remote: ev("DTSTAMP:20260101T090000Z\nSEQ", "DTSTAMP:20260107T090000Z\nSEQ"),
		want:   ev("DTSTAMP:20260101T090000Z\nSEQ", "DTSTAMP:20260107T090000Z\nSEQ"),
	}, {
		name: "LastModifiedLaterLocally_LocalKept",
		base: base, local: ev("SEQUENCE:1\n", "SEQUENCE:1\nLAST-MODIFIED:20260110T120000Z\n"),
		remote: ev("SEQUENCE:1\n", "SEQUENCE:1\nLAST-MODIFIED:20260109T120000Z\n"),
		want:   ev("SEQUENCE:1\n", "SEQUENCE:1\nLAST-MODIFIED:20260110T120000Z\n"),
	}, {
		name: "AttendeePartstatChangedOnServer_ReplacedInPlace",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: ev("ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:", "ATTENDEE;CN=Ben;PARTSTAT=DECLINED:"),
		want:   ev("SUMMARY:Standup\n", "SUMMARY:Sync\n", "ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:", "ATTENDEE;CN=Ben;PARTSTAT=DECLINED:"),
	}, {
		name: "AttendeeChangedDifferently_ConflictOnThatAttendeeOnly",
		base: base, local: ev("ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:", "ATTENDEE;CN=Ben;PARTSTAT=TENTATIVE:", "SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: ev("ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:", "ATTENDEE;CN=Ben;PARTSTAT=DECLINED:",
			"ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:", "ATTENDEE;CN=Ana;PARTSTAT=DECLINED:"),
		policy: LocalWins,
		want: ev("ATTENDEE;CN=Ben;PARTSTAT=NEEDS-ACTION:", "ATTENDEE;CN=Ben;PARTSTAT=TENTATIVE:", "SUMMARY:Standup\n", "SUMMARY:Sync\n",
			"ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:", "ATTENDEE;CN=Ana;PARTSTAT=DECLINED:"),
		conflicts: []string{"VEVENT|ATTENDEE"},
	}, {
		name: "AttendeeRemovedLocallyAddedOnServer_BothApplied",
		base: base, local: ev("ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.org\n", ""),
		remote: ev("mailto:ben@example.org\n", "mailto:ben@example.org\nATTENDEE;CN=Cy:mailto:cy@example.org\n"),
		want: ev("ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.org\n", "",
			"mailto:ben@example.org\n", "mailto:ben@example.org\nATTENDEE;CN=Cy:mailto:cy@example.org\n"),
	}, {
		name: "CategoriesEditedOnBothSides_ListMerged",
		base: base, local: ev("CATEGORIES:Work,Daily\n", "CATEGORIES:Work,Daily,Team\n"),
		remote: ev("CATEGORIES:Work,Daily\n", "CATEGORIES:Work\nCATEGORIES:Sync\n"),
		want:   ev("CATEGORIES:Work,Daily\n", "CATEGORIES:Team\nCATEGORIES:Work\nCATEGORIES:Sync\n"),
	}, {
		name: "ExdatesAddedOnBothSides_Union",
		base: base, local: ev("EXDATE;TZID=Europe/Berlin:20270302T090000\n", "EXDATE;TZID=Europe/Berlin:20270302T090000,20270304T090000\n"),
		remote: ev("EXDATE;TZID=Europe/Berlin:20270302T090000\n", "EXDATE;TZID=Europe/Berlin:20270302T090000\nEXDATE;TZID=Europe/Berlin:20270305T090000\n"),
		want: ev("EXDATE;TZID=Europe/Berlin:20270302T090000\n",
			"EXDATE;TZID=Europe/Berlin:20270302T090000,20270304T090000\nEXDATE;TZID=Europe/Berlin:20270305T090000\n"),
	}, {
		name: "CommentsAddedOnBothSides_Union",
		base: base, local: ev("LOCATION:Room 1\n", "LOCATION:Room 1\nCOMMENT:bring coffee\\, please\n"),
		remote: ev("LOCATION:Room 1\n", "LOCATION:Room 1\nCOMMENT:camera on\n"),
		want:   ev("LOCATION:Room 1\n", "LOCATION:Room 1\nCOMMENT:bring coffee\\, please\nCOMMENT:camera on\n"),
	}, {
		name: "OverrideDeletedOnServerUnchangedLocally_Removed",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"), remote: withoutOverride(base),
		want: withoutOverride(ev("SUMMARY:Standup\n", "SUMMARY:Sync\n")),
	}, {
		name: "OverrideDeletedOnServerChangedLocally_ConflictLocalWinsKeepsIt",
		base: base, local: ev("SUMMARY:Standup (late)\n", "SUMMARY:Standup (very late)\n"),
		remote:    withoutOverride(base),
		policy:    LocalWins,
		want:      ev("SUMMARY:Standup (late)\n", "SUMMARY:Standup (very late)\n"),
		conflicts: []string{"VEVENT RECURRENCE-ID:20270303T090000|"},
	}, {
		name: "OverrideDeletedLocallyUnchangedOnServer_StaysDeleted",
		base: base, local: withoutOverride(base),
		remote: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		want:   withoutOverride(ev("SUMMARY:Standup\n", "SUMMARY:Sync\n")),
	}, {
		name:   "SameOverrideAddedOnBothSides_DifferencesAreConflicts", // no base to tell who changed what
		base:   withoutOverride(base),
		local:  ev("SUMMARY:Standup (late)\n", "SUMMARY:Standup (late)\nLOCATION:Cafe\n"),
		remote: ev("DTSTART;TZID=Europe/Berlin:20270303T110000\n", "DTSTART;TZID=Europe/Berlin:20270303T113000\n"),
		want: ev("SUMMARY:Standup (late)\n", "SUMMARY:Standup (late)\nLOCATION:Cafe\n",
			"DTSTART;TZID=Europe/Berlin:20270303T110000\n", "DTSTART;TZID=Europe/Berlin:20270303T113000\n"),
		conflicts: []string{"VEVENT RECURRENCE-ID:20270303T090000|DTSTART"},
	}, {
		name: "AlarmAddedOnServerAlarmEditedLocally_BothKept", // alarms matched by TRIGGER and ACTION
		base: base, local: ev("DESCRIPTION:Standup\n", "DESCRIPTION:Standup in 10 minutes\n"),
		remote: ev("END:VALARM\n", "END:VALARM\nBEGIN:VALARM\nACTION:AUDIO\nTRIGGER:-PT1M\nEND:VALARM\n"),
		want: ev("DESCRIPTION:Standup\n", "DESCRIPTION:Standup in 10 minutes\n",
			"END:VALARM\n", "END:VALARM\nBEGIN:VALARM\nACTION:AUDIO\nTRIGGER:-PT1M\nEND:VALARM\n"),
	}, {
		name:   "AlarmWithUIDRetriggeredLocallyRedescribedOnServer_OneAlarmWithBoth",
		base:   ev("ACTION:DISPLAY\n", "ACTION:DISPLAY\nX-WR-ALARMUID:A1\n"),
		local:  ev("ACTION:DISPLAY\n", "ACTION:DISPLAY\nX-WR-ALARMUID:A1\n", "TRIGGER:-PT10M\n", "TRIGGER:-PT30M\n"),
		remote: ev("ACTION:DISPLAY\n", "ACTION:DISPLAY\nX-WR-ALARMUID:A1\n", "DESCRIPTION:Standup\n", "DESCRIPTION:Go\n"),
		want: ev("ACTION:DISPLAY\n", "ACTION:DISPLAY\nX-WR-ALARMUID:A1\n", "TRIGGER:-PT10M\n", "TRIGGER:-PT30M\n",
			"DESCRIPTION:Standup\n", "DESCRIPTION:Go\n"),
	}, {
		name: "TimeZoneChangedOnServer_ReplacedWhole",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: ev("TZOFFSETTO:+0100\nEND:STANDARD\n", "TZOFFSETTO:+0100\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n",
			"TZOFFSETTO:+0100\nEND:STANDARD\n", "TZOFFSETTO:+0100\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\n"),
	}, {
		name: "TimeZoneRewrittenOnBothSides_PolicySideNoConflict",
		base: base, local: ev("TZOFFSETTO:+0100\n", "TZOFFSETTO:+0100\nTZNAME:CET\n"),
		remote: ev("END:STANDARD\n", "END:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\n"),
		want:   ev("END:STANDARD\n", "END:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:19700329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nEND:DAYLIGHT\n"),
	}, {
		name: "ProducerChangedOnBothSides_PolicySideNoConflict",
		base: base, local: ev("PRODID:-//vdird//merge test//EN\n", "PRODID:-//PIMUTILS.ORG//NONSGML khal / icalendar //EN\n", "SUMMARY:Standup\n", "SUMMARY:Sync\n"),
		remote: ev("PRODID:-//vdird//merge test//EN\n", "PRODID:DAVx5/4.3 ical4j/3.2\n"),
		policy: LocalWins,
		want:   ev("PRODID:-//vdird//merge test//EN\n", "PRODID:-//PIMUTILS.ORG//NONSGML khal / icalendar //EN\n", "SUMMARY:Standup\n", "SUMMARY:Sync\n"),
	}, {
		name: "AlarmAcknowledgedOnBothSides_LaterTaken",
		base: base, local: ev("END:VALARM\n", "ACKNOWLEDGED:20270301T085000Z\nEND:VALARM\n"),
		remote: ev("END:VALARM\n", "ACKNOWLEDGED:20270301T085200Z\nEND:VALARM\n"),
		policy: LocalWins,
		want:   ev("END:VALARM\n", "ACKNOWLEDGED:20270301T085200Z\nEND:VALARM\n")}, {
		name: "CalendarPropertyChangedOnServer_Taken",
		base: base, local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"), remote: ev("VERSION:2.0\n", "VERSION:2.0\nX-WR-CALNAME:Team\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n", "PRODID:-//vdird//merge test//EN\n", "PRODID:-//vdird//merge test//EN\nX-WR-CALNAME:Team\n"),
	}, {
		name:  "NoBaseSameContentOtherLayout_NoEdit",
		local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"), remote: strings.ReplaceAll(ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"), "\r\n", "\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"),
	}, {
		name:  "NoBaseDifferentSummary_Conflict",
		local: ev("SUMMARY:Standup\n", "SUMMARY:Sync\n"), remote: ev("SUMMARY:Standup\n", "SUMMARY:Daily\n"),
		want: ev("SUMMARY:Standup\n", "SUMMARY:Daily\n"), conflicts: []string{"VEVENT|SUMMARY"},
	}})
}

// The byte rule: every line not merged from the server keeps its bytes,
// its folding and its line ending, and lines put in follow the line endings
// around them.
func TestMerge_UntouchedLinesByteForByte(t *testing.T) {
	lf := event
	mixed := sub(crlf(event), "SUMMARY:Standup\r\n", "SUMMARY:Standup\n", "LOCATION:Room 1\r\n", "LOCATION:Room 1\n")
	remote := ev("LOCATION:Room 1\n", "LOCATION:Room 9\n", "SUMMARY:Standup (late)\n", "SUMMARY:Standup (late)\nCOLOR:red\n")
	for _, tc := range []struct{ name, local, want string }{
		{"LF", lf, sub(lf, "LOCATION:Room 1\n", "LOCATION:Room 9\n", "SUMMARY:Standup (late)\n", "SUMMARY:Standup (late)\nCOLOR:red\n")},
		{"MixedLineEndings", mixed, sub(mixed, "LOCATION:Room 1\n", "LOCATION:Room 9\n", "SUMMARY:Standup (late)\r\n", "SUMMARY:Standup (late)\r\nCOLOR:red\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ICal([]byte(crlf(event)), []byte(tc.local), []byte(remote), ServerWins)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Data) != tc.want {
				t.Errorf("merged:\n%q\nwant:\n%q", res.Data, tc.want)
			}
		})
	}
}

func TestMerge_InputsThatCannotBeMerged_Error(t *testing.T) {
	base := ev()
	for name, tc := range map[string][3]string{
		"LocalNotICalendar":  {base, "hello", base},
		"ServerNotICalendar": {base, base, "BEGIN:VCALENDAR\r\n"},
		"OtherUIDOnServer":   {base, base, strings.ReplaceAll(base, "standup-1@", "other@")},
		"OtherUIDInBase":     {strings.ReplaceAll(base, "standup-1@", "other@"), base, base},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ICal([]byte(tc[0]), []byte(tc[1]), []byte(tc[2]), ServerWins)
			if !errors.Is(err, ErrCannotMerge) {
				t.Fatalf("err = %v, want ErrCannotMerge", err)
			}
		})
	}
}

func TestMerge_ConflictCarriesAllThreeValues(t *testing.T) {
	res, err := ICal([]byte(ev()), []byte(ev("SUMMARY:Standup\n", "SUMMARY:Sync\n")), []byte(ev("SUMMARY:Standup\n", "SUMMARY:Daily\n")), LocalWins)
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{{Component: "VEVENT", Property: "SUMMARY", Base: "SUMMARY:Standup", Local: "SUMMARY:Sync", Remote: "SUMMARY:Daily"}}
	if !slices.Equal(res.Conflicts, want) || !res.RemoteChanged || res.LocalChanged {
		t.Errorf("got %+v, want conflicts %+v, RemoteChanged and not LocalChanged", res, want)
	}
}
