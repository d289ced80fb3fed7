// Package testserver starts real CalDAV servers (Radicale, Xandikos) on a free
// loopback port with a throw-away storage directory, for integration tests.
//
// Servers are real processes, not fakes, because the point of the integration
// tests is to learn how real servers answer (body rewriting, odd XML, missing
// preconditions). Each server lives in its own process group and is killed at
// test end through t.Cleanup.
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
	Storage        string // storage dir on disk

	client *http.Client
}

// All returns the kinds every integration test runs against.
func All() []Kind { return []Kind{Radicale, Xandikos} }

const readyTimeout = 20 * time.Second

// Start starts one server for t. If the binary is missing it fails the test
// when the CI environment variable is non-empty and skips it otherwise, so a
// developer without the servers installed can still run the unit tests.
func Start(t testing.TB, kind Kind) *Server {
	t.Helper()
	var bin string
	switch kind {
	case Radicale, Xandikos:
		bin = string(kind)
	default:
		t.Fatalf("testserver: unknown kind %q", kind)
	}
	if _, err := exec.LookPath(bin); err != nil {
		msg := fmt.Sprintf("testserver: %s not installed (%v); install the Debian package %q to run integration tests", bin, err, bin)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	var lastErr error
	// A port picked by listening on :0 can be taken by someone else before the
	// server binds it, so retry a few times with a fresh port.
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testserver: free port: %v", err)
		}
		s, err := start(t, kind, dir, port)
		if err == nil {
			return s
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatalf("testserver: start %s: %v", kind, lastErr)
	return nil
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

// lockedBuffer collects a child's output; the child writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t testing.TB, kind Kind, dir string, port int) (*Server, error) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{
		Kind:   kind,
		URL:    "http://" + addr + "/",
		client: &http.Client{Timeout: 30 * time.Second},
	}
	var cmd *exec.Cmd
	switch kind {
	case Radicale:
		s.User, s.Password = "alice", "secret-"+strconv.Itoa(port)
		s.HomeHref = "/alice/"
		s.Storage = filepath.Join(dir, "radicale-"+strconv.Itoa(port))
		if err := os.MkdirAll(s.Storage, 0o700); err != nil {
			return nil, err
		}
		htpasswd := filepath.Join(s.Storage, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(s.User+":"+s.Password+"\n"), 0o600); err != nil {
			return nil, err
		}
		rights := filepath.Join(s.Storage, "rights")
		if err := os.WriteFile(rights, []byte(radicaleRights), 0o600); err != nil {
			return nil, err
		}
		// --config "" keeps the user's ~/.config/radicale out of the test.
		cmd = exec.Command("radicale", "--config", "",
			"--server-hosts", addr,
			"--storage-filesystem-folder", filepath.Join(s.Storage, "collections"),
			"--auth-type", "htpasswd",
			"--auth-htpasswd-filename", htpasswd,
			"--auth-htpasswd-encryption", "plain",
			"--rights-type", "from_file",
			"--rights-file", rights,
			"--logging-level", "warning",
		)
	case Xandikos:
		// Xandikos has no authentication; it ignores whatever credentials come.
		s.User, s.Password = "user", "unused"
		s.HomeHref = "/user/calendars/"
		s.Storage = filepath.Join(dir, "xandikos-"+strconv.Itoa(port))
		cmd = exec.Command("xandikos", "-d", s.Storage, "--defaults",
			"--current-user-principal", "/user/",
			"-l", "127.0.0.1", "-p", strconv.Itoa(port))
	}
	out := &lockedBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = append(os.Environ(), "HOME="+dir) // no stray user config
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", kind, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		// Kill the whole process group: python servers may fork helpers.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	if err := s.waitReady(exited); err != nil {
		stop()
		log := out.String()
		if strings.Contains(log, "Address already in use") || strings.Contains(log, "address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return nil, fmt.Errorf("%v; server output:\n%s", err, log)
	}
	t.Cleanup(stop)
	return s, nil
}

