package davclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/davtest"
)

// fake is an httptest server whose handler is swapped per test, and a Client for it.
func fake(t *testing.T, h http.HandlerFunc) (*httptest.Server, *Client) {
	t.Helper()
	return davtest.Fake(t, h, func(url string) (*Client, error) {
		return New(Options{URL: url + "/", Username: "alice", Password: davtest.Password})
	})
}

func bg() context.Context { return context.Background() }

func TestCalendar_GetctagAnswered403InPropstat_IsAbsentNotError(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:response><d:href>/cal/home/</d:href>
<d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>Home calendar</d:displayname>
<d:current-user-privilege-set><d:privilege><d:read/></d:privilege></d:current-user-privilege-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
<d:propstat><d:prop><cs:getctag/><d:sync-token/></d:prop><d:status>HTTP/1.1 403 Forbidden</d:status></d:propstat>
</d:response></d:multistatus>`)
	})
	cal, err := c.Calendar(bg(), "/cal/home/")
	if err != nil {
		t.Fatalf("Calendar: %v", err)
	}
	if cal.CTag != "" || cal.SyncToken != "" || cal.SupportsSync || cal.DisplayName != "Home calendar" || cal.Components != nil {
		t.Errorf("Calendar = %+v", cal)
	}
	if !cal.ReadOnly {
		t.Errorf("only DAV:read privilege must mean ReadOnly")
	}
}

func TestCalendar_ReportSetWithoutReportWrapper_SupportsSync(t *testing.T) {
	// Xandikos 0.2 lists <supported-report><sync-collection/></supported-report>.
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, `<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns2="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>/c/</ns0:href><ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status><ns0:prop><ns0:resourcetype><ns2:calendar/></ns0:resourcetype><ns0:supported-report-set><ns0:supported-report><ns0:sync-collection/></ns0:supported-report></ns0:supported-report-set><ns0:current-user-privilege-set><ns0:privilege><ns0:all/></ns0:privilege></ns0:current-user-privilege-set><ns2:supported-calendar-component-set><ns2:comp name="VTODO"/></ns2:supported-calendar-component-set></ns0:prop></ns0:propstat></ns0:response></ns0:multistatus>`)
	})
	cal, err := c.Calendar(bg(), "/c")
	if err != nil {
		t.Fatal(err)
	}
	if !cal.SupportsSync || cal.ReadOnly || cal.Href != "/c/" || len(cal.Components) != 1 || cal.Components[0] != "VTODO" {
		t.Errorf("Calendar = %+v", cal)
	}
}

func TestPut_ResponseWithoutETag_ReturnsEmptyETag(t *testing.T) {
	var gotIfMatch, gotCT string
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		gotIfMatch, gotCT = r.Header.Get("If-Match"), r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusNoContent)
	})
	res, err := c.Put(bg(), Calendar{}, "/cal/a.ics", []byte("BEGIN:VCALENDAR\r\n"), `W/"weak-1"`)
	if err != nil {
		t.Fatal(err)
	}
	if res.ETag != "" || res.Href != "/cal/a.ics" {
		t.Errorf("Put = %+v", res)
	}
	if gotIfMatch != `W/"weak-1"` || !strings.HasPrefix(gotCT, "text/calendar") {
		t.Errorf("If-Match %q Content-Type %q", gotIfMatch, gotCT)
	}
}

func TestCreate_201WithLocation_ReturnsServerChosenHref(t *testing.T) {
	for _, tc := range []struct{ loc, want string }{
		{"/cal/server-chosen.ics", "/cal/server-chosen.ics"},
		{"server%40chosen.ics", "/cal/server@chosen.ics"},
		{"http://evil.example/cal/x.ics", "/cal/mine.ics"}, // other origin: ignored
		{"/other/x.ics", "/cal/mine.ics"},                  // outside the collection: ignored
	} {
		_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-None-Match") != "*" {
				t.Errorf("Create without If-None-Match: *")
			}
			w.Header().Set("Location", tc.loc)
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(http.StatusCreated)
		})
		res, err := c.Create(bg(), Calendar{}, "/cal/mine.ics", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Href != tc.want || res.ETag != `"1"` {
			t.Errorf("Location %q: Create = %+v, want href %q", tc.loc, res, tc.want)
		}
	}
}

