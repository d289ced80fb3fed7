package davclient

// The hostile-server suite: httptest servers that answer what no real server
// would, to prove the client neither escapes the collection, nor reads local
// files, nor exhausts memory, nor leaks credentials. Cases already covered
// elsewhere: TestListETags_HrefOutsideCollection_SkippedAndReported (other
// paths, %2e%2e, other host in a listing), webdav's TestParse_DoctypeWith
// Entities_RefusedNotExpanded and TestParse_DeepNesting_ErrMalformed (10^4
// deep), TestRedirect_ToAnotherHost_NeverFollowedNoCredentialsLeak,
// TestSizeCaps_OversizedBodies_ErrTooLarge, TestCreate_201WithLocation_
// ReturnsServerChosenHref.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/davtest"
	"github.com/vdird/vdird/vdir"
)

func response(href, etag, data string) string {
	s := `<d:response><d:href>` + href + `</d:href><d:propstat><d:prop><d:getetag>` + etag + `</d:getetag>`
	if data != "" {
		s += `<c:calendar-data>` + data + `</c:calendar-data>`
	}
	return s + `</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`
}

const msOpen = `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`

// hostileHrefs are member hrefs a server could list for /cal/.
var hostileHrefs = []string{
	"/cal/../etc/passwd.ics",
	"/cal/a/../../x.ics",
	"../x.ics",
	"/cal/%2e%2e/x.ics",
	"/cal/%2E%2e%2fescape.ics",
	"/cal/..%2f..%2fescape.ics",
	"/cal/%2e%2e%5c..%5cwin.ics",
	"/other/x.ics",
	"/etc/passwd",
	"http://evil.example/cal/x.ics",
	"//evil.example/cal/x.ics",
	"https://127.0.0.1:1/cal/x.ics",
	"file:///etc/passwd",
	"/cal/a%00b.ics",
	"/cal/%00",
	"/cal/" + strings.Repeat("n", 1000) + ".ics",
	"/cal/" + strings.Repeat("%41", 1000) + ".ics",
	"/cal/.hidden.ics",
	"/cal/sub/nested.ics",
	"/cal/./dot.ics",
	"/cal/a.ics.conflict-20250101T000000Z",
	"/cal/",
	"/cal",
}

