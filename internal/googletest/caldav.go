package googletest

import (
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// CalDAV is a fake of Google's CalDAV server, in the shapes Google gives
// it: every request needs a live bearer token of its OAuth fake; the
// principal is /caldav/v2/EMAIL/user; the calendar home /caldav/v2/EMAIL/
// lists each calendar as /caldav/v2/CALID/events/, the calendars other
// than the primary one outside the home; calendars hold VEVENT only; a
// sync-collection answer holds at most PageSize changes, with a 507 for
// the request-URI while more remain (RFC 6578 §3.6); a new event goes to
// the href of its UID, given in Location; If-None-Match is ignored (Google
// honours only If-Match); an href in Conflict is refused with 409, as
// Google refuses some edits of recurring events.
type CalDAV struct {
	URL      string // the server's root; the account's url is URL+"/caldav/v2/"
	Email    string
	OAuth    *OAuth
	PageSize int // default 100

	mu       sync.Mutex
	cals     map[string]*calendar // by calendar ID
	order    []string
	conflict map[string]bool
	requests []string
}

type calendar struct {
	name    string
	objects map[string]object // by file name in events/
	log     []change          // one entry per change, in order
}

type object struct {
	etag string
	data []byte
}

type change struct {
	name    string
	deleted bool
}

// NewCalDAV starts the fake for the Google user email, with a primary
// calendar (its ID is email) named after it; it stops when t ends.
func NewCalDAV(t testing.TB, o *OAuth, email string) *CalDAV {
	c := &CalDAV{Email: email, OAuth: o, PageSize: 100, cals: map[string]*calendar{}, conflict: map[string]bool{}}
	c.AddCalendar(email, email)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// AddCalendar adds a calendar with the ID id (such as
// "abc@group.calendar.google.com") and a display name.
func (c *CalDAV) AddCalendar(id, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cals[id] = &calendar{name: name, objects: map[string]object{}}
	c.order = append(c.order, id)
}

// Href is the path of calendar id's collection, or of its member name
// when name is not "", as Google spells it.
func Href(id, name string) string {
	return "/caldav/v2/" + escape(id) + "/events/" + escape(name)
}

// escape escapes a path segment as Google does, "@" included.
func escape(s string) string { return strings.ReplaceAll(url.PathEscape(s), "@", "%40") }

// Put stores an event in calendar id under name, as another client of
// Google would.
func (c *CalDAV) Put(id, name string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(c.cals[id], name, data)
}

// Objects returns calendar id's events by file name.
func (c *CalDAV) Objects(id string) map[string][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]byte{}
	for name, o := range c.cals[id].objects {
		out[name] = o.data
	}
	return out
}

// Conflict makes writes to the event name of calendar id answer 409.
func (c *CalDAV) Conflict(id, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conflict[Href(id, name)] = true
}

// Requests returns "METHOD path" of each request since the last call.
func (c *CalDAV) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.requests
	c.requests = nil
	return r
}

func (c *CalDAV) store(cal *calendar, name string, data []byte) string {
	etag := fmt.Sprintf(`"%d"`, 63800000000+len(cal.log))
	cal.objects[name] = object{etag: etag, data: data}
	cal.log = append(cal.log, change{name: name})
	return etag
}

func (c *CalDAV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, r.Method+" "+r.URL.EscapedPath())
	if !c.OAuth.Valid(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/caldav/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	cal := c.cals[id]
	switch {
	case r.Method == "MKCALENDAR": // Google's CalDAV makes no calendars
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	case r.Method == "PROPFIND" && rest == "":
		multistatus(w, c.principalProp("/caldav/v2/", `<D:resourcetype><D:collection/></D:resourcetype>`))
	case r.Method == "PROPFIND" && sub == "user" && id == c.Email:
		multistatus(w, c.principalProp(r.URL.EscapedPath(), `<D:resourcetype><D:principal/></D:resourcetype>`+
			`<C:calendar-home-set><D:href>`+c.home()+`</D:href></C:calendar-home-set>`))
	case r.Method == "PROPFIND" && sub == "" && id == c.Email:
		c.listHome(w, r.Header.Get("Depth"))
	case cal == nil || !strings.HasPrefix(sub, "events/"):
		http.NotFound(w, r)
	case r.Method == "PROPFIND" && sub == "events/":
		multistatus(w, c.calendarProps(id))
	case r.Method == "REPORT" && sub == "events/":
		c.report(w, id, string(body))
	default:
		c.object(w, r, id, strings.TrimPrefix(sub, "events/"), body)
	}
}

func (c *CalDAV) home() string { return "/caldav/v2/" + escape(c.Email) + "/" }

func (c *CalDAV) principalProp(href, props string) string {
	return response(href, `<D:current-user-principal><D:href>/caldav/v2/`+escape(c.Email)+`/user</D:href></D:current-user-principal>`+props)
}

// listHome answers the home's listing: the home, its trivial inbox, and
// every calendar, most of them outside the home.
func (c *CalDAV) listHome(w http.ResponseWriter, depth string) {
	out := response(c.home(), `<D:resourcetype><D:collection/></D:resourcetype>`)
	if depth == "1" {
		out += response(c.home()+"inbox/", `<D:resourcetype><D:collection/><C:schedule-inbox/></D:resourcetype>`)
		for _, id := range c.order {
			out += c.calendarProps(id)
		}
	}
	multistatus(w, out)
}