func TestErrors_RateLimitAndServerErrors_TypedWithRetryAfter(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       error
		minRA      time.Duration
	}{
		{429, "120", ErrRateLimited, 120 * time.Second},
		{503, date, ErrRateLimited, 60 * time.Second},
		{503, "", ErrServer, 0},
		{500, "", ErrServer, 0},
		{401, "", ErrUnauthorized, 0},
		{403, "", ErrForbidden, 0},
		{404, "", ErrNotFound, 0},
		{409, "", ErrConflict, 0},
		{412, "", ErrPreconditionFailed, 0},
		{413, "", ErrTooLarge, 0},
		{405, "", ErrStatus, 0},
	} {
		_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			w.WriteHeader(tc.status)
		})
		_, err := c.Get(bg(), Calendar{}, "/x.ics")
		var e *Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) {
			t.Errorf("%d: err %v, want %v", tc.status, err, tc.want)
			continue
		}
		if e.Status != tc.status || e.RetryAfter < tc.minRA || (tc.minRA == 0 && e.RetryAfter != 0) || e.Method != "GET" {
			t.Errorf("%d: %+v", tc.status, e)
		}
	}
}

func TestError_NoUIDConflict_NamesExistingHref(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>/cal/existing%40x.ics</D:href></C:no-uid-conflict></D:error>`)
	})
	_, err := c.Create(bg(), Calendar{}, "/cal/new.ics", []byte("x"))
	var e *Error
	if !errors.Is(err, ErrConflict) || !errors.As(err, &e) || e.Condition != "no-uid-conflict" || e.Href != "/cal/existing@x.ics" {
		t.Fatalf("err = %#v", err)
	}
}

func TestError_MaxResourceSize_IsTooLarge(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:max-resource-size/></D:error>`)
	})
	_, err := c.Put(bg(), Calendar{}, "/cal/big.ics", []byte("x"), `"1"`)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestError_MessageNeverContainsPassword(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusPreconditionFailed)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://bob:"+davtest.Password+"@", 1)
	c, err := New(Options{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Put(bg(), Calendar{}, "/x.ics", []byte("x"), `"1"`)
	if err == nil || strings.Contains(err.Error(), davtest.Password) || strings.Contains(err.Error(), "bob") {
		t.Fatalf("err = %v", err)
	}
	if want := "PUT " + srv.URL + "/x.ics: 412 Precondition Failed"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !strings.HasPrefix(auth, "Basic ") {
		t.Errorf("credentials from URL userinfo not sent as Basic auth: %q", auth)
	}
}

func TestListETags_MalformedOrTruncatedXML_ErrMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"garbage":      `<<<not xml`,
		"truncated":    `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:get`,
		"wrong root":   `<d:prop xmlns:d="DAV:"/>`,
		"bad status":   `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>weird</d:status></d:propstat></d:response></d:multistatus>`,
		"no href":      `<d:multistatus xmlns:d="DAV:"><d:response><d:status>HTTP/1.1 200 OK</d:status></d:response></d:multistatus>`,
		"unknown ent":  `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/a&foo;.ics</d:href></d:response></d:multistatus>`,
		"empty body":   ``,
		"mismatch tag": `<d:multistatus xmlns:d="DAV:"><d:response></d:multistatus>`,
	} {
		t.Run(name, func(t *testing.T) {
			_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusMultiStatus)
				_, _ = io.WriteString(w, body)
			})
			_, err := c.ListETags(bg(), Calendar{Href: "/cal/"})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestListETags_HrefOutsideCollection_SkippedAndReported(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:">
<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:getetag>"coll"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/cal/b%40x.ics</d:href><d:propstat><d:prop><d:getetag>"2"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>a.ics</d:href><d:propstat><d:prop><d:getetag>W/"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/other/evil.ics</d:href><d:propstat><d:prop><d:getetag>"3"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/cal/%2e%2e/evil2.ics</d:href><d:propstat><d:prop><d:getetag>"4"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>http://evil.example/cal/x.ics</d:href><d:propstat><d:prop><d:getetag>"5"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>`)
	})
	items, err := c.ListETags(bg(), Calendar{Href: "/cal/"})
	if !errors.Is(err, ErrOutsideCollection) {
		t.Fatalf("err = %v, want ErrOutsideCollection", err)
	}
	want := []Item{{"/cal/a.ics", `W/"1"`}, {"/cal/b@x.ics", `"2"`}}
	if fmt.Sprint(items) != fmt.Sprint(want) {
		t.Errorf("items = %v, want %v", items, want)
	}
}