// TestHostile_Hrefs_NeverLeaveCollectionOrMapToUnsafeNames lists every
// hostile href through each listing call; whatever is accepted must be a
// member of /cal/ whose file name (vdir.NameForHref) is safe.
func TestHostile_Hrefs_NeverLeaveCollectionOrMapToUnsafeNames(t *testing.T) {
	var body strings.Builder
	body.WriteString(msOpen)
	for i, h := range hostileHrefs {
		body.WriteString(response(h, fmt.Sprintf(`"%d"`, i), "BEGIN:VCALENDAR&#13;\nEND:VCALENDAR&#13;\n"))
	}
	body.WriteString(`<d:sync-token>tok</d:sync-token></d:multistatus>`)
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) { davtest.MultiStatus(w, body.String()) })

	check := func(call, href string) {
		t.Helper()
		if !strings.HasPrefix(href, "/cal/") || len(href) == len("/cal/") {
			t.Errorf("%s: accepted %q outside /cal/", call, href)
		}
		for _, seg := range strings.Split(href, "/") {
			if seg == ".." || seg == "." || strings.Contains(strings.ToLower(seg), "%2e%2e") {
				t.Errorf("%s: accepted dot segment in %q", call, href)
			}
		}
		if strings.ContainsRune(href, 0) {
			t.Errorf("%s: NUL in %q", call, href)
		}
		name := vdir.NameForHref(href, vdir.ICS)
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") ||
			len(name) > 255 || !strings.HasSuffix(name, ".ics") {
			t.Errorf("%s: href %q maps to unsafe file name %q", call, href, name)
		}
	}
	var accepted []string
	items, err := c.ListETags(bg(), Calendar{Href: "/cal/"})
	if !errors.Is(err, ErrOutsideCollection) {
		t.Errorf("ListETags: err %v, want ErrOutsideCollection reported", err)
	}
	for _, it := range items {
		check("ListETags", it.Href)
		accepted = append(accepted, it.Href)
	}
	err = c.Download(bg(), Calendar{Href: "/cal/"}, func(o Object) error { check("Download", o.Href); return nil })
	if !errors.Is(err, ErrOutsideCollection) {
		t.Errorf("Download: err %v, want ErrOutsideCollection reported", err)
	}
	res, err := c.SyncCollection(bg(), "/cal/", "old")
	if !errors.Is(err, ErrOutsideCollection) && err != nil {
		t.Errorf("SyncCollection: %v", err)
	}
	for _, it := range res.Changed {
		check("SyncCollection", it.Href)
	}
	err = c.Multiget(bg(), Calendar{Href: "/cal/"}, []string{"/cal/a.ics"}, func(o Object) error { check("Multiget", o.Href); return nil })
	if !errors.Is(err, ErrOutsideCollection) {
		t.Errorf("Multiget: err %v, want ErrOutsideCollection reported", err)
	}
	// Multiget refuses to even ask for a hostile href.
	for _, h := range []string{"/cal/../x.ics", "/cal/%2e%2e/x.ics", "http://evil.example/cal/x.ics", "/other/x.ics"} {
		if err := c.Multiget(bg(), Calendar{Href: "/cal/"}, []string{h}, func(Object) error { return nil }); !errors.Is(err, ErrOutsideCollection) {
			t.Errorf("Multiget(%q): %v, want ErrOutsideCollection", h, err)
		}
	}
	t.Logf("accepted as members: %d of %d hostile hrefs: %.80q", len(accepted), len(hostileHrefs), accepted)

	// A NUL character reference is not XML at all (XML 1.0 §2.2): the whole answer is refused.
	_, c = fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, msOpen+response("/cal/nul&#0;.ics", `"1"`, "")+`</d:multistatus>`)
	})
	if items, err := c.ListETags(bg(), Calendar{Href: "/cal/"}); !errors.Is(err, ErrMalformed) || len(items) != 0 {
		t.Errorf("NUL character reference: %v %v", items, err)
	}
}

// TestHostile_ExternalEntity_NeverRead: a DOCTYPE declaring an external
// entity (XXE) is refused in every body the client parses; /etc/passwd is
// never read into a result.
func TestHostile_ExternalEntity_NeverRead(t *testing.T) {
	xxe := `<?xml version="1.0"?><!DOCTYPE d:multistatus [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY int "internal">]>`
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, xxe+`<d:error xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><c:no-uid-conflict><d:href>&xxe;</d:href></c:no-uid-conflict></d:error>`)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		_, _ = io.WriteString(w, xxe+msOpen+response("/cal/&int;.ics", `"1"`, "&xxe;")+`<d:sync-token>&xxe;</d:sync-token></d:multistatus>`)
	})
	leak := func(s string) bool { return strings.Contains(s, "root:") }
	if items, err := c.ListETags(bg(), Calendar{Href: "/cal/"}); !errors.Is(err, ErrMalformed) || len(items) != 0 {
		t.Errorf("ListETags: %v %v", items, err)
	}
	err := c.Download(bg(), Calendar{Href: "/cal/"}, func(o Object) error {
		if leak(string(o.Data)) {
			t.Errorf("external entity expanded: %q", o.Data)
		}
		return nil
	})
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("Download: %v", err)
	}
	if res, err := c.SyncCollection(bg(), "/cal/", "t"); !errors.Is(err, ErrMalformed) || leak(res.Token) {
		t.Errorf("SyncCollection: %+v %v", res, err)
	}
	if _, err := c.Discover(bg()); err == nil {
		t.Error("Discover accepted a DOCTYPE")
	}
	_, err = c.Create(bg(), Calendar{}, "/cal/x.ics", []byte("x"))
	var de *Error
	if !errors.As(err, &de) || leak(de.Href) || leak(err.Error()) {
		t.Errorf("error body with XXE: %v", err)
	}
}