// waitReady polls the server with an authenticated PROPFIND of the home until
// it answers 207 (for Radicale the home is created on first authenticated access).
func (s *Server) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("server exited before it was ready")
		default:
		}
		resp, err := s.do(context.Background(), "PROPFIND", s.HomeHref, map[string]string{"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
			[]byte(`<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>`))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusMultiStatus {
				return nil
			}
			last = fmt.Errorf("PROPFIND %s: %s", s.HomeHref, resp.Status)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %v", readyTimeout, last)
}

func (s *Server) abs(href string) string {
	return strings.TrimSuffix(s.URL, "/") + href
}

func (s *Server) do(ctx context.Context, method, href string, hdr map[string]string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.abs(href), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(s.User, s.Password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return s.client.Do(req)
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
	resp, err := s.do(context.Background(), "MKCALENDAR", href, map[string]string{"Content-Type": "application/xml; charset=utf-8"}, []byte(body))
	if err != nil {
		t.Fatalf("testserver: MKCALENDAR %s: %v", href, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("testserver: MKCALENDAR %s: %s: %s", href, resp.Status, b)
	}
	return href
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Put stores raw bytes at href with no preconditions — the "phone" that changes
// the calendar behind vdird's back — and returns the ETag the server gave ("" if none).
func (s *Server) Put(t testing.TB, href string, body []byte) string {
	t.Helper()
	resp, err := s.do(context.Background(), http.MethodPut, href, map[string]string{"Content-Type": "text/calendar; charset=utf-8"}, body)
	if err != nil {
		t.Fatalf("testserver: PUT %s: %v", href, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("testserver: PUT %s: %s: %s", href, resp.Status, b)
	}
	return resp.Header.Get("ETag")
}

// Get fetches href; a 404 gives (nil, "").
func (s *Server) Get(t testing.TB, href string) (body []byte, etag string) {
	t.Helper()
	resp, err := s.do(context.Background(), http.MethodGet, href, nil, nil)
	if err != nil {
		t.Fatalf("testserver: GET %s: %v", href, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("testserver: GET %s: %v", href, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, ""
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testserver: GET %s: %s: %s", href, resp.Status, b)
	}
	return b, resp.Header.Get("ETag")
}

// Delete removes href unconditionally; a 404 is fine.
func (s *Server) Delete(t testing.TB, href string) {
	t.Helper()
	resp, err := s.do(context.Background(), http.MethodDelete, href, nil, nil)
	if err != nil {
		t.Fatalf("testserver: DELETE %s: %v", href, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("testserver: DELETE %s: %s: %s", href, resp.Status, b)
	}
}

// radicaleRights is owner_only, except that the owner's calendars named
// "readonly…" are read-only (RFC 3744 current-user-privilege-set then
// lacks write), for tests of read-only calendars. Create them with
// SeedCalendar: MKCALENDAR there is refused.
const radicaleRights = `[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[readonly]
user: .+
collection: {user}/readonly[^/]*
permissions: r

[calendars]
user: .+
collection: {user}/[^/]+
permissions: rw
`

// SeedCalendar creates a calendar directly in Radicale's storage folder,
// with the given items (file name → bytes) — far faster than PUTs, and the
// only way to make a read-only ("readonly…") calendar. Radicale only.
func (s *Server) SeedCalendar(t testing.TB, name, displayName string, items map[string][]byte) string {
	t.Helper()
	if s.Kind != Radicale {
		t.Fatalf("testserver: SeedCalendar needs Radicale, not %s", s.Kind)
	}
	dir := filepath.Join(s.Storage, "collections", "collection-root", s.User, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	props := fmt.Sprintf(`{"tag": "VCALENDAR", "D:displayname": %q}`, displayName)
	if err := os.WriteFile(filepath.Join(dir, ".Radicale.props"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	for n, data := range items {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s.HomeHref + name + "/"
}