func TestRedirect_ToAnotherHost_NeverFollowedNoCredentialsLeak(t *testing.T) {
	var leaked atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"/>`)
	}))
	defer other.Close()
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	if _, err := c.Get(bg(), Calendar{}, "/cal/a.ics"); !errors.Is(err, ErrRedirect) {
		t.Errorf("GET: %v, want ErrRedirect", err)
	}
	if _, err := c.ListETags(bg(), Calendar{Href: "/cal/"}); !errors.Is(err, ErrRedirect) {
		t.Errorf("REPORT: %v, want ErrRedirect", err)
	}
	if _, err := c.Put(bg(), Calendar{}, "/cal/a.ics", []byte("x"), `"1"`); !errors.Is(err, ErrRedirect) {
		t.Errorf("PUT: %v, want ErrRedirect", err)
	}
	if _, err := c.Discover(bg()); !errors.Is(err, ErrRedirect) {
		t.Errorf("Discover: %v, want ErrRedirect", err)
	}
	if leaked.Load() != 0 {
		t.Errorf("%d requests reached the other host with an Authorization header", leaked.Load())
	}
}

func TestRedirect_SameOriginPropfind_NotFollowed(t *testing.T) {
	var propfinds atomic.Int64
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved/" {
			propfinds.Add(1)
		}
		http.Redirect(w, r, "/moved/", http.StatusMovedPermanently)
	})
	if _, err := c.Calendar(bg(), "/cal/"); !errors.Is(err, ErrRedirect) {
		t.Errorf("err = %v, want ErrRedirect", err)
	}
	if propfinds.Load() != 0 {
		t.Errorf("redirect was followed")
	}
}