// deepReader streams an n-deep element nest inside a multistatus without
// ever holding it in memory.
func deepReader(n int) io.Reader {
	open := strings.NewReader(`<?xml version="1.0"?>` + msOpen + `<d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop>`)
	return io.MultiReader(open, &repeatReader{unit: []byte("<x>"), n: n}, &repeatReader{unit: []byte("</x>"), n: n},
		strings.NewReader(`</d:prop></d:propstat></d:response></d:multistatus>`))
}

type repeatReader struct {
	unit []byte
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) && r.n > 0 {
		c := copy(p[w:], r.unit[r.off:])
		w += c
		r.off += c
		if r.off == len(r.unit) {
			r.off = 0
			r.n--
		}
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}

// TestHostile_MillionDeepNesting_RefusedEarly: 10^6 nested elements in
// every parsed listing are refused at the depth cap.
func TestHostile_MillionDeepNesting_RefusedEarly(t *testing.T) {
	var sent atomic.Int64
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMultiStatus)
		n, _ := io.Copy(w, deepReader(1_000_000))
		sent.Add(n)
	})
	before := vmHWM(t)
	start := time.Now()
	if _, err := c.ListETags(bg(), Calendar{Href: "/cal/"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ListETags: %v", err)
	}
	if err := c.Download(bg(), Calendar{Href: "/cal/"}, func(Object) error { return nil }); !errors.Is(err, ErrMalformed) {
		t.Errorf("Download: %v", err)
	}
	if _, err := c.SyncCollection(bg(), "/cal/", "t"); !errors.Is(err, ErrMalformed) {
		t.Errorf("SyncCollection: %v", err)
	}
	if _, err := c.Calendar(bg(), "/cal/"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Calendar: %v", err)
	}
	growth := vmHWM(t) - before
	t.Logf("4 requests with 10^6-deep nesting (%d MB offered): refused in %v, peak RSS growth %d MB", 7_000_000*4>>20, time.Since(start).Round(time.Millisecond), growth>>20)
	if growth > 50<<20 {
		t.Errorf("peak RSS grew by %d MB", growth>>20)
	}
}