func (c *CalDAV) calendarProps(id string) string {
	cal := c.cals[id]
	return response(Href(id, ""), `<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>`+
		`<D:displayname>`+html.EscapeString(cal.name)+`</D:displayname>`+
		`<D:sync-token>`+token(len(cal.log))+`</D:sync-token>`+
		`<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>`+
		`<D:current-user-privilege-set><D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege></D:current-user-privilege-set>`+
		`<D:supported-report-set><D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report></D:supported-report-set>`)
}

const tokenPrefix = "https://www.google.com/calendar/dav/sync/"

func token(seq int) string { return tokenPrefix + strconv.Itoa(seq) }

// reportBody is what the REPORTs vdird sends carry.
type reportBody struct {
	XMLName   xml.Name
	SyncToken string   `xml:"DAV: sync-token"`
	Hrefs     []string `xml:"DAV: href"`
}

func (c *CalDAV) report(w http.ResponseWriter, id, body string) {
	var rb reportBody
	if err := xml.Unmarshal([]byte(body), &rb); err != nil {
		http.Error(w, "bad report", http.StatusBadRequest)
		return
	}
	cal, withData := c.cals[id], strings.Contains(body, "calendar-data")
	var out strings.Builder
	switch rb.XMLName.Local {
	case "calendar-query":
		for _, name := range slices.Sorted(maps.Keys(cal.objects)) {
			out.WriteString(c.objectProps(id, name, withData))
		}
	case "calendar-multiget":
		for _, h := range rb.Hrefs {
			name, _ := url.PathUnescape(h[strings.LastIndex(h, "/")+1:])
			out.WriteString(c.objectProps(id, name, withData))
		}
	case "sync-collection":
		c.syncCollection(w, id, rb.SyncToken)
		return
	default:
		http.Error(w, "unsupported report", http.StatusForbidden)
		return
	}
	multistatus(w, out.String())
}

// syncCollection answers RFC 6578 in pages of PageSize changes.
func (c *CalDAV) syncCollection(w http.ResponseWriter, id, tok string) {
	cal := c.cals[id]
	from := 0
	if tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, tokenPrefix))
		if err != nil || n < 0 || n > len(cal.log) {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`)
			return
		}
		from = n
	}
	// The last change of each member after from, in the order made.
	last := map[string]int{}
	for i := from; i < len(cal.log); i++ {
		last[cal.log[i].name] = i
	}
	seqs := slices.Sorted(maps.Values(last))
	to, more := len(cal.log), len(seqs) > c.PageSize
	if more {
		seqs, to = seqs[:c.PageSize], seqs[c.PageSize-1]+1
	}
	var out strings.Builder
	for _, i := range seqs {
		name := cal.log[i].name
		if _, ok := cal.objects[name]; ok {
			out.WriteString(c.objectProps(id, name, false))
		} else {
			out.WriteString(`<D:response><D:href>` + Href(id, name) + `</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>`)
		}
	}
	if more {
		out.WriteString(`<D:response><D:href>` + Href(id, "") + `</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>`)
	}
	multistatus(w, out.String()+`<D:sync-token>`+token(to)+`</D:sync-token>`)
}

func (c *CalDAV) objectProps(id, name string, withData bool) string {
	o, ok := c.cals[id].objects[name]
	if !ok {
		return `<D:response><D:href>` + Href(id, name) + `</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>`
	}
	props := `<D:getetag>` + html.EscapeString(o.etag) + `</D:getetag>`
	if withData {
		props += `<C:calendar-data>` + html.EscapeString(string(o.data)) + `</C:calendar-data>`
	}
	return response(Href(id, name), props)
}

// object answers GET, PUT and DELETE of one event.
func (c *CalDAV) object(w http.ResponseWriter, r *http.Request, id, name string, body []byte) {
	cal, href := c.cals[id], Href(id, name)
	o, exists := cal.objects[name]
	if m := r.Header.Get("If-Match"); m != "" && (!exists || m != o.etag) {
		http.Error(w, "Precondition Failed", http.StatusPreconditionFailed)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if !exists {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", o.etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		_, _ = w.Write(o.data)
	case http.MethodDelete:
		if !exists {
			http.NotFound(w, r)
			return
		}
		delete(cal.objects, name)
		cal.log = append(cal.log, change{name: name, deleted: true})
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		if c.conflict[href] {
			http.Error(w, "Conflict", http.StatusConflict)
			return
		}
		if !exists {
			// A new event lives at the href of its UID, whatever the client chose.
			name = uidOf(body) + ".ics"
			w.Header().Set("Location", Href(id, name))
		}
		w.Header().Set("ETag", c.store(cal, name, body))
		if exists {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	default:
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

func uidOf(data []byte) string {
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "UID:"); ok {
			return v
		}
	}
	return "no-uid"
}

func response(href, props string) string {
	return `<D:response><D:href>` + href + `</D:href><D:propstat><D:prop>` + props +
		`</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`
}

func multistatus(w http.ResponseWriter, responses string) {
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.WriteHeader(http.StatusMultiStatus)
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">`+
		responses+`</D:multistatus>`)
}
