// Package testserver starts real CalDAV servers (Radicale, Xandikos) on a free
// loopback port with their own storage directory, for integration tests and
// for the benchmark, and writes vdird config files that point at them.
//
// Servers are real processes, not fakes, because the point of the integration
// tests is to learn how real servers answer (body rewriting, odd XML, missing
// preconditions). Each server lives in its own process group. Start ties one
// to a test (killed through t.Cleanup); Launch starts one that lives until
// Stop, for a program such as the benchmark.
package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Kind names a server implementation.
type Kind string

// The server kinds integration tests run against.
const (
	Radicale Kind = "radicale"
	Xandikos Kind = "xandikos"
)

// Server is one running server.
type Server struct {
	Kind           Kind
	URL            string // base URL, e.g. "http://127.0.0.1:PORT/" (what a user would configure)
	User, Password string
	HomeHref       string // calendar home path, e.g. "/alice/" (radicale) or "/user/calendars/" (xandikos)
	BookHomeHref   string // address book home path, e.g. "/alice/" (radicale) or "/user/contacts/" (xandikos)
	Storage        string // storage dir on disk

	client *http.Client
	proc   *process
}

// Options configures a server started with Launch.
type Options struct {
	// Dir holds the server's storage and configuration; one server's own.
	Dir string
	// Users are Radicale's accounts, all with Server.Password; the first
	// is Server.User (see As for the others). Empty means one account,
	// "alice". Xandikos has no accounts and ignores them.
	Users []string
	// NoAuth makes Radicale check no password: the user is the name in any
	// Basic credentials. For a server behind an authenticating proxy.
	NoAuth bool
}

// All returns the kinds every integration test runs against.
func All() []Kind { return []Kind{Radicale, Xandikos} }

// readyTimeout bounds a server's start-up; helperTimeout one request of the
// test helpers below.
const (
	readyTimeout  = 30 * time.Second
	helperTimeout = 30 * time.Second
)

// Start starts one server for t in a temp directory and stops it when t
// ends. A missing binary fails or skips the test as Need says.
func Start(t testing.TB, kind Kind) *Server {
	t.Helper()
	if !known(kind) {
		t.Fatalf("testserver: unknown kind %q", kind)
	}
	Need(t, string(kind))
	s, err := Launch(kind, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Need fails t when one of the programs (a name on PATH or an absolute
// path) is not installed and the CI environment variable is non-empty, and
// skips it otherwise, so a developer without the servers installed can
// still run the unit tests.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			Unavailable(t, "testserver: %s not installed (%v); install its Debian package to run this test", p, err)
		}
	}
}

func known(kind Kind) bool { return kind == Radicale || kind == Xandikos }

// Launch starts a server in opt.Dir that runs until Stop is called.
func Launch(kind Kind, opt Options) (*Server, error) {
	if !known(kind) {
		return nil, fmt.Errorf("testserver: unknown kind %q", kind)
	}
	if opt.Dir == "" {
		return nil, errors.New("testserver: Options.Dir is empty")
	}
	if len(opt.Users) == 0 {
		opt.Users = []string{"alice"}
	}
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	var lastErr error
	// A port picked by listening on :0 can be taken by someone else before the
	// server binds it, so retry a few times with a fresh port.
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("testserver: free port: %w", err)
		}
		s, err := launch(kind, opt, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	return nil, fmt.Errorf("testserver: start %s: %w", kind, lastErr)
}

var errPortInUse = errors.New("port in use")

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launch(kind Kind, opt Options, port int) (*Server, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// No client timeout: a benchmark's first request to a big calendar may
	// be slow. Callers bound requests with their context.
	s := &Server{Kind: kind, URL: "http://" + addr + "/", Storage: opt.Dir, client: &http.Client{}}
	users := opt.Users
	var argv []string
	switch kind {
	case Radicale:
		var err error
		if argv, err = s.radicale(addr, users, opt.NoAuth); err != nil {
			return nil, err
		}
	case Xandikos:
		// Xandikos has no authentication; it ignores whatever credentials come.
		s.User, s.Password, s.HomeHref, s.BookHomeHref = "user", "unused", "/user/calendars/", "/user/contacts/"
		users = []string{s.User}
		argv = []string{"xandikos", "-d", s.Storage, "--defaults",
			"--current-user-principal", "/user/", "-l", "127.0.0.1", "-p", strconv.Itoa(port)}
	}
	p, err := startProcess(opt.Dir, argv...)
	if err != nil {
		return nil, err
	}
	s.proc = p
	// Radicale creates a user's principal collection on first access:
	// every account gets one now, so calendars can be seeded into it.
	for _, u := range users {
		if err := s.As(u).waitReady(); err != nil {
			p.stop()
			log := p.out.String()
			if strings.Contains(strings.ToLower(log), "address already in use") {
				return nil, fmt.Errorf("%w: %v", errPortInUse, err)
			}
			return nil, fmt.Errorf("%v; server output:\n%s", err, log)
		}
	}
	return s, nil
}