// vmHWM reads the process's peak resident set size (Linux).
func vmHWM(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// hugeMultistatus streams a calendar-query answer of about size bytes:
// members of ~4 KiB each, generated on the fly.
type hugeMultistatus struct {
	size, sent int64
	i          int
	buf        []byte
	done       bool
}

func (h *hugeMultistatus) Read(p []byte) (int, error) {
	for len(h.buf) == 0 {
		switch {
		case h.done:
			return 0, io.EOF
		case h.sent == 0 && h.i == 0:
			h.buf = []byte(`<?xml version="1.0" encoding="utf-8"?>` + msOpen)
		case h.sent >= h.size:
			h.buf, h.done = []byte(`</d:multistatus>`), true
		default:
			data := "BEGIN:VCALENDAR&#13;\nBEGIN:VEVENT&#13;\nUID:u" + strconv.Itoa(h.i) + "&#13;\nDESCRIPTION:" +
				strings.Repeat("lorem ipsum &amp; dolor ", 160) + "&#13;\nEND:VEVENT&#13;\nEND:VCALENDAR&#13;\n"
			h.buf = []byte(response("/cal/"+strconv.Itoa(h.i)+".ics", `"`+strconv.Itoa(h.i)+`"`, data))
		}
		h.i++
	}
	n := copy(p, h.buf)
	h.buf = h.buf[n:]
	h.sent += int64(n)
	return n, nil
}

// TestHostile_HugeMultistatus_StreamedWithBoundedMemory streams a
// multistatus of VDIRD_HUGE_MB megabytes (default: 2 GB on CI,
// about a minute and a half; 512 MB elsewhere) through Download with a
// callback that drops every object. It runs in a child process so the peak RSS (VmHWM) is the
// client's alone.
func TestHostile_HugeMultistatus_StreamedWithBoundedMemory(t *testing.T) {
	if os.Getenv("VDIRD_HUGE_CHILD") == "1" {
		hugeChild(t)
		return
	}
	mb := int64(512)
	if os.Getenv("CI") != "" {
		mb = 2048
	}
	if v, err := strconv.ParseInt(os.Getenv("VDIRD_HUGE_MB"), 10, 64); err == nil && v > 0 {
		mb = v
	}
	if testing.Short() {
		mb = 32
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostile_HugeMultistatus_StreamedWithBoundedMemory$", "-test.v")
	cmd.Env = append(os.Environ(), "VDIRD_HUGE_CHILD=1", "VDIRD_HUGE_MB="+strconv.FormatInt(mb, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var objects, hwm, bytes int64
	var secs float64
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "HUGE "); i >= 0 {
			fmt.Sscanf(line[i:], "HUGE objects=%d bytes=%d vmhwm=%d secs=%g", &objects, &bytes, &hwm, &secs)
		}
	}
	if objects == 0 {
		t.Fatalf("child reported nothing:\n%s", out)
	}
	t.Logf("streamed %d MB (%d objects) in %.1fs (%.0f MB/s): peak RSS %d MB", bytes>>20, objects, secs, float64(bytes>>20)/secs, hwm>>20)
	if bytes < mb<<20 {
		t.Errorf("only %d of %d MB streamed", bytes>>20, mb)
	}
	if hwm > 200<<20 {
		t.Errorf("peak RSS %d MB: the response was buffered", hwm>>20)
	}
}

func hugeChild(t *testing.T) {
	mb, _ := strconv.ParseInt(os.Getenv("VDIRD_HUGE_MB"), 10, 64)
	var bytes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		n, _ := io.Copy(w, &hugeMultistatus{size: mb << 20})
		bytes.Store(n)
	}))
	defer srv.Close()
	c, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var objects int64
	err = c.Download(bg(), Calendar{Href: "/cal/"}, func(o Object) error {
		if len(o.Data) < 3000 || !strings.HasPrefix(string(o.Data), "BEGIN:VCALENDAR\r\n") {
			return fmt.Errorf("object %s: %d bytes %.40q", o.Href, len(o.Data), o.Data)
		}
		objects++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("HUGE objects=%d bytes=%d vmhwm=%d secs=%g\n", objects, bytes.Load(), vmHWM(t), secs)
}

// TestHostile_Redirects_WritesNeverFollowCredentialsStayHome: PUT and
// DELETE never follow a redirect, not even a 307/308 on the same origin
// (which would replay the body); a GET redirect to another host carries no
// Authorization and is refused.
func TestHostile_Redirects_WritesNeverFollowCredentialsStayHome(t *testing.T) {
	var otherAuth, otherHits, moved atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		if r.Header.Get("Authorization") != "" {
			otherAuth.Add(1)
		}
	}))
	defer other.Close()
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			moved.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case strings.HasPrefix(r.URL.Path, "/away/"):
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		case r.URL.Path == "/cal/a.ics" && r.Method == http.MethodGet:
			http.Redirect(w, r, "/cal/b.ics", http.StatusFound)
		case r.URL.Path == "/cal/b.ics":
			if r.Header.Get("Authorization") == "" {
				t.Error("same-origin GET redirect lost the credentials")
			}
			_, _ = io.WriteString(w, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
		case r.Method == http.MethodDelete:
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusPermanentRedirect)
		default:
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusTemporaryRedirect)
		}
	})
	{
		if _, err := c.Put(bg(), Calendar{}, "/cal/x.ics", []byte("BEGIN:VCALENDAR\r\n"), `"1"`); !errors.Is(err, ErrRedirect) {
			t.Errorf("PUT: %v, want ErrRedirect", err)
		}
		if _, err := c.Create(bg(), Calendar{}, "/cal/x.ics", []byte("x")); !errors.Is(err, ErrRedirect) {
			t.Errorf("Create: %v", err)
		}
		if err := c.Delete(bg(), "/cal/x.ics", `"1"`); !errors.Is(err, ErrRedirect) {
			t.Errorf("DELETE: %v, want ErrRedirect", err)
		}
	}
	if moved.Load() != 0 {
		t.Errorf("%d writes followed a redirect", moved.Load())
	}
	if o, err := c.Get(bg(), Calendar{}, "/cal/a.ics"); err != nil || o.Href != "/cal/b.ics" {
		t.Errorf("same-origin GET redirect: %+v %v", o, err)
	}
	if _, err := c.Get(bg(), Calendar{}, "/away/a.ics"); !errors.Is(err, ErrRedirect) {
		t.Errorf("GET to another host: %v", err)
	}
	if err := c.Delete(bg(), "/away/a.ics", `"1"`); !errors.Is(err, ErrRedirect) {
		t.Errorf("DELETE to another host: %v", err)
	}
	if otherAuth.Load() != 0 || otherHits.Load() != 0 {
		t.Errorf("other host got %d requests, %d with Authorization", otherHits.Load(), otherAuth.Load())
	}
}

