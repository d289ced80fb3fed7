package faultproxy

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const syncAnswer = `<?xml version="1.0"?>
<D:multistatus xmlns:D="DAV:">
<D:response><D:href>/cal/</D:href><D:propstat><D:prop><D:getetag>"coll"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/cal/a.ics</D:href><D:propstat><D:prop><D:getetag>"a1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/cal/b.ics</D:href><D:propstat><D:prop><D:getetag>"b1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/cal/c.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
<D:sync-token>http://x/tok-2</D:sync-token>
</D:multistatus>`

// upstream is a tiny fake target; it counts what reached it.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", `"a1"`)
			_, _ = io.WriteString(w, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
		case http.MethodPut:
			w.Header().Set("ETag", `"new"`)
			w.Header().Set("X-Path", r.URL.Path)
			w.WriteHeader(http.StatusCreated)
		default:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			_, _ = io.WriteString(w, syncAnswer)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newProxy(t *testing.T) (*Proxy, *atomic.Int64) {
	t.Helper()
	up, hits := upstream(t)
	p, err := New(up.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, hits
}

func do(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (*http.Response, string, error) {
	t.Helper()
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestProxy_NoRules_ForwardsAndRecordsEveryRequest(t *testing.T) {
	p, hits := newProxy(t)
	resp, body, err := do(t, nil, "GET", p.URL+"cal/a.ics", "", "Authorization", "Basic eDp5")
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(body, "BEGIN:VCALENDAR") || resp.Header.Get("ETag") != `"a1"` {
		t.Fatalf("GET through proxy: %v %v %q", err, resp, body)
	}
	if _, _, err := do(t, nil, "PUT", p.URL+"cal/b.ics", "x", "If-None-Match", "*"); err != nil {
		t.Fatal(err)
	}
	reqs := p.Take()
	if len(reqs) != 2 || hits.Load() != 2 {
		t.Fatalf("recorded %d, target saw %d", len(reqs), hits.Load())
	}
	if !reqs[0].Auth || reqs[1].Auth || reqs[1].IfNoneMatch != "*" || !reqs[0].Forwarded || reqs[0].Status != 200 || reqs[1].Status != 201 {
		t.Errorf("records: %+v", reqs)
	}
	if len(p.Take()) != 0 {
		t.Error("Take did not forget")
	}
}

func TestRule_NthAndTimes_FireOnlyOnThoseMatches(t *testing.T) {
	p, hits := newProxy(t)
	r := p.Add(Rule{Method: "GET", Path: regexp.MustCompile(`/a\.ics$`), Nth: 2, Times: 2, Action: Status(500, "")})
	var got []int
	for i := 0; i < 5; i++ {
		resp, _, err := do(t, nil, "GET", p.URL+"cal/a.ics", "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.StatusCode)
	}
	do(t, nil, "GET", p.URL+"cal/b.ics", "") // path does not match
	if want := "[200 500 500 200 200]"; fmt.Sprint(got) != want {
		t.Fatalf("statuses %v, want %s", got, want)
	}
	if r.Matches() != 5 || r.Fired() != 2 || hits.Load() != 4 {
		t.Errorf("matches %d fired %d target hits %d", r.Matches(), r.Fired(), hits.Load())
	}
	if n := Count(p.Requests(), "GET", nil); n != 4 {
		t.Errorf("Count of forwarded GETs = %d, want 4", n)
	}
}

func TestRule_BodySubstring_SelectsReportKind(t *testing.T) {
	p, _ := newProxy(t)
	p.Add(Rule{Method: "REPORT", Body: "sync-collection", Action: Status(429, "7")})
	resp, _, _ := do(t, nil, "REPORT", p.URL+"cal/", "<D:calendar-query/>")
	if resp.StatusCode != 207 {
		t.Fatalf("calendar-query hit the sync rule: %d", resp.StatusCode)
	}
	resp, _, _ = do(t, nil, "REPORT", p.URL+"cal/", "<D:sync-collection/>")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("sync-collection: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if reqs := p.Requests(); reqs[1].Forwarded || reqs[1].Fault != "status" {
		t.Errorf("a status fault must not reach the target: %+v", reqs[1])
	}
}

func TestReset_ClientGetsConnectionError(t *testing.T) {
	p, hits := newProxy(t)
	p.Add(Rule{Action: Reset()})
	if _, _, err := do(t, nil, "GET", p.URL+"cal/a.ics", ""); err == nil {
		t.Fatal("no error from a reset connection")
	}
	if hits.Load() != 0 {
		t.Error("reset request reached the target")
	}
}

func TestLoseAnswer_TargetActsClientSeesError(t *testing.T) {
	p, hits := newProxy(t)
	p.Add(Rule{Method: "PUT", Action: LoseAnswer()})
	if _, _, err := do(t, nil, "PUT", p.URL+"cal/a.ics", "x"); err == nil {
		t.Fatal("no error from a lost answer")
	}
	if hits.Load() != 1 || !p.Requests()[0].Forwarded {
		t.Errorf("the request did not reach the target: %d", hits.Load())
	}
}

func TestProxy_GzipFromTarget_RewrittenAsText(t *testing.T) {
	p, err := New(gzipTarget(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(Rule{Action: EmptyListing()})
	req, _ := http.NewRequest("REPORT", p.URL+"/cal/", nil)
	req.Header.Set("Accept-Encoding", "gzip") // what Go's transport sends on the wire
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Count(string(b), "<D:response>") != 1 {
		t.Fatalf("listing not rewritten: %q", b)
	}
}

// gzipTarget answers syncAnswer, gzipped when the client accepts it.
func gzipTarget(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Accept-Encoding") != "" {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			_, _ = io.WriteString(zw, syncAnswer)
			_ = zw.Close()
			return
		}
		_, _ = io.WriteString(w, syncAnswer)
	}))
	t.Cleanup(up.Close)
	return up
}

func TestProxy_NoRuleFired_GzipPassesThroughWithBytesAndTimes(t *testing.T) {
	p, err := New(gzipTarget(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(Rule{Method: "PUT", Action: Status(500, "")}) // present, does not fire
	before := time.Now()
	req, _ := http.NewRequest("REPORT", p.URL+"/cal/", strings.NewReader("<sync-collection/>"))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("answer not passed through compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(wire)))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != syncAnswer {
		t.Fatalf("answer changed on the way: %q", plain)
	}
	// The proxy finishes its record after the last byte went out, which
	// can be a moment after the client has read it.
	var reqs []Request
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		reqs = p.Requests()
		if len(reqs) != 1 || !reqs[0].End.IsZero() || time.Now().After(deadline) {
			break
		}
	}
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.In != int64(len("<sync-collection/>")) || r.Out != int64(len(wire)) || r.Status != 200 || r.Fault != "" {
		t.Errorf("record: %+v, want In %d, Out %d (the compressed bytes)", r, len("<sync-collection/>"), len(wire))
	}
	if r.Start.Before(before) || r.End.Before(r.Start) {
		t.Errorf("record times: start %v end %v, request sent at %v", r.Start, r.End, before)
	}
}

func TestStall_HeldUntilClientTimeout(t *testing.T) {
	p, _ := newProxy(t)
	p.Add(Rule{Action: Stall()})
	start := time.Now()
	_, _, err := do(t, &http.Client{Timeout: 300 * time.Millisecond}, "GET", p.URL+"cal/a.ics", "")
	if err == nil || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestStallBody_HeadersThenSilence(t *testing.T) {
	p, _ := newProxy(t)
	p.Add(Rule{Action: StallBody(40)})
	start := time.Now()
	_, body, err := do(t, &http.Client{Timeout: 300 * time.Millisecond}, "REPORT", p.URL+"cal/", "")
	if err == nil || len(body) != 40 {
		t.Fatalf("err %v, %d bytes after %v", err, len(body), time.Since(start))
	}
}

func TestTruncate_BodyCutMidXML(t *testing.T) {
	p, _ := newProxy(t)
	p.Add(Rule{Action: Truncate(100)})
	resp, body, err := do(t, nil, "REPORT", p.URL+"cal/", "")
	if !errors.Is(err, io.ErrUnexpectedEOF) || resp.StatusCode != 207 || body != syncAnswer[:100] {
		t.Fatalf("err %v status %v body %q", err, resp, body)
	}
}

func TestETag_DroppedAndWeakened(t *testing.T) {
	p, _ := newProxy(t)
	p.Add(Rule{Method: "GET", Action: DropETag()})
	p.Add(Rule{Method: "REPORT", Action: WeakenETag()})
	resp, _, _ := do(t, nil, "GET", p.URL+"cal/a.ics", "")
	if _, ok := resp.Header["Etag"]; ok {
		t.Errorf("ETag not dropped: %v", resp.Header)
	}
	_, body, _ := do(t, nil, "REPORT", p.URL+"cal/", "")
	if strings.Count(body, `<D:getetag>W/"`) != 3 || strings.Contains(body, `<D:getetag>"`) {
		t.Errorf("getetag not weakened: %s", body)
	}
}

func TestMoveToAndHook_RequestRewrittenAndHookRunsFirst(t *testing.T) {
	p, _ := newProxy(t)
	var order []string
	p.Add(Rule{Method: "PUT", Action: Hook(func(r *http.Request) { order = append(order, "hook "+r.URL.Path) })})
	p.Add(Rule{Method: "PUT", Action: MoveTo("/cal/chosen.ics")})
	resp, _, err := do(t, nil, "PUT", p.URL+"cal/mine.ics", "x")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Path") != "/cal/chosen.ics" || resp.Header.Get("Location") != "/cal/chosen.ics" {
		t.Errorf("upstream path %q Location %q", resp.Header.Get("X-Path"), resp.Header.Get("Location"))
	}
	if len(order) != 1 || order[0] != "hook /cal/mine.ics" {
		t.Errorf("hook calls %v", order)
	}
	p.Clear()
	p.Add(Rule{Action: AddLocation("http://elsewhere.invalid/x.ics")})
	resp, _, _ = do(t, nil, "PUT", p.URL+"cal/mine.ics", "x")
	if resp.Header.Get("Location") != "http://elsewhere.invalid/x.ics" || resp.Header.Get("X-Path") != "/cal/mine.ics" {
		t.Errorf("AddLocation: %v", resp.Header)
	}
}

func TestSyncFaults_InvalidTokenTruncatedPageEmptyListing(t *testing.T) {
	p, hits := newProxy(t)
	req := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>http://x/tok-1</D:sync-token></D:sync-collection>`

	p.Add(Rule{Nth: 1, Action: InvalidSyncToken()})
	resp, body, _ := do(t, nil, "REPORT", p.URL+"cal/", req)
	if resp.StatusCode != 403 || !strings.Contains(body, "valid-sync-token") || hits.Load() != 0 {
		t.Fatalf("invalid token: %d %s (target hits %d)", resp.StatusCode, body, hits.Load())
	}
	p.Clear()

	p.Add(Rule{Nth: 1, Action: TruncatedSyncPage(1)})
	_, body, _ = do(t, nil, "REPORT", p.URL+"cal/", req)
	if strings.Count(body, "<D:response>") != 2 || !strings.Contains(body, "/cal/a.ics") || strings.Contains(body, "/cal/b.ics") ||
		!strings.Contains(body, "<D:href>/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>") ||
		!strings.Contains(body, "<D:sync-token>http://x/tok-1</D:sync-token>") ||
		strings.Index(body, "507") > strings.Index(body, "<D:sync-token>") {
		t.Fatalf("truncated page:\n%s", body)
	}
	p.Clear()

	p.Add(Rule{Action: EmptyListing()})
	_, body, _ = do(t, nil, "REPORT", p.URL+"cal/", req)
	if strings.Count(body, "<D:response>") != 1 || !strings.Contains(body, "<D:href>/cal/</D:href>") || !strings.Contains(body, "tok-2") {
		t.Fatalf("empty listing:\n%s", body)
	}
}

func TestEchoSyncToken_EmptyDeltaWithTheRequestsToken(t *testing.T) {
	p, hits := newProxy(t)
	rule := p.Add(Rule{Body: "sync-collection", Action: EchoSyncToken()})
	req := `<D:sync-collection xmlns:D="DAV:"><D:sync-token>http://x/tok-1$1</D:sync-token></D:sync-collection>`
	resp, body, _ := do(t, nil, "REPORT", p.URL+"cal/", req)
	if resp.StatusCode != http.StatusMultiStatus || strings.Contains(body, "<D:response>") || hits.Load() != 1 ||
		!strings.Contains(body, "<D:sync-token>http://x/tok-1$1</D:sync-token>") || rule.Fired() != 1 {
		t.Fatalf("echoed token: %d (target hits %d, fired %d)\n%s", resp.StatusCode, hits.Load(), rule.Fired(), body)
	}
	// An initial listing carries no token: the target's answer passes.
	_, body, _ = do(t, nil, "REPORT", p.URL+"cal/", `<D:sync-collection xmlns:D="DAV:"><D:sync-token/></D:sync-collection>`)
	if body != syncAnswer {
		t.Fatalf("initial listing rewritten:\n%s", body)
	}
}

func TestRewriteBody_ReplacesTargetAnswer(t *testing.T) {
	p, _ := newProxy(t)
	p.Add(Rule{Method: "GET", Action: RewriteBody(func(_ *http.Request, b []byte) []byte { return []byte("<html>not ical</html>") })})
	resp, body, _ := do(t, nil, "GET", p.URL+"cal/a.ics", "")
	if body != "<html>not ical</html>" || resp.ContentLength != int64(len(body)) {
		t.Fatalf("body %q length %d", body, resp.ContentLength)
	}
}

func TestClose_ReleasesStalledRequests(t *testing.T) {
	up, _ := upstream(t)
	p, err := New(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.Add(Rule{Action: Stall()})
	errc := make(chan error, 1)
	go func() {
		_, _, err := do(t, &http.Client{}, "GET", p.URL+"/x", "")
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a stalled request")
	}
	<-errc
}