// radicale writes Radicale's password and rights files into s.Storage and
// returns its command line. An empty --config keeps the user's own
// ~/.config/radicale out.
func (s *Server) radicale(addr string, users []string, noAuth bool) ([]string, error) {
	s.User, s.Password = users[0], "secret-"+addr[strings.LastIndexByte(addr, ':')+1:]
	s.HomeHref = "/" + s.User + "/"
	s.BookHomeHref = s.HomeHref
	var htpasswd strings.Builder
	for _, u := range users {
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, s.Password)
	}
	hp, rights := filepath.Join(s.Storage, "htpasswd"), filepath.Join(s.Storage, "rights")
	if err := os.WriteFile(hp, []byte(htpasswd.String()), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(rights, []byte(radicaleRights), 0o600); err != nil {
		return nil, err
	}
	auth := []string{"--auth-type", "htpasswd", "--auth-htpasswd-filename", hp, "--auth-htpasswd-encryption", "plain"}
	if noAuth {
		auth = []string{"--auth-type", "none"}
	}
	return append([]string{"radicale", "--config", "",
		"--server-hosts", addr,
		// Big seeded calendars: large uploads and slow first answers.
		"--server-max-content-length", "1000000000",
		"--server-timeout", "600",
		"--storage-filesystem-folder", filepath.Join(s.Storage, "collections"),
		"--rights-type", "from_file",
		"--rights-file", rights,
		"--logging-level", "warning",
	}, auth...), nil
}

// As returns the same server seen by another of its Radicale accounts
// (Options.Users): requests go as that user and HomeHref is theirs. On
// Xandikos only User changes.
func (s *Server) As(user string) *Server {
	v := *s
	v.User = user
	if s.Kind == Radicale {
		v.HomeHref = "/" + user + "/"
		v.BookHomeHref = v.HomeHref
	}
	return &v
}

// Stop ends the server: SIGTERM to its process group, SIGKILL after 5 s.
// Calling it again does nothing.
func (s *Server) Stop() { s.proc.stop() }

// Output returns what the server has printed so far.
func (s *Server) Output() string { return s.proc.out.String() }

// process is a server's child process and what it prints.
type process struct {
	cmd    *exec.Cmd
	out    *Buffer
	exited chan struct{}
	once   sync.Once
}