// TestHostile_BrokenTLSCertificate_RefusedUnlessConfigured: a self-signed
// certificate fails verification (and no request, so no credential, is
// sent); InsecureSkipVerify accepts it only when explicitly set.
func TestHostile_BrokenTLSCertificate_RefusedUnlessConfigured(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		davtest.MultiStatus(w, msOpen+`<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
	}))
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	defer srv.Close()
	strict, err := New(Options{URL: srv.URL, Username: "alice", Password: davtest.Password})
	if err != nil {
		t.Fatal(err)
	}
	_, err = strict.Calendar(bg(), "/cal/")
	var uerr x509.UnknownAuthorityError
	var verr *tls.CertificateVerificationError
	if err == nil || (!errors.As(err, &uerr) && !errors.As(err, &verr)) {
		t.Fatalf("self-signed certificate accepted by default: %v", err)
	}
	if strings.Contains(err.Error(), davtest.Password) {
		t.Error("password in the TLS error")
	}
	if hits.Load() != 0 {
		t.Fatalf("a request reached the server despite the bad certificate")
	}
	lax, err := New(Options{URL: srv.URL, Username: "alice", Password: davtest.Password, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lax.Calendar(bg(), "/cal/"); err != nil {
		t.Fatalf("InsecureSkipVerify: %v", err)
	}
}

// TestHostile_CalendarDataNotICalendar_ReturnedVerbatim: the client does not
// judge calendar-data (the engine validates it); whatever bytes come are
// delivered as they are, in listings and GETs.
func TestHostile_CalendarDataNotICalendar_ReturnedVerbatim(t *testing.T) {
	junk := []string{"<html><body>Bad Gateway</body></html>", "", "\x00\x01\x02binary", "BEGIN:VCALENDAR\r\nno end"}
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, junk[0])
			return
		}
		var b strings.Builder
		b.WriteString(msOpen)
		for i, j := range junk {
			esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;", "\x00", "", "\x01", "", "\x02", "").Replace(j)
			b.WriteString(`<d:response><d:href>/cal/` + strconv.Itoa(i) + `.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag><c:calendar-data>` + esc + `</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
		}
		b.WriteString(`</d:multistatus>`)
		davtest.MultiStatus(w, b.String())
	})
	var got []string
	if err := c.Download(bg(), Calendar{Href: "/cal/"}, func(o Object) error { got = append(got, string(o.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{junk[0], "", "binary", junk[3]}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("Download = %q, want %q", got, want)
	}
	if o, err := c.Get(bg(), Calendar{}, "/cal/0.ics"); err != nil || string(o.Data) != junk[0] {
		t.Errorf("Get = %q %v", o.Data, err)
	}
}
