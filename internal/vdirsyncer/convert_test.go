package vdirsyncer

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/config"
)

// The sections of a vdirsyncer config the cases start from: a pair of a
// CalDAV server (a) and a folder (b), each case adding its lines.
const (
	fromA      = `collections = ["from a"]`
	server     = "url = \"https://dav.example.org/\"\nusername = \"alice\""
	calendars  = "path = \"~/.calendars/\"\nfileext = \".ics\""
	sha256Hex  = "6a:29:0e:95:5e:1e:5c:73:55:6e:f1:36:7c:d7:e3:4d:26:16:37:51:7c:6b:42:58:17:bc:f4:c2:dc:8f:03:aa"
	sha1Hex    = "94:FD:7A:CB:50:75:A4:69:82:0A:F8:23:DF:07:FC:69:3E:1D:81:B4"
	md5Hex     = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	generalSec = "[general]\nstatus_path = \"~/.vdirsyncer/status/\"\n\n"
)

// conf is a vdirsyncer config with one pair "cal" of the storages
// "server" (caldav) and "folder" (filesystem), with the lines given.
func conf(pair, srv, folder string) string {
	return generalSec + "[pair cal]\na = \"server\"\nb = \"folder\"\n" + pair +
		"\n\n[storage server]\ntype = \"caldav\"\n" + srv +
		"\n\n[storage folder]\ntype = \"filesystem\"\n" + folder + "\n"
}

// acct is what a case checks of a converted account, as config.Load reads it.
type acct struct {
	Name, URL, Username, PasswordCommand, PasswordEnv, LocalRoot string
	Calendars                                                    []string
	Sync                                                         []string
	ContactsRoot                                                 string
	AddressBooks                                                 []string
	Window, Components                                           []string
	Policy, Auth                                                 string
	Insecure                                                     bool
	CAFile, CertFile, KeyFile, Pin                               string
	ClientID, ClientSecret, ClientSecretCommand                  string
	NoCreate                                                     bool // create_collections = false
}

func project(a config.Account) acct {
	var win []string
	if w := a.Scope.Window; w != nil {
		win = []string{w.Start.String(), w.End.String()}
	}
	return acct{Window: win, Components: a.Scope.Components, Name: a.Name, URL: a.URL, Username: a.Username, PasswordCommand: a.PasswordCommand, PasswordEnv: a.PasswordEnv,
		LocalRoot: a.LocalRoot, Calendars: a.Calendars, Sync: a.Sync, ContactsRoot: a.ContactsRoot, AddressBooks: a.AddressBooks, Policy: string(a.ConflictPolicy), Auth: a.Auth, Insecure: a.InsecureSkipVerify,
		CAFile: a.CAFile, CertFile: a.CertFile, KeyFile: a.KeyFile, Pin: hex.EncodeToString(a.TLSFingerprint),
		ClientID: a.OAuth.ClientID, ClientSecret: a.OAuth.ClientSecret, ClientSecretCommand: a.OAuth.ClientSecretCommand, NoCreate: !a.CreateCollections}
}

// home is the home directory the cases run with.
func home(t *testing.T) string {
	t.Helper()
	h := t.TempDir()
	t.Setenv("HOME", h)
	return h
}

// base is the account conf converts to with no lines added.
func base(h string) acct {
	return acct{Name: "cal", URL: "https://dav.example.org/", Username: "alice", LocalRoot: filepath.Join(h, ".calendars"), Policy: "server-wins", Auth: "auto"}
}