func startProcess(home string, argv ...string) (*process, error) {
	p := &process{out: &Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "HOME="+home) // no stray user config
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", argv[0], err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

func (p *process) stop() {
	p.once.Do(func() {
		// Kill the whole process group: python servers may fork helpers.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
}

// Buffer collects a child process's output while another goroutine reads
// it: a server's here, a vdird's in the tests that run the binary.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const propfindType = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>`

// waitReady polls the server with a PROPFIND of the home until it answers
// 207 (for Radicale the home is created on first authenticated access).
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.proc.exited:
			return errors.New("server exited before it was ready")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, _, err := s.Do(ctx, "PROPFIND", s.HomeHref, map[string]string{"Depth": "0"}, []byte(propfindType))
		cancel()
		if err == nil && resp.StatusCode == http.StatusMultiStatus {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("PROPFIND %s: %s", s.HomeHref, resp.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %v", readyTimeout, last)
}

// Do sends one request to the server as s.User and returns the answer with
// its body read. A body is typed text/calendar for a PUT and XML otherwise,
// unless hdr says. Do needs no testing.TB: it serves programs and hooks
// that run where t.Fatal must not be called.
func (s *Server) Do(ctx context.Context, method, href string, hdr map[string]string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(s.URL, "/")+href, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth(s.User, s.Password)
	if len(body) > 0 {
		ct := "application/xml; charset=utf-8"
		switch {
		case method == http.MethodPut && bytes.HasPrefix(bytes.ToUpper(body[:min(len(body), 11)]), []byte("BEGIN:VCARD")):
			ct = "text/vcard; charset=utf-8"
		case method == http.MethodPut:
			ct = "text/calendar; charset=utf-8"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", method, href, err)
	}
	return resp, b, nil
}

// must is Do for the test helpers: it fails t on a network error or on a
// status ok refuses.
func (s *Server) must(t testing.TB, method, href string, hdr map[string]string, body []byte, ok func(status int) bool) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout)
	defer cancel()
	resp, b, err := s.Do(ctx, method, href, hdr, body)
	if err != nil {
		t.Fatalf("testserver: %s %s: %v", method, href, err)
	}
	if !ok(resp.StatusCode) {
		t.Fatalf("testserver: %s %s: %s: %s", method, href, resp.Status, b)
	}
	return resp, b
}

func success(status int) bool { return status/100 == 2 }

func is(want ...int) func(int) bool {
	return func(status int) bool { return slices.Contains(want, status) }
}

// MakeCalendar creates a calendar collection below HomeHref (RFC 4791 §5.3.1
// MKCALENDAR via plain net/http) and returns its href path, ending in "/".
// Xandikos 0.2 ignores the component set (it reports all components).
func (s *Server) MakeCalendar(t testing.TB, name, displayName string, components ...string) string {
	t.Helper()
	href := s.HomeHref + name + "/"
	var comps strings.Builder
	for _, c := range components {
		fmt.Fprintf(&comps, `<C:comp name="%s"/>`, c)
	}
	body := `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>` +
		`<D:displayname>` + xmlEscape(displayName) + `</D:displayname>`
	if len(components) > 0 {
		body += `<C:supported-calendar-component-set>` + comps.String() + `</C:supported-calendar-component-set>`
	}
	body += `</D:prop></D:set></C:mkcalendar>`
	s.must(t, "MKCALENDAR", href, nil, []byte(body), is(http.StatusCreated))
	return href
}

// MakeAddressBook creates an address book collection below BookHomeHref
// (an extended MKCOL, RFC 5689 §3, with the CardDAV resourcetype, RFC 6352
// §6.3.1) and returns its href path, ending in "/".
func (s *Server) MakeAddressBook(t testing.TB, name, displayName string) string {
	t.Helper()
	href := s.BookHomeHref + name + "/"
	body := `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:A="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` +
		`<D:resourcetype><D:collection/><A:addressbook/></D:resourcetype>` +
		`<D:displayname>` + xmlEscape(displayName) + `</D:displayname></D:prop></D:set></D:mkcol>`
	s.must(t, "MKCOL", href, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(body), is(http.StatusCreated))
	return href
}

func xmlEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;").Replace(s)
}

// Put stores raw bytes at href with no preconditions — the "phone" that changes
// the calendar behind vdird's back — and returns the ETag the server gave ("" if none).
func (s *Server) Put(t testing.TB, href string, body []byte) string {
	t.Helper()
	resp, _ := s.must(t, http.MethodPut, href, nil, body, success)
	return resp.Header.Get("ETag")
}

// Get fetches href; a 404 gives (nil, "").
func (s *Server) Get(t testing.TB, href string) (body []byte, etag string) {
	t.Helper()
	resp, b := s.must(t, http.MethodGet, href, nil, nil, is(http.StatusOK, http.StatusNotFound))
	if resp.StatusCode == http.StatusNotFound {
		return nil, ""
	}
	return b, resp.Header.Get("ETag")
}

// Delete removes href unconditionally; a 404 is fine.
func (s *Server) Delete(t testing.TB, href string) {
	t.Helper()
	s.must(t, http.MethodDelete, href, nil, nil, func(status int) bool { return success(status) || status == http.StatusNotFound })
}

var hrefRe = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?href>([^<]+)</(?:[A-Za-z0-9]+:)?href>`)

// Members lists the paths of a calendar's members with a plain Depth-1
// PROPFIND, independent of the client under test.
func (s *Server) Members(t testing.TB, calHref string) []string {
	t.Helper()
	_, body := s.must(t, "PROPFIND", calHref, map[string]string{"Depth": "1"},
		[]byte(`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`), is(http.StatusMultiStatus))
	var out []string
	for _, m := range hrefRe.FindAllStringSubmatch(string(body), -1) {
		h := m[1]
		if i := strings.Index(h, "://"); i >= 0 {
			h = h[i+3:]
			h = h[strings.IndexByte(h, '/'):]
		}
		if strings.TrimSuffix(h, "/") != strings.TrimSuffix(calHref, "/") {
			out = append(out, h)
		}
	}
	return out
}

// ForEach runs fn in parallel subtests, one per kind in All, each with a
// server of its own.
func ForEach(t *testing.T, fn func(t *testing.T, s *Server)) {
	for _, kind := range All() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			fn(t, Start(t, kind))
		})
	}
}
