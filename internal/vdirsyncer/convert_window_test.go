package vdirsyncer

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/vdird/vdird/internal/testserver"
)

// dated is conf with a caldav storage of the start_date and end_date
// given (Python expressions, written as JSON strings) and more lines.
func dated(start, end, more string) string {
	return conf(fromA, server+"\nstart_date = \""+start+"\"\nend_date = \""+end+"\""+more, calendars)
}

// windowed is the base account with the window (as vdird reads it back)
// and components given.
func windowed(win []string, components ...string) func(h string) []acct {
	return one(func(a *acct, _ string) { a.Window, a.Components = win, components })
}

func TestConvert_StartAndEndDate(t *testing.T) {
	runCases(t, []convertCase{
		{name: "VdirsyncersDocsExample_AYearEitherWay", text: dated("datetime.now() - timedelta(days=365)", "datetime.now() + timedelta(days=365)", ""),
			want: windowed([]string{"-365d", "+365d"})},
		{name: "Weeks_InDays", text: dated("datetime.now() - timedelta(weeks=4)", "datetime.now() + timedelta(weeks=52)", ""),
			want: windowed([]string{"-28d", "+364d"})},
		{name: "Hours_RoundedOutwards", text: dated("datetime.now() - timedelta(hours=12)", "datetime.now() + timedelta(hours=30)", ""),
			want: windowed([]string{"-1d", "+2d"})},
		{name: "DaysAndHoursTogether_Summed", text: dated("datetime.now() - timedelta(days=1, hours=12)", "datetime.now() + timedelta(days=2) - timedelta(hours=24)", ""),
			want: windowed([]string{"-2d", "+1d"})},
		{name: "NowAlone_FromToday", text: dated("datetime.now()", "datetime.now() + timedelta(days=30)", ""),
			want: windowed([]string{"+0d", "+30d"})},
		{name: "TodayPositionalDaysSpacesAndATrailingComma", text: dated("datetime.today()-timedelta(30)", "date.today() +  timedelta( days = 90 , )", ""),
			want: windowed([]string{"-30d", "+90d"})},
		{name: "EndBuildsOnTheStart", text: dated("datetime.now() - timedelta(days=365)", "start_date + timedelta(days=730)", ""),
			want: windowed([]string{"-365d", "+365d"})},
		{name: "StartInTheFuture_ForwardOffset", text: dated("datetime.now() + timedelta(hours=36)", "datetime.now() + timedelta(days=7)", ""),
			want: windowed([]string{"+1d", "+7d"})},
		{name: "AbsoluteDate_ReportedNamingIt", text: dated("datetime(2024, 1, 1)", "datetime.now() + timedelta(days=365)", ""),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] start_date: not converted: "datetime(2024, 1, 1)": want datetime.now() plus or minus a timedelta of days, weeks or hours; set vdird's window by hand, like ["-365d", "+365d"]`, `[storage server] end_date: not converted: "datetime.now() + timedelta(days=365)": it goes with start_date, which is not converted`}},
		{name: "ArbitraryCode_ReportedNamingIt", text: dated("datetime.now() - timedelta(days=int(open('/etc/n').read()))", "datetime.now()", ""),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] start_date: not converted: "datetime.now() - timedelta(days=int(open('/etc/n').read()))": want datetime.now()`, `[storage server] end_date: not converted: "datetime.now()": it goes with start_date`}},
		{name: "Minutes_Reported", text: dated("datetime.now() - timedelta(minutes=30)", "datetime.now() + timedelta(days=1)", ""),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] start_date: not converted: "datetime.now() - timedelta(minutes=30)"`, `[storage server] end_date: not converted: "datetime.now() + timedelta(days=1)": it goes with start_date`}},
		{name: "StartDateBuildsOnItself_Reported", text: dated("start_date - timedelta(days=1)", "datetime.now()", ""),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] start_date: not converted: "start_date - timedelta(days=1)": start_date cannot build on itself`, `[storage server] end_date: not converted: "datetime.now()": it goes with start_date`}},
		{name: "EndBeforeStart_Reported", text: dated("datetime.now()", "datetime.now() - timedelta(days=1)", ""),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] end_date: not converted: "datetime.now()" to "datetime.now() - timedelta(days=1)": the window ends before it starts`}},
		{name: "FartherThanVdirdReaches_Reported", text: dated("datetime.now() - timedelta(weeks=2000)", "datetime.now()", ""),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] start_date: not converted: "datetime.now() - timedelta(weeks=2000)" to "datetime.now()": vdird's window reaches 10000 days either way at most`}},
		{name: "OnlyAStartDate_Reported", text: conf(fromA, server+"\nstart_date = \"datetime.now()\"", calendars),
			want:  one(func(*acct, string) {}),
			notes: []string{"[storage server] start_date: not converted: vdirsyncer takes start_date and end_date together"}},
		{name: "NotAString_Reported", text: dated("datetime.now()", "x", "\nend_date = 7"),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] end_date: not converted: 7: want datetime.now()`, `[storage server] start_date: not converted: "datetime.now()": it goes with end_date, which is not converted`}},
		{name: "ItemTypes_Components", text: conf(fromA, server+"\nitem_types = [\"VTODO\", \"VEVENT\"]", calendars),
			want: windowed(nil, "VEVENT", "VTODO")},
		{name: "ItemTypesEmpty_EveryType", text: conf(fromA, server+"\nitem_types = []", calendars), want: windowed(nil)},
		{name: "ItemTypesNotOfACalendar_Reported", text: conf(fromA, server+"\nitem_types = [\"VEVENT\", \"VCARD\"]", calendars),
			want:  one(func(*acct, string) {}),
			notes: []string{`[storage server] item_types: not converted: ["VEVENT", "VCARD"]: want some of "VEVENT", "VTODO", "VJOURNAL"`}},
		{name: "CalendarsWithAWindowJoinTheAddressBooksAccount_ItTakesTheWindow",
			text: bothPairs(server+"\nstart_date = \"datetime.now() - timedelta(days=30)\"\nend_date = \"datetime.now() + timedelta(days=90)\"", server, "", "", true),
			want: func(h string) []acct {
				a := book(h)
				a.Name, a.Sync, a.LocalRoot, a.Window = "cards", []string{"calendars", "addressbooks"}, base(h).LocalRoot, []string{"-30d", "+90d"}
				return []acct{a}
			}},
		{name: "TwoPairsInOneFolderWithOtherWindows_SecondNotConverted",
			text: generalSec + "[pair one]\na = \"s1\"\nb = \"f\"\ncollections = [\"work\"]\n[pair two]\na = \"s2\"\nb = \"f\"\ncollections = [\"home\"]\n" +
				"[storage s1]\ntype = \"caldav\"\n" + server + "\n[storage s2]\ntype = \"caldav\"\n" + server +
				"\nstart_date = \"datetime.now() - timedelta(days=30)\"\nend_date = \"datetime.now()\"\n[storage f]\ntype = \"filesystem\"\n" + calendars + "\n",
			want:  one(func(a *acct, _ string) { a.Name, a.Calendars = "one", []string{"work"} }),
			notes: []string{"[pair two]: not converted: its folder ~/.calendars is [pair one]'s too, which syncs other dates or item types; vdird gives each account one window"}},
	})
}

// TestConvert_StartAndEndDate_WrittenAsOffsetsFromNow checks the lines the
// converted config holds: a start at now is "-0d", as a start reads best.
func TestConvert_StartAndEndDate_WrittenAsOffsetsFromNow(t *testing.T) {
	home(t)
	res, _ := convert(t, dated("datetime.now()", "datetime.now() + timedelta(weeks=1)", "\nitem_types = [\"VEVENT\"]"))
	for _, line := range []string{`window = ["-0d", "+7d"]`, `components = ["VEVENT"]`} {
		if !strings.Contains(string(res.TOML), "\n"+line+"\n") {
			t.Errorf("no line %s in:\n%s", line, res.TOML)
		}
	}
}

// dateExprs are start_date and end_date pairs the converter reads, for
// TestOffsetHours_WhatVdirsyncerEvaluates.
var dateExprs = [][2]string{
	{"datetime.now() - timedelta(days=365)", "datetime.now() + timedelta(days=365)"},
	{"datetime.now() - timedelta(weeks=4)", "start_date + timedelta(weeks=8, days=-3, hours=5)"},
	{"datetime.now()-timedelta(30)", "datetime.today() +  timedelta( days = 90 , )"},
	{"datetime.now() + timedelta(hours=-36) - timedelta(days=-1)", "start_date - timedelta(hours=-2) + timedelta(weeks=1)"},
}

// TestOffsetHours_WhatVdirsyncerEvaluates evaluates dateExprs as
// vdirsyncer's caldav storage does (Python's eval in the namespace of the
// datetime module, start_date in end_date's) and wants the hours from now
// the converter reads.
func TestOffsetHours_WhatVdirsyncerEvaluates(t *testing.T) {
	testserver.Need(t, "vdirsyncer")
	const script = `
import json, sys, datetime
out = []
for start, end in json.loads(sys.argv[1]):
    now = datetime.datetime.now()
    ns = dict(datetime.__dict__)
    ns["start_date"] = eval(start, ns)
    e = eval(end, ns)
    out.append([round((ns["start_date"] - now).total_seconds() / 3600), round((e - now).total_seconds() / 3600)])
print(json.dumps(out))
`
	arg, _ := json.Marshal(dateExprs)
	out, err := exec.Command(vdirsyncerPython(t), "-c", script, string(arg)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var theirs [][2]int
	if err := json.Unmarshal(out, &theirs); err != nil || len(theirs) != len(dateExprs) {
		t.Fatalf("%v: %s", err, out)
	}
	for i, e := range dateExprs {
		s, why := offsetHours(e[0], nil)
		end, whyE := offsetHours(e[1], &s)
		if why+whyE != "" || s != theirs[i][0] || end != theirs[i][1] {
			t.Errorf("%q to %q: read as %d to %d hours (%s%s), vdirsyncer evaluates %d to %d", e[0], e[1], s, end, why, whyE, theirs[i][0], theirs[i][1])
		}
	}
}