// convert converts text and loads the result with config.Parse.
func convert(t *testing.T, text string) (Result, []acct) {
	t.Helper()
	c, err := Parse("/home/alice/.config/vdirsyncer/config", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(c)
	if res.TOML == nil {
		return res, nil
	}
	cfg, err := config.Parse("config.toml", res.TOML)
	if err != nil {
		t.Fatalf("the converted config does not load: %v\n%s", err, res.TOML)
	}
	var got []acct
	for _, a := range cfg.Accounts {
		got = append(got, project(a))
	}
	return res, got
}

// checkNotes wants one note starting with each of want, and no other.
func checkNotes(t *testing.T, notes []Note, want []string) {
	t.Helper()
	var lines []string
	for _, n := range notes {
		lines = append(lines, n.String())
	}
	rest := slices.Clone(lines)
	for _, w := range want {
		i := slices.IndexFunc(rest, func(l string) bool { return strings.HasPrefix(l, w) })
		if i < 0 {
			t.Errorf("no note starting %q in:\n%s", w, strings.Join(lines, "\n"))
			continue
		}
		rest = slices.Delete(rest, i, i+1)
	}
	for _, l := range rest {
		t.Errorf("unexpected note: %s", l)
	}
}

type convertCase struct {
	name  string
	text  string
	want  func(h string) []acct // nil: nothing converted
	notes []string
}

// one is the base account changed by edit.
func one(edit func(a *acct, h string)) func(h string) []acct {
	return func(h string) []acct {
		a := base(h)
		edit(&a, h)
		return []acct{a}
	}
}

func runCases(t *testing.T, cases []convertCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := home(t)
			res, got := convert(t, tc.text)
			var want []acct
			if tc.want != nil {
				want = tc.want(h)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d accounts, want %d:\n%s", len(got), len(want), res.TOML)
			}
			for i := range want {
				if !equalAcct(got[i], want[i]) {
					t.Errorf("account %d:\n got %+v\nwant %+v\n%s", i, got[i], want[i], res.TOML)
				}
			}
			checkNotes(t, res.Notes, tc.notes)
		})
	}
}

