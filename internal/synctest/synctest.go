// Package synctest is the fixture the engine's and the daemon's tests share:
// a real CalDAV server (internal/testserver) with one account holding an
// events and a tasks calendar (and address books, see AddAddressBook), a
// config pointing a local root at it, and helpers to read and write the
// synced files.
package synctest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/testserver"
)

// Env is one real server, one account with an events and a tasks calendar,
// and a local root.
type Env struct {
	T    *testing.T
	Srv  *testserver.Server
	Root string
	Cfg  *config.Config
	// Rec counts the requests of clients built with it (see Client).
	Rec *Recorder
	// Events and Tasks are the calendars' hrefs.
	Events, Tasks string
	// Contacts is the account's contacts root once AddAddressBook made an
	// address book; books are the address books' hrefs.
	Contacts string
	books    map[string]bool
}

// New starts a server of kind and sets up the fixture on it (see On).
func New(t *testing.T, kind testserver.Kind) *Env {
	t.Helper()
	return On(t, testserver.Start(t, kind))
}

// On sets up the fixture on a running server: it makes the two calendars
// and writes the account's password file.
func On(t *testing.T, srv *testserver.Server) *Env {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(srv.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Srv: srv, Root: filepath.Join(dir, "calendars"), Rec: &Recorder{}}
	e.Events = srv.MakeCalendar(t, "events", "Events", "VEVENT")
	e.Tasks = srv.MakeCalendar(t, "tasks", "Tasks", "VTODO")
	e.Cfg = &config.Config{
		StatePath:         filepath.Join(dir, "state", "state.db"),
		ConflictPolicy:    "server-wins",
		Interval:          config.DefaultInterval,
		RescanInterval:    config.DefaultRescanInterval,
		MaxDeleteFraction: 0.5,
		MaxDeleteMin:      5,
		Accounts: []config.Account{{Name: "test", URL: srv.URL, Username: srv.User, PasswordFile: pw,
			LocalRoot: e.Root, ConflictPolicy: "server-wins", Merge: true, Calendars: []string{e.Events, e.Tasks}}},
	}
	return e
}

// ForEachServer runs fn in parallel subtests, one per server kind
// (testserver.ForEach), each with a fixture of its own.
func ForEachServer(t *testing.T, fn func(t *testing.T, e *Env)) {
	testserver.ForEach(t, func(t *testing.T, srv *testserver.Server) { fn(t, On(t, srv)) })
}

// Client is an HTTP client whose requests Rec records.
func (e *Env) Client() *http.Client { return &http.Client{Transport: e.Rec} }

// SeedOnly seeds the calendar slug with n events, each under the file name
// and UID fmt.Sprintf(nameFmt, i) with the given summary, and makes it the
// only calendar synced. It returns its href.
func (e *Env) SeedOnly(slug string, n int, nameFmt, summary string) string {
	e.T.Helper()
	items := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf(nameFmt, i)
		items[uid+".ics"] = Event(uid, summary)
	}
	cal := e.Srv.SeedCalendar(e.T, slug, slug, items)
	e.Cfg.Accounts[0].Calendars = []string{cal}
	return cal
}

// AddAddressBook makes an address book on the server and has the account
// sync it into a contacts root beside Root, with its calendars. It returns
// the address book's href; File and the helpers below take it as they
// take a calendar's.
func (e *Env) AddAddressBook(slug, displayName string) string {
	e.T.Helper()
	href := e.Srv.MakeAddressBook(e.T, slug, displayName)
	if e.books == nil {
		e.books = map[string]bool{}
		e.Contacts = filepath.Join(filepath.Dir(e.Root), "contacts")
	}
	e.books[href] = true
	a := &e.Cfg.Accounts[0]
	a.Sync = []string{config.SyncCalendars, config.SyncAddressBooks}
	a.ContactsRoot, a.VCardVersion = e.Contacts, config.DefaultVCardVersion
	a.AddressBooks = append(a.AddressBooks, href)
	return href
}

// File is the local path of item name of calendar (or address book) cal.
func (e *Env) File(cal, name string) string {
	if e.books[cal] {
		return filepath.Join(e.Contacts, CalDir(cal), name)
	}
	return filepath.Join(e.Root, CalDir(cal), name)
}

// CalDir is the local folder name of a calendar href.
func CalDir(href string) string { return filepath.Base(strings.TrimSuffix(href, "/")) }

// ReadFile reads a synced file or fails the test.
func (e *Env) ReadFile(cal, name string) []byte {
	e.T.Helper()
	b, err := os.ReadFile(e.File(cal, name))
	if err != nil {
		e.T.Fatal(err)
	}
	return b
}

// WriteFile writes a file into the calendar's folder, as an editor would.
func (e *Env) WriteFile(cal, name string, data []byte) {
	e.T.Helper()
	if err := os.WriteFile(e.File(cal, name), data, 0o600); err != nil {
		e.T.Fatal(err)
	}
}

// HasConflictCopy tells whether cal holds a conflict copy of name whose
// content contains want.
func (e *Env) HasConflictCopy(cal, name, want string) bool {
	e.T.Helper()
	for _, n := range e.LocalNames(cal) {
		if strings.HasPrefix(n, name+".conflict-") && bytes.Contains(e.ReadFile(cal, n), []byte(want)) {
			return true
		}
	}
	return false
}

// LocalNames lists the calendar's folder, sorted.
func (e *Env) LocalNames(cal string) []string {
	e.T.Helper()
	ents, err := os.ReadDir(filepath.Dir(e.File(cal, "x")))
	if err != nil {
		e.T.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	sort.Strings(out)
	return out
}

// Event is a small VEVENT with a folded line, as servers and khal write them.
func Event(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250301T100000Z\r\nSUMMARY:" + summary +
		"\r\nX-VDIRD-TEST:a long property value that is folded because it is longer than seventy-five octets \r\n in total\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

// Card is a vCard of the given version with a folded line, as servers and
// khard write them.
func Card(version, uid, fn string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:" + version + "\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\n" +
		"NOTE:a long note that is folded because it is longer than seventy-five oc\r\n tets in total\r\nEND:VCARD\r\n")
}

// PhotoCard is a vCard 3.0 whose inline PHOTO makes it about size bytes.
func PhotoCard(uid string, size int) []byte {
	enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff, 0xd8, 0x17}, size/4))
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:Pat Photo\r\nN:Photo;Pat;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:")
	for i := 0; i < len(enc); i += 74 {
		if i > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString(enc[i:min(i+74, len(enc))])
	}
	b.WriteString("\r\nEND:VCARD\r\n")
	return []byte(b.String())
}

// Task is a small VTODO.
func Task(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird test//EN\r\nBEGIN:VTODO\r\nUID:" + uid +
		"\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:" + summary + "\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
}

// Recorder is a RoundTripper that counts requests and keeps their
// precondition headers, so tests assert what reached the server.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// Request is one recorded request.
type Request struct {
	Method, Path, IfMatch, IfNoneMatch string
}

// RoundTrip records req and sends it.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, Request{req.Method, req.URL.Path, req.Header.Get("If-Match"), req.Header.Get("If-None-Match")})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// Writes returns the PUTs and DELETEs among reqs.
func Writes(reqs []Request) []Request {
	return slices.DeleteFunc(slices.Clone(reqs), func(r Request) bool { return r.Method != http.MethodPut && r.Method != http.MethodDelete })
}

// Take returns the requests recorded since the last Take.
func (r *Recorder) Take() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}