func TestSizeCaps_OversizedBodies_ErrTooLarge(t *testing.T) {
	big := strings.Repeat("X", 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			_, _ = io.WriteString(w, big)
		default:
			var b strings.Builder
			b.WriteString(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`)
			if strings.Contains(r.URL.Path, "list") {
				for i := 0; i < 200; i++ {
					fmt.Fprintf(&b, `<d:response><d:href>/list/%d.ics</d:href><d:propstat><d:prop><d:getetag>"%d"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, i, i)
				}
			} else {
				fmt.Fprintf(&b, `<d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><c:calendar-data>%s</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, big)
			}
			b.WriteString(`</d:multistatus>`)
			davtest.MultiStatus(w, b.String())
		}
	}))
	defer srv.Close()
	c, err := New(Options{URL: srv.URL, MaxObjectBytes: 1024, MaxResponseBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(bg(), Calendar{}, "/cal/a.ics"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Get: %v, want ErrTooLarge", err)
	}
	if err := c.Download(bg(), Calendar{Href: "/cal/"}, func(Object) error { return nil }); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Download: %v, want ErrTooLarge", err)
	}
	if _, err := c.ListETags(bg(), Calendar{Href: "/list/"}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ListETags over MaxResponseBytes: %v, want ErrTooLarge", err)
	}
}

func TestDownload_CalendarDataBytes_VerbatimIncludingCRLFAndCDATA(t *testing.T) {
	raw := "BEGIN:VCALENDAR\r\nX-LONG:abc\r\n def\r\nX-AMP:a & b <c>\r\nEND:VCALENDAR\r\n"
	escaped := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(raw)
	entityCR := strings.ReplaceAll(escaped, "\r", "&#13;")
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`+
			`<d:response><d:href>/cal/literal.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag><c:calendar-data>`+escaped+`</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`+
			`<d:response><d:href>/cal/cdata.ics</d:href><d:propstat><d:prop><d:getetag>"2"</d:getetag><c:calendar-data><![CDATA[`+raw+`]]></c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`+
			`<d:response><d:href>/cal/entity.ics</d:href><d:propstat><d:prop><d:getetag>"3"</d:getetag><c:calendar-data>`+entityCR+`</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`+
			`</d:multistatus>`)
	})
	n := 0
	err := c.Download(bg(), Calendar{Href: "/cal/"}, func(o Object) error {
		n++
		if string(o.Data) != raw {
			t.Errorf("%s: data %q, want %q", o.Href, o.Data, raw)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("Download: %v, %d objects", err, n)
	}
}

func TestMultiget_Batches_ParallelButCallbacksSerialised(t *testing.T) {
	var requests, inFlight, maxInFlight atomic.Int64
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		body, _ := io.ReadAll(r.Body)
		var b strings.Builder
		b.WriteString(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">`)
		for _, part := range strings.Split(string(body), "<D:href>")[1:] {
			h := part[:strings.Index(part, "</D:href>")]
			if strings.HasSuffix(h, "/gone.ics") {
				fmt.Fprintf(&b, `<d:response><d:href>%s</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>`, h)
				continue
			}
			fmt.Fprintf(&b, `<d:response><d:href>%s</d:href><d:propstat><d:prop><d:getetag>"e"</d:getetag><c:calendar-data>DATA %s</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, h, h)
		}
		b.WriteString(`</d:multistatus>`)
		davtest.MultiStatus(w, b.String())
	})
	c.opts.MultigetBatch, c.opts.MultigetParallel = 10, 3
	var hrefs []string
	for i := 0; i < 95; i++ {
		hrefs = append(hrefs, fmt.Sprintf("/cal/%03d.ics", i))
	}
	hrefs = append(hrefs, "/cal/gone.ics")
	var mu sync.Mutex
	var inFn atomic.Int64
	got := map[string]string{}
	err := c.Multiget(bg(), Calendar{Href: "/cal/"}, hrefs, func(o Object) error {
		if inFn.Add(1) != 1 {
			t.Errorf("fn called concurrently")
		}
		defer inFn.Add(-1)
		mu.Lock()
		defer mu.Unlock()
		if o.Data == nil {
			got[o.Href] = "<nil>"
		} else {
			got[o.Href] = string(o.Data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 10 {
		t.Errorf("%d requests, want 10 batches", requests.Load())
	}
	if maxInFlight.Load() < 2 || maxInFlight.Load() > 3 {
		t.Errorf("max in flight %d, want 2..3", maxInFlight.Load())
	}
	if len(got) != 96 || got["/cal/007.ics"] != "DATA /cal/007.ics" || got["/cal/gone.ics"] != "<nil>" {
		t.Errorf("got %d objects: 007=%q gone=%q", len(got), got["/cal/007.ics"], got["/cal/gone.ics"])
	}
}

func TestMultiget_HrefOutsideCollection_RefusedBeforeSending(t *testing.T) {
	var n atomic.Int64
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	err := c.Multiget(bg(), Calendar{Href: "/cal/"}, []string{"/cal/a.ics", "/other/b.ics"}, func(Object) error { return nil })
	if !errors.Is(err, ErrOutsideCollection) || n.Load() != 0 {
		t.Fatalf("err %v, %d requests", err, n.Load())
	}
}

func TestSyncCollection_507OnRequestURI_TruncatedWithTokenAfterResponses(t *testing.T) {
	var gotBody string
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:">
<d:response><d:href>/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>"a1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/cal/b.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
<d:response><d:href>/cal/</d:href><d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>
<d:sync-token>tok-2</d:sync-token></d:multistatus>`)
	})
	res, err := c.SyncCollection(bg(), "/cal/", "tok<1>")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gotBody, "<D:sync-token>tok&lt;1&gt;</D:sync-token>") {
		t.Errorf("request body %s", gotBody)
	}
	if res.Token != "tok-2" || !res.Truncated || len(res.Changed) != 1 || res.Changed[0] != (Item{"/cal/a.ics", `"a1"`}) || len(res.Deleted) != 1 || res.Deleted[0] != "/cal/b.ics" {
		t.Errorf("res = %+v", res)
	}
}

func TestSyncCollection_RejectedToken_ErrInvalidSyncToken(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{403, `<d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>`},
		{409, ``},
		{500, `Server got itself in trouble`}, // Xandikos 0.2 on an unknown token
	} {
		_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
		})
		_, err := c.SyncCollection(bg(), "/cal/", "old")
		if !errors.Is(err, ErrInvalidSyncToken) {
			t.Errorf("%d: err %v, want ErrInvalidSyncToken", tc.status, err)
		}
	}
	// Without a token a 403 is a plain permission problem.
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) })
	if _, err := c.SyncCollection(bg(), "/cal/", ""); errors.Is(err, ErrInvalidSyncToken) || !errors.Is(err, ErrForbidden) {
		t.Errorf("initial sync 403: %v", err)
	}
}