// equalAcct compares accounts, a nil list equal to an empty one.
func equalAcct(a, b acct) bool {
	for _, l := range [][2][]string{{a.Calendars, b.Calendars}, {a.AddressBooks, b.AddressBooks}, {a.Sync, b.Sync}, {a.Window, b.Window}, {a.Components, b.Components}} {
		if !slices.Equal(l[0], l[1]) {
			return false
		}
	}
	a.Calendars, b.Calendars, a.AddressBooks, b.AddressBooks, a.Sync, b.Sync = nil, nil, nil, nil, nil, nil
	a.Window, b.Window, a.Components, b.Components = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestConvert_PairsAndCollections(t *testing.T) {
	runCases(t, []convertCase{
		{name: "FromServer_EveryCalendarInThePath", text: conf(fromA, server, calendars), want: one(func(*acct, string) {})},
		{name: "VdirsyncersExample_FolderIsA_FromBothSides_EveryCalendar",
			text: generalSec + "[pair cal]\na = \"folder\"\nb = \"server\"\ncollections = [\"from a\", \"from b\"]\nmetadata = [\"displayname\", \"color\"]\n\n" +
				"[storage folder]\ntype = \"filesystem\"\n" + calendars + "\n\n[storage server]\ntype = \"caldav\"\n" + server + "\n",
			want: one(func(*acct, string) {})},
		{name: "FromFolderOnly_EveryCalendarAndReported", text: conf(`collections = ["from b"]`, server, calendars),
			want: one(func(*acct, string) {}), notes: []string{`[pair cal] collections: "from b": vdird syncs every calendar the server lists`}},
		{name: "NamedCollections_Calendars", text: conf(`collections = ["work", "tasks", "work"]`, server, calendars),
			want: one(func(a *acct, _ string) { a.Calendars = []string{"work", "tasks"} })},
		{name: "FromServerAndNames_EveryCalendar", text: conf(`collections = ["from a", "work"]`, server, calendars),
			want: one(func(*acct, string) {})},
		{name: "AliasWithTheSameNameOnBothSides_Calendar", text: conf(`collections = [["w", "work", "work"]]`, server, calendars),
			want: one(func(a *acct, _ string) { a.Calendars = []string{"work"} })},
		{name: "AliasWithAnotherFolderName_RenameReported", text: conf(`collections = [["w", "work-cal", "work"], "home"]`, server, calendars),
			want:  one(func(a *acct, _ string) { a.Calendars, a.NoCreate = []string{"work-cal", "home"}, true }),
			notes: []string{`[pair cal] collections: ["w", "work-cal", "work"]: vdird keeps the calendar "work-cal" in a folder named after it: rename ~/.calendars/work to ~/.calendars/work-cal`}},
		{name: "AliasWithoutACollectionOnOneSide_Reported", text: conf(`collections = [["w", null, "work"], "home"]`, server, calendars),
			want:  one(func(a *acct, _ string) { a.Calendars = []string{"home"} }),
			notes: []string{`[pair cal] collections: not converted: ["w", null, "work"]: a side without a collection`}},
		{name: "NullCollections_URLIsTheCalendarPathItsFolder",
			text: conf("collections = null", "url = \"https://dav.example.org/alice/work/\"", "path = \"~/.calendars/work\"\nfileext = \".ics\""),
			want: one(func(a *acct, _ string) {
				a.URL, a.Username, a.Calendars = "https://dav.example.org/alice/work/", "", []string{"work"}
			})},
		{name: "NullCollectionsInAFolderOfAnotherName_RenameReported",
			text: conf("collections = null", "url = \"https://dav.example.org/alice/6D3F-11/\"", "path = \"/srv/cal/work/\"\nfileext = \".ics\""),
			want: one(func(a *acct, _ string) {
				a.URL, a.Username, a.LocalRoot, a.Calendars = "https://dav.example.org/alice/6D3F-11/", "", "/srv/cal", []string{"6D3F-11"}
				a.NoCreate = true
			}),
			notes: []string{"[pair cal] collections: null: vdird keeps the calendar at https://dav.example.org/alice/6D3F-11/ in a folder named after it: rename /srv/cal/work to /srv/cal/6D3F-11"}},
		{name: "NullCollectionsOnTheServerRoot_NotConverted", text: conf("collections = null", server, calendars),
			notes: []string{"[pair cal] collections: the pair is not converted: null makes the url https://dav.example.org/ one calendar, but it names none"}},
		{name: "EmptyCollections_NotConverted", text: conf("collections = []", server, calendars),
			notes: []string{"[pair cal] collections: the pair is not converted: []: no calendar to sync"}},
		{name: "MissingCollections_NotConverted", text: conf("", server, calendars),
			notes: []string{"[pair cal] collections: the pair is not converted: missing"}},
		{name: "ConflictResolutionServerSideWins_ServerWins", text: conf(fromA+"\nconflict_resolution = \"a wins\"", server, calendars),
			want: one(func(*acct, string) {})},
		{name: "ConflictResolutionFolderSideWins_LocalWins", text: conf(fromA+"\nconflict_resolution = \"b wins\"", server, calendars),
			want: one(func(a *acct, _ string) { a.Policy = "local-wins" })},
		{name: "ConflictResolutionWithTheServerAsB_FolderSideWins_LocalWins",
			text: generalSec + "[pair cal]\na = \"folder\"\nb = \"server\"\ncollections = [\"from b\"]\nconflict_resolution = \"a wins\"\n\n" +
				"[storage folder]\ntype = \"filesystem\"\n" + calendars + "\n\n[storage server]\ntype = \"caldav\"\n" + server + "\n",
			want: one(func(a *acct, _ string) { a.Policy = "local-wins" })},
		{name: "ConflictResolutionNull_Reported", text: conf(fromA+"\nconflict_resolution = null", server, calendars),
			want: one(func(*acct, string) {}), notes: []string{"[pair cal] conflict_resolution: null: vdirsyncer stops at an item changed on both sides"}},
		{name: "ConflictResolutionCommand_Reported", text: conf(fromA+"\nconflict_resolution = [\"command\", \"vimdiff\"]", server, calendars),
			want: one(func(*acct, string) {}), notes: []string{`[pair cal] conflict_resolution: not converted: ["command", "vimdiff"]: vdird runs no command`}},
		{name: "MetadataBeyondNameAndColour_Reported", text: conf(fromA+"\nmetadata = [\"color\", \"displayname\", \"description\", \"order\"]", server, calendars),
			want: one(func(*acct, string) {}), notes: []string{`[pair cal] metadata: "description", "order" not converted`}},
		{name: "PartialSyncAndImplicit_Reported", text: conf(fromA+"\npartial_sync = \"ignore\"\nimplicit = \"create\"", server, calendars),
			want:  one(func(*acct, string) {}),
			notes: []string{"[pair cal] partial_sync: not converted", "[pair cal] implicit: not converted: vdird has no such setting"}},
	})
}

func TestConvert_Credentials(t *testing.T) {
	runCases(t, []convertCase{
		{name: "PasswordFetchCommand_QuotedForTheShell", text: conf(fromA, server+"\npassword.fetch = [\"command\", \"~/bin/get pw\", \"it's\", \"--x=1\"]", calendars),
			want: one(func(a *acct, h string) { a.PasswordCommand = "'" + h + "/bin/get pw' 'it'\\''s' --x=1" })},
		{name: "PasswordFetchShell_TheLineAsIs", text: conf(fromA, server+"\npassword.fetch = [\"shell\", \"pass show dav | head -n1\"]", calendars),
			want: one(func(a *acct, _ string) { a.PasswordCommand = "pass show dav | head -n1" })},
		{name: "PasswordFetchPrintenv_PasswordEnv", text: conf(fromA, server+"\npassword.fetch = [\"command\", \"printenv\", \"DAV_PW\"]", calendars),
			want: one(func(a *acct, _ string) { a.PasswordEnv = "DAV_PW" })},
		{name: "PasswordFetchPrompt_Reported", text: conf(fromA, server+"\npassword.fetch = [\"prompt\", \"Password for CalDAV\"]", calendars),
			want: one(func(*acct, string) {}), notes: []string{"[storage server] password.fetch: not converted: a prompt"}},
		{name: "PasswordFetchUnknownStrategy_Reported", text: conf(fromA, server+"\npassword.fetch = [\"keyring\", \"x\"]", calendars),
			want: one(func(*acct, string) {}), notes: []string{`[storage server] password.fetch: not converted: ["keyring", "x"]: unknown fetch strategy`}},
		{name: "PasswordAndItsFetchBoth_Reported", text: conf(fromA, server+"\npassword = \"x\"\npassword.fetch = [\"command\", \"pass\"]", calendars),
			want: one(func(*acct, string) {}), notes: []string{"[storage server] password.fetch: set together with password"}},
		{name: "UsernameFetched_Reported", text: conf(fromA, "url = \"https://dav.example.org/\"\nusername.fetch = [\"command\", \"whoami\"]", calendars),
			want: one(func(a *acct, _ string) { a.Username = "" }), notes: []string{"[storage server] username.fetch: not converted: vdird takes username from its config"}},
		{name: "AuthDigest_Digest", text: conf(fromA, server+"\nauth = \"digest\"", calendars),
			want: one(func(a *acct, _ string) { a.Auth = "digest" })},
		{name: "AuthBasic_Basic", text: conf(fromA, server+"\nauth = \"basic\"", calendars),
			want: one(func(a *acct, _ string) { a.Auth = "basic" })},
		{name: "AuthGuess_Auto", text: conf(fromA, server+"\nauth = \"guess\"", calendars), want: one(func(*acct, string) {})},
		{name: "AuthUnknown_Reported", text: conf(fromA, server+"\nauth = \"ntlm\"", calendars),
			want: one(func(*acct, string) {}), notes: []string{`[storage server] auth: not converted: "ntlm"`}},
		{name: "URLWithAnUpperCaseScheme_LowerCased", text: conf(fromA, "url = \"HTTPS://dav.example.org/Alice/\"", calendars),
			want: one(func(a *acct, _ string) { a.URL, a.Username = "https://dav.example.org/Alice/", "" })},
		{name: "URLFetched_NotConverted", text: conf(fromA, "url.fetch = [\"command\", \"cat\", \"/u\"]", calendars),
			notes: []string{"[pair cal]: not converted: [storage server] url.fetch: vdird takes the URL from its config"}},
		{name: "URLNotHTTP_NotConverted", text: conf(fromA, "url = \"ftp://dav.example.org/\"", calendars),
			notes: []string{`[pair cal]: not converted: [storage server] url: "ftp://dav.example.org/": want an http:// or https:// URL`}},
		{name: "GoogleCalendar_OAuthClient", text: strings.Replace(conf(`collections = ["from a"]`,
			"token_file = \"~/.vdirsyncer/google\"\nclient_id = \"123.apps.googleusercontent.com\"\nclient_secret = \"GOCSPX-x\"", calendars), `"caldav"`, `"google_calendar"`, 1),
			want: one(func(a *acct, _ string) {
				a.URL, a.Username, a.Auth, a.ClientID, a.ClientSecret = googleURL, "", "oauth2", "123.apps.googleusercontent.com", "GOCSPX-x"
			}),
			notes: []string{"[storage server] token_file: not converted: vdird keeps a token of its own; run vdird authorize"}},
		{name: "GoogleCalendarSecretFetched_SecretCommand", text: strings.Replace(conf(`collections = ["from a"]`,
			"token_file = \"t\"\nclient_id = \"123\"\nclient_secret.fetch = [\"command\", \"pass\", \"google\"]", calendars), `"caldav"`, `"google_calendar"`, 1),
			want: one(func(a *acct, _ string) {
				a.URL, a.Username, a.Auth, a.ClientID, a.ClientSecretCommand = googleURL, "", "oauth2", "123", "pass google"
			}),
			notes: []string{"[storage server] token_file: not converted"}},
	})
}

func TestConvert_TLS(t *testing.T) {
	pin := strings.ReplaceAll(sha256Hex, ":", "")
	runCases(t, []convertCase{
		{name: "VerifyCAFile_CAFile", text: conf(fromA, server+"\nverify = \"~/ca.pem\"", calendars),
			want: one(func(a *acct, h string) { a.CAFile = filepath.Join(h, "ca.pem") })},
		{name: "VerifyRelativeCAFile_Reported", text: conf(fromA, server+"\nverify = \"ca.pem\"", calendars),
			want: one(func(*acct, string) {}), notes: []string{`[storage server] verify: not converted: "ca.pem" is relative`}},
		{name: "VerifyFalse_InsecureSkipVerify", text: conf(fromA, server+"\nverify = false", calendars),
			want: one(func(a *acct, _ string) { a.Insecure = true })},
		{name: "VerifyFalseWithSHA256Fingerprint_PinOnly", text: conf(fromA, server+"\nverify = false\nverify_fingerprint = \""+sha256Hex+"\"", calendars),
			want: one(func(a *acct, _ string) { a.Pin = pin })},
		{name: "SHA256FingerprintWithoutColons_Pin", text: conf(fromA, server+"\nverify_fingerprint = \""+pin+"\"", calendars),
			want: one(func(a *acct, _ string) { a.Pin = pin })},
		{name: "SHA1Fingerprint_ReportedAndVerificationStaysOn", text: conf(fromA, server+"\nverify = false\nverify_fingerprint = \""+sha1Hex+"\"", calendars),
			want: one(func(*acct, string) {}), notes: []string{"[storage server] verify_fingerprint: not converted: a SHA-1 fingerprint; vdird pins the SHA-256"}},
		{name: "VerifyFalseWithAFetchedFingerprint_ReportedAndVerificationStaysOn",
			text: conf(fromA, server+"\nverify = false\nverify_fingerprint.fetch = [\"command\", \"cat\", \"/fp\"]\nauth_cert.fetch = [\"command\", \"x\"]", calendars),
			want: one(func(*acct, string) {}),
			notes: []string{"[storage server] verify_fingerprint.fetch: not converted: vdird takes verify_fingerprint from its config",
				"[storage server] auth_cert.fetch: not converted"}},
		{name: "MD5Fingerprint_Reported", text: conf(fromA, server+"\nverify_fingerprint = \""+md5Hex+"\"", calendars),
			want: one(func(*acct, string) {}), notes: []string{"[storage server] verify_fingerprint: not converted: an MD5 fingerprint"}},
		{name: "FingerprintNotHex_Reported", text: conf(fromA, server+"\nverify_fingerprint = \"zz:11\"", calendars),
			want: one(func(*acct, string) {}), notes: []string{`[storage server] verify_fingerprint: not converted: "zz:11" is no certificate fingerprint`}},
		{name: "AuthCertOneFile_CertAndKey", text: conf(fromA, server+"\nauth_cert = \"/etc/dav/me.pem\"", calendars),
			want: one(func(a *acct, _ string) { a.CertFile, a.KeyFile = "/etc/dav/me.pem", "/etc/dav/me.pem" })},
		{name: "AuthCertTwoFiles_CertAndKey", text: conf(fromA, server+"\nauth_cert = [\"~/me.crt\", \"~/me.key\"]", calendars),
			want: one(func(a *acct, h string) {
				a.CertFile, a.KeyFile = filepath.Join(h, "me.crt"), filepath.Join(h, "me.key")
			})},
		{name: "UserAgentAndTimeout_Reported",
			text:  conf(fromA, server+"\nuseragent = \"x\"\ntimeout = 30", calendars),
			want:  one(func(*acct, string) {}),
			notes: []string{"[storage server] useragent: not converted", "[storage server] timeout: not converted: vdird has no such setting"}},
	})
}

func TestConvert_Storages(t *testing.T) {
	runCases(t, []convertCase{
		{name: "FileExtNotIcs_NotConverted", text: conf(fromA, server, "path = \"~/.calendars/\"\nfileext = \".ical\""),
			notes: []string{`[pair cal]: not converted: [storage folder] fileext: ".ical": vdird reads only .ics files here`}},
		{name: "RelativePath_NotConverted", text: conf(fromA, server, "path = \"cals\"\nfileext = \".ics\""),
			notes: []string{`[pair cal]: not converted: [storage folder] path: "cals" is relative`}},
		{name: "PathFetched_NotConverted", text: conf(fromA, server, "path.fetch = [\"command\", \"x\"]\nfileext = \".ics\""),
			notes: []string{"[pair cal]: not converted: [storage folder] path.fetch"}},
		{name: "ReadOnlyServer_NotConverted", text: conf(fromA, server+"\nread_only = true", calendars),
			notes: []string{"[pair cal]: not converted: [storage server] read_only: true"}},
		{name: "ReadOnlyFolder_NotConverted", text: conf(fromA, server, calendars+"\nread_only = true"),
			notes: []string{"[pair cal]: not converted: [storage folder] read_only: true"}},
		{name: "HooksAndEncoding_Reported", text: conf(fromA, server, calendars+"\npost_hook = \"notify\"\npre_deletion_hook = \"x\"\nencoding = \"latin-1\"\nfileignoreext = \".tmp\""),
			want:  one(func(*acct, string) {}),
			notes: []string{"[storage folder] post_hook: not converted", "[storage folder] pre_deletion_hook: not converted", `[storage folder] encoding: not converted: "latin-1"`}},
		{name: "HTTPFeed_NotConverted", text: strings.Replace(conf("collections = null", "url = \"https://example.org/holidays.ics\"", calendars), `"caldav"`, `"http"`, 1),
			notes: []string{"[pair cal]: not converted: [storage server] type: http: a read-only calendar feed"}},
		{name: "SingleFile_NotConverted", text: strings.Replace(conf(fromA, server, "path = \"~/cal.ics\""), `"filesystem"`, `"singlefile"`, 1),
			notes: []string{"[pair cal]: not converted: [storage folder] type: singlefile"}},
		{name: "TwoServers_NotConverted", text: strings.Replace(conf(fromA, server, server), `"filesystem"`, `"caldav"`, 1),
			notes: []string{`[pair cal]: not converted: [storage server] type: "caldav", and [storage folder] is "caldav": vdird syncs a CalDAV or CardDAV server with a filesystem folder`}},
		{name: "MissingStorage_NotConverted", text: generalSec + "[pair cal]\na = \"server\"\nb = \"folder\"\ncollections = null\n",
			notes: []string{"[pair cal] a: the pair is not converted: no [storage server] section"}},
		{name: "DefaultSectionAndUnknownSection_Reported", text: "[DEFAULT]\nfoo = 1\n\n[remote x]\ny = 2\n\n" + conf(fromA, server, calendars),
			want: one(func(*acct, string) {}), notes: []string{"[DEFAULT] foo: not converted", "[remote x]: not converted"}},
	})
}

func TestConvert_SeveralPairs(t *testing.T) {
	nullPair := func(name, user, cal, dir string) string {
		return "[pair " + name + "]\na = \"" + name + "_remote\"\nb = \"" + name + "_local\"\ncollections = null\n\n" +
			"[storage " + name + "_remote]\ntype = \"caldav\"\nurl = \"https://dav.example.org/" + user + "/" + cal + "/\"\nusername = \"" + user + "\"\n\n" +
			"[storage " + name + "_local]\ntype = \"filesystem\"\npath = \"~/.calendars/" + dir + "\"\nfileext = \".ics\"\n\n"
	}
	runCases(t, []convertCase{
		{name: "OneCalendarPerPairInOneFolder_OneAccount",
			text: generalSec + nullPair("work", "alice", "work", "work") + nullPair("home", "alice", "home", "home"),
			want: func(h string) []acct {
				return []acct{{Name: "work", URL: "https://dav.example.org/alice/work/", Username: "alice", LocalRoot: filepath.Join(h, ".calendars"),
					Calendars: []string{"home", "work"}, Policy: "server-wins", Auth: "auto"}}
			}},
		{name: "AnotherUserInTheSameFolder_NotConverted",
			text: generalSec + nullPair("work", "alice", "work", "work") + nullPair("bob", "bob", "bobs", "bobs"),
			want: func(h string) []acct {
				return []acct{{Name: "work", URL: "https://dav.example.org/alice/work/", Username: "alice", LocalRoot: filepath.Join(h, ".calendars"),
					Calendars: []string{"work"}, Policy: "server-wins", Auth: "auto"}}
			},
			notes: []string{"[pair bob]: not converted: its folder ~/.calendars is [pair work]'s too"}},
		{name: "PairNamesThatVdirdRefuses_Renamed",
			text: generalSec + strings.ReplaceAll(conf(fromA, server, calendars), "[pair cal]", "[pair _cal]") +
				"\n[pair cal]\na = \"server2\"\nb = \"folder2\"\ncollections = [\"from a\"]\n\n[storage server2]\ntype = \"caldav\"\n" + server +
				"\n\n[storage folder2]\ntype = \"filesystem\"\npath = \"/srv/c\"\nfileext = \".ics\"\n",
			want: func(h string) []acct {
				a, b := base(h), base(h)
				b.Name, b.LocalRoot = "cal-2", "/srv/c"
				return []acct{a, b}
			}},
	})
}

// TestConvert_FetchCommands_RunAsVdirsyncerRanThem runs the converted
// password_command through config, as vdird does, and checks it prints
// what vdirsyncer's fetch would have read.
func TestConvert_FetchCommands_RunAsVdirsyncerRanThem(t *testing.T) {
	h := home(t)
	bin := filepath.Join(h, "my bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(bin, "pw")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ fetch, want string }{
		{`["command", "~/my bin/pw", "it's a $HOME", "b;c"]`, `it's a $HOME|b;c`},
		{`["command", "~/my bin/pw", "a//b/"]`, `a/b|`}, // vdirsyncer normalises each argument as a path
		{`["shell", "printf '%s\\n' \"s3cr#t; x\" | head -n1"]`, `s3cr#t; x`},
		{`["shell", "printf '%s-%s\\n' \"$0\" \"$1\"", "zero", "one two"]`, `zero-one two`},
	} {
		res, got := convert(t, conf(fromA, server+"\npassword.fetch = "+tc.fetch, calendars))
		if len(got) != 1 || len(res.Notes) != 0 {
			t.Fatalf("%s: %d accounts, notes %v", tc.fetch, len(got), res.Notes)
		}
		a := config.Account{Name: "cal", PasswordCommand: got[0].PasswordCommand}
		pw, err := a.Password()
		if err != nil || pw != tc.want {
			t.Errorf("%s: password_command %q printed %q (%v), want %q", tc.fetch, got[0].PasswordCommand, pw, err, tc.want)
		}
	}
}

// TestConvert_PlainPassword_ReportedNeverWritten: vdird keeps no password
// in its config, so the converted one holds none.
func TestConvert_PlainPassword_ReportedNeverWritten(t *testing.T) {
	home(t)
	res, got := convert(t, conf(fromA, server+"\npassword = \"hunter2-secret\"", calendars))
	if len(got) != 1 || strings.Contains(string(res.TOML), "hunter2") {
		t.Fatalf("%d accounts; the config:\n%s", len(got), res.TOML)
	}
	checkNotes(t, res.Notes, []string{"[storage server] password: not converted: vdird keeps no password in its config"})
}

// TestParse_ConfigparserSyntax reads what Python's configparser reads:
// values continued on indented lines, ':' as the delimiter, keys in any
// case, # and ; inside values, whole-line comments, bare strings.
func TestParse_ConfigparserSyntax(t *testing.T) {
	text := "# a comment\n; another\n[general]\nstatus_path = \"~/.vdirsyncer/status/\"\n\n" +
		"[pair cal]\nA: \"server\"\nb = \"folder\"\ncollections = [\n    \"work\",\n    \"home\"\n  ]\n\n" +
		"[storage server]\ntype = \"caldav\"\nURL = \"https://dav.example.org/#frag;x\"\nPassword.Fetch = [\"shell\", \"pass dav # not a comment\"]\n\n" +
		"[storage folder]\ntype = filesystem\npath = ~/.calendars/\nfileext = .ics\n"
	c, err := Parse("config", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"cal":    {"a": "server", "b": "folder", "collections": []any{"work", "home"}},
		"server": {"type": "caldav", "url": "https://dav.example.org/#frag;x", "password.fetch": []any{"shell", "pass dav # not a comment"}},
		"folder": {"type": "filesystem", "path": "~/.calendars/", "fileext": ".ics"},
	}
	secs := map[string]*Section{"cal": c.Pairs[0], "server": c.Storages["server"], "folder": c.Storages["folder"]}
	for name, w := range want {
		if got := show(secs[name].Values); got != show(any(w)) {
			t.Errorf("[%s]: got %s, want %s", name, got, show(any(w)))
		}
	}
	if len(c.Notes) != 0 {
		t.Errorf("notes: %v", c.Notes)
	}
}

func TestParse_NoPairsOrNotText_Error(t *testing.T) {
	for _, text := range []string{generalSec, "[pair x\na = 1\n", "[pair x]\na = \"\xff\"\n"} {
		if _, err := Parse("config", []byte(text)); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

func TestDefaultPath_VdirsyncersOrder(t *testing.T) {
	h := home(t)
	t.Setenv("VDIRSYNCER_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(h, "xdg"))
	if got, want := DefaultPath(), filepath.Join(h, "xdg", "vdirsyncer", "config"); got != want {
		t.Errorf("XDG: %s, want %s", got, want)
	}
	old := filepath.Join(h, ".vdirsyncer", "config")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := DefaultPath(); got != old {
		t.Errorf("with ~/.vdirsyncer/config: %s, want it", got)
	}
	t.Setenv("VDIRSYNCER_CONFIG", "/etc/vs")
	if got := DefaultPath(); got != "/etc/vs" {
		t.Errorf("VDIRSYNCER_CONFIG: %s", got)
	}
}
