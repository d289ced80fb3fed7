package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one real CalDAV server process on loopback.
type server struct {
	Kind    string // "radicale" or "xandikos"
	URL     string // http://127.0.0.1:PORT/
	Dir     string // storage root
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	client  *http.Client
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// benchPassword is the password of every Radicale user the benchmark creates.
const benchPassword = "bench-secret"

// startRadicale starts Radicale 3 with a temp config: htpasswd (plain) for
// the given users, owner_only rights, storage under dir/collections.
func startRadicale(dir string, users []string) (*server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var hp strings.Builder
	for _, u := range users {
		fmt.Fprintf(&hp, "%s:%s\n", u, benchPassword)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(hp.String()), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	conf := fmt.Sprintf(`[server]
hosts = %s
max_content_length = 1000000000
timeout = 600
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[logging]
level = warning
`, addr, htpasswd, filepath.Join(dir, "collections"))
	confPath := filepath.Join(dir, "radicale.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s := &server{Kind: "radicale", URL: "http://" + addr + "/", Dir: filepath.Join(dir, "collections"), logPath: filepath.Join(dir, "radicale.log")}
	if err := s.start(dir, "radicale", "--config", confPath); err != nil {
		return nil, err
	}
	// Radicale creates a user's principal collection on first authenticated
	// access; do that now so the seeded calendars land inside a real principal.
	for _, u := range users {
		if err := s.waitReady(u, "/"+u+"/"); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

// startXandikos starts Xandikos on dir (which may hold seeded collections).
func startXandikos(dir string) (*server, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{Kind: "xandikos", URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Dir: dir, logPath: dir + ".log"}
	if err := s.start(filepath.Dir(dir), "xandikos", "-d", dir, "--defaults", "--current-user-principal", "/user/",
		"-l", "127.0.0.1", "-p", strconv.Itoa(port)); err != nil {
		return nil, err
	}
	if err := s.waitReady("user", "/user/calendars/"); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) start(home, bin string, args ...string) error {
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Env = append(os.Environ(), "HOME="+home)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.exited) }()
	// Warm-up requests on 10k+ items take minutes: no client timeout here.
	s.client = &http.Client{}
	return nil
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

func (s *server) waitReady(user, href string) error {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(s.logPath)
			return fmt.Errorf("%s exited before it was ready:\n%s", s.Kind, log)
		default:
		}
		code, _, err := s.do(context.Background(), user, "PROPFIND", href, map[string]string{"Depth": "0"},
			`<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>`)
		if err == nil && code == http.StatusMultiStatus {
			return nil
		}
		last = fmt.Errorf("PROPFIND %s: %d %v", href, code, err)
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready: %v", s.Kind, last)
}

// do sends one request straight to the server (not through a counter).
func (s *server) do(ctx context.Context, user, method, href string, hdr map[string]string, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(s.URL, "/")+href, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(user, benchPassword)
	if body != "" {
		if method == "PUT" {
			req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
		} else {
			req.Header.Set("Content-Type", "application/xml; charset=utf-8")
		}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// event returns one VEVENT object of about 1.4 KB (the size of a typical
// invitation with a description, close to the 13.7 MB / 10k of the issue).
func event(uid string, i int, summary string) []byte {
	var b bytes.Buffer
	day := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
	f := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	f("BEGIN:VCALENDAR")
	f("VERSION:2.0")
	f("PRODID:-//vdird bench//EN")
	f("BEGIN:VEVENT")
	f("UID:%s", uid)
	f("DTSTAMP:20250101T000000Z")
	f("DTSTART:%s", day.Format("20060102T150405Z"))
	f("DTEND:%s", day.Add(time.Hour).Format("20060102T150405Z"))
	f("SUMMARY:%s", summary)
	f("LOCATION:Room %d\\, building %d", i%40, i%7)
	f("ORGANIZER;CN=Alice Example:mailto:alice@example.org")
	f("ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED:mailto:bob@example.org")
	f("ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION:mailto:carol@example.org")
	f("CATEGORIES:work,bench")
	f("STATUS:CONFIRMED")
	f("SEQUENCE:0")
	desc := fmt.Sprintf("Benchmark event %d. ", i) + strings.Repeat("Agenda: review the numbers\\, plan the next steps and write them down. ", 10)
	// Fold at 75 octets (RFC 5545 §3.1), as real servers and clients do.
	line := "DESCRIPTION:" + desc
	for len(line) > 75 {
		b.WriteString(line[:75] + "\r\n ")
		line = line[75:]
	}
	f("%s", line)
	f("BEGIN:VALARM")
	f("ACTION:DISPLAY")
	f("DESCRIPTION:Reminder")
	f("TRIGGER:-PT15M")
	f("END:VALARM")
	f("END:VEVENT")
	f("END:VCALENDAR")
	return b.Bytes()
}

func itemName(i int) string { return fmt.Sprintf("bench-%06d.ics", i) }
func itemUID(i int) string  { return fmt.Sprintf("bench-%06d@vdird.bench", i) }

// seedRadicale writes n events straight into Radicale's storage folder
// (collection-root/USER/CAL/), which is how a 10k calendar is made in
// seconds rather than the minutes 10k PUTs take.
func seedRadicale(s *server, user, cal, display string, n int) error {
	dir := filepath.Join(s.Dir, "collection-root", user, cal)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	props, _ := json.Marshal(map[string]string{
		"tag":                                "VCALENDAR",
		"D:displayname":                      display,
		"C:supported-calendar-component-set": "VEVENT",
	})
	if err := os.WriteFile(filepath.Join(dir, ".Radicale.props"), props, 0o644); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, itemName(i)), event(itemUID(i), i, fmt.Sprintf("Meeting %d", i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// warm makes the server build its caches for a calendar (Radicale: item
// cache, collection etag, sync-token history), so timed runs see a warm server.
func (s *server) warm(user, calHref string) error {
	ctx := context.Background()
	steps := []struct {
		method, depth, body string
	}{
		{"PROPFIND", "0", `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/><sync-token/></prop></propfind>`},
		{"REPORT", "1", calendarQuery(true)},
		{"REPORT", "0", `<?xml version="1.0" encoding="utf-8"?><sync-collection xmlns="DAV:"><sync-token/><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>`},
	}
	for _, st := range steps {
		code, _, err := s.do(ctx, user, st.method, calHref, map[string]string{"Depth": st.depth}, st.body)
		if err != nil {
			return fmt.Errorf("warm %s %s: %w", st.method, calHref, err)
		}
		if code != http.StatusMultiStatus {
			return fmt.Errorf("warm %s %s: status %d", st.method, calHref, code)
		}
	}
	return nil
}

// calendarQuery is an RFC 4791 §7.8 calendar-query for every VEVENT, with or
// without the calendar data.
func calendarQuery(data bool) string {
	d := ""
	if data {
		d = "<C:calendar-data/>"
	}
	return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/>` + d + `</D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>
</C:calendar-query>`
}

// seedXandikos makes Xandikos storage in dir with one calendar holding n
// events, committed to the collection's git repository in one commit
// (Xandikos keeps one git repo per collection; a PUT costs one commit,
// about 25 per second, so 1,000 PUTs would take a minute).
func seedXandikos(dir, cal string, n int) error {
	// Let Xandikos create its default layout (principal, calendar home),
	// then add our calendar as one more git-backed collection.
	s, err := startXandikos(dir)
	if err != nil {
		return err
	}
	s.stop()
	cdir := filepath.Join(dir, "user", "calendars", cal)
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cdir, ".xandikos"), []byte("[DEFAULT]\ntype = calendar\ndisplayname = "+cal+"\n"), 0o644); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(cdir, itemName(i)), event(itemUID(i), i, fmt.Sprintf("Meeting %d", i)), 0o644); err != nil {
			return err
		}
	}
	git := func(args ...string) error {
		cmd := exec.Command("git", append([]string{"-C", cdir, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "seed"}} {
		if err := git(args...); err != nil {
			return err
		}
	}
	return nil
}