func TestDelete_EmptyIfMatchRefused_404IsSuccess(t *testing.T) {
	var n atomic.Int64
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("If-Match") != `"e1"` {
			t.Errorf("If-Match %q", r.Header.Get("If-Match"))
		}
		w.WriteHeader(http.StatusNotFound)
	})
	if err := c.Delete(bg(), "/cal/a.ics", ""); !errors.Is(err, ErrBadArgument) || n.Load() != 0 {
		t.Errorf("empty If-Match: %v after %d requests", err, n.Load())
	}
	if err := c.Delete(bg(), "/cal/a.ics", `"e1"`); err != nil {
		t.Errorf("404 on delete: %v, want nil", err)
	}
}

func TestDiscover_WellKnown404_UsesConfiguredURL(t *testing.T) {
	var paths []string
	var mu sync.Mutex
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/.well-known/caldav":
			w.WriteHeader(http.StatusNotFound)
		case "/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/</d:href><d:propstat><d:prop><d:current-user-principal><d:href>/principals/john%40doe/</d:href></d:current-user-principal></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		case "/principals/john@doe/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/principals/john@doe/</d:href><d:propstat><d:prop><c:calendar-home-set><d:href>/calendars/john@doe</d:href></c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		case "/calendars/john@doe/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:i="http://apple.com/ns/ical/">
<d:response><d:href>/calendars/john%40doe/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/calendars/john%40doe/tasks/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>My TODO list</d:displayname><cs:getctag>3345</cs:getctag><i:calendar-color>#FF0000</i:calendar-color></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/calendars/john%40doe/home/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>Home calendar</d:displayname><cs:getctag>3145</cs:getctag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/calendars/john%40doe/inbox/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:schedule-inbox/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	cals, err := c.Discover(bg())
	if err != nil {
		t.Fatalf("Discover: %v (requests %v)", err, paths)
	}
	if len(cals) != 2 || cals[0].Href != "/calendars/john@doe/home/" || cals[0].CTag != "3145" || cals[1].DisplayName != "My TODO list" || cals[1].Color != "#FF0000" {
		t.Errorf("cals = %+v", cals)
	}
	if h, _ := c.Homes(bg()); h != (Homes{Calendars: "/calendars/john@doe/"}) {
		t.Errorf("Homes = %+v", h)
	}
	if paths[0] != "PROPFIND /.well-known/caldav" {
		t.Errorf("requests %v", paths)
	}
}

// An older server (no RFC 6578) lists calendars without DAV:sync-token: the
// client lists once more asking CS:getctag, and keeps asking for it.
func TestListCollections_ServerWithoutSyncToken_FallsBackToCTagOnce(t *testing.T) {
	var bodies []string
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		ctag := `<cs:getctag/>`
		if strings.Contains(string(b), "getctag") {
			ctag = `<cs:getctag>"42"</cs:getctag>`
		}
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:response><d:href>/home/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/home/work/</d:href>
<d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype>`+ctag+`</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
<d:propstat><d:prop><d:sync-token/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
</d:response></d:multistatus>`)
	})
	for round := 1; round <= 2; round++ {
		bodies = nil
		cals, err := c.ListCollections(bg(), "/home/")
		if err != nil {
			t.Fatal(err)
		}
		if len(cals) != 1 || cals[0].Marker() != `ctag "42"` || cals[0].SupportsSync {
			t.Fatalf("round %d: ListCollections = %+v", round, cals)
		}
		want := 2 // the first listing without getctag, then one with it
		if round == 2 {
			want = 1
		}
		if len(bodies) != want || !strings.Contains(bodies[len(bodies)-1], "getctag") {
			t.Fatalf("round %d: %d requests, want %d, the last asking getctag: %q", round, len(bodies), want, bodies)
		}
	}
}

func TestCalendarMarker_PrefersSyncTokenAndNamesTheKind(t *testing.T) {
	for _, tc := range []struct {
		cal  Calendar
		want string
	}{
		{Calendar{SyncToken: "t1", CTag: "c1"}, "sync-token t1"},
		{Calendar{CTag: "c1"}, "ctag c1"},
		{Calendar{}, ""},
		// A ctag equal to some token's text is still a different marker.
		{Calendar{CTag: "t1"}, "ctag t1"},
	} {
		if got := tc.cal.Marker(); got != tc.want {
			t.Errorf("%+v.Marker() = %q, want %q", tc.cal, got, tc.want)
		}
	}
}
