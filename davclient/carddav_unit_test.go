package davclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vdird/vdird/internal/davtest"
)

// Real servers serve one vCard version (Radicale and Xandikos store what
// they get and offer no choice), so what sabre-like servers see is checked
// here: the configured version is asked for where supported-address-data
// offers it, and nowhere else.
func TestAddressBook_VCardVersionAskedOnlyWhereOffered(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // "METHOD path" → body or header of interest
	_, c := davtest.Fake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case "PROPFIND":
			versions := `<a:address-data-type content-type="text/vcard" version="3.0"/>`
			if strings.HasPrefix(r.URL.Path, "/both/") {
				versions += `<a:address-data-type content-type="text/vcard" version="4.0"/><a:address-data-type content-type="application/vcard+json" version="4.0"/>`
			}
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:a="urn:ietf:params:xml:ns:carddav"><d:response><d:href>`+r.URL.Path+`</d:href><d:propstat><d:prop>`+
				`<d:resourcetype><d:collection/><a:addressbook/></d:resourcetype><a:supported-address-data>`+versions+`</a:supported-address-data>`+
				`<a:max-resource-size>100</a:max-resource-size></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		case "REPORT":
			seen["REPORT "+r.URL.Path] = string(b)
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"/>`)
		case http.MethodGet:
			seen["GET "+r.URL.Path] = r.Header.Get("Accept")
			_, _ = io.WriteString(w, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:a\r\nEND:VCARD\r\n")
		case http.MethodPut:
			seen["PUT "+r.URL.Path] = r.Header.Get("Content-Type")
			w.WriteHeader(http.StatusCreated)
		}
	}, func(url string) (*Client, error) {
		return New(Options{URL: url + "/", VCardVersion: "4.0"})
	})
	both, err := c.Calendar(bg(), "/both/")
	if err != nil {
		t.Fatal(err)
	}
	only3, err := c.Calendar(bg(), "/only3/")
	if err != nil {
		t.Fatal(err)
	}
	if both.Kind != KindAddressBook || strings.Join(both.VCardVersions, ",") != "3.0,4.0" || both.MaxResourceSize != 100 || strings.Join(only3.VCardVersions, ",") != "3.0" {
		t.Fatalf("props: %+v / %+v", both, only3)
	}
	for _, ab := range []Calendar{both, only3} {
		if err := c.Download(bg(), ab, func(Object) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(bg(), ab, ab.Href+"a.vcf"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(bg(), ab, ab.Href+"a.vcf", []byte("BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	if q := seen["REPORT /both/"]; !strings.Contains(q, `addressbook-query`) || !strings.Contains(q, `<C:address-data content-type="text/vcard" version="4.0"/>`) {
		t.Errorf("query of an address book offering 4.0: %s", q)
	}
	if q := seen["REPORT /only3/"]; !strings.Contains(q, `<C:address-data/>`) || strings.Contains(q, `version="4.0"`) {
		t.Errorf("query of an address book offering only 3.0 asks for a version: %s", q)
	}
	if a := seen["GET /both/a.vcf"]; a != "text/vcard; version=4.0" {
		t.Errorf("GET Accept %q", a)
	}
	if ct := seen["PUT /both/a.vcf"]; ct != "text/vcard; charset=utf-8" {
		t.Errorf("PUT Content-Type %q", ct)
	}
	// Over the size the server announced: refused before it is sent.
	_, err = c.Put(bg(), both, "/both/big.vcf", []byte(strings.Repeat("x", 101)), `"1"`)
	if !errors.Is(err, ErrTooLarge) || seen["PUT /both/big.vcf"] != "" {
		t.Errorf("over max-resource-size: %v, sent %v", err, seen["PUT /both/big.vcf"] != "")
	}
}

// A multiget of big cards asks for few at a time: a probe of probeBatch
// first, then as many as MultigetBytes holds at the sizes seen, so no
// request makes the server build an answer of a hundred photos.
func TestMultiget_BigCards_BatchesBoundedByBytes(t *testing.T) {
	const cardSize = 1 << 20
	body := "BEGIN:VCARD\r\nUID:x\r\nPHOTO:" + strings.Repeat("A", cardSize) + "\r\nEND:VCARD\r\n"
	hrefRe := regexp.MustCompile(`<D:href>([^<]+)</D:href>`)
	var (
		mu    sync.Mutex
		sizes []int
	)
	_, c := davtest.Fake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hrefs := hrefRe.FindAllStringSubmatch(string(b), -1)
		mu.Lock()
		sizes = append(sizes, len(hrefs))
		mu.Unlock()
		var out strings.Builder
		out.WriteString(`<d:multistatus xmlns:d="DAV:" xmlns:a="urn:ietf:params:xml:ns:carddav">`)
		for _, h := range hrefs {
			fmt.Fprintf(&out, `<d:response><d:href>%s</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag><a:address-data>%s</a:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, h[1], body)
		}
		out.WriteString(`</d:multistatus>`)
		davtest.MultiStatus(w, out.String())
	}, func(url string) (*Client, error) {
		return New(Options{URL: url + "/", MultigetBytes: 4 << 20})
	})
	var want []string
	for i := range 40 {
		want = append(want, fmt.Sprintf("/ab/%d.vcf", i))
	}
	got := 0
	err := c.Multiget(bg(), Calendar{Href: "/ab/", Kind: KindAddressBook}, want, func(o Object) error {
		if len(o.Data) < cardSize {
			return fmt.Errorf("%s: %d bytes", o.Href, len(o.Data))
		}
		got++
		return nil
	})
	if err != nil || got != len(want) {
		t.Fatalf("Multiget: %v, %d of %d cards", err, got, len(want))
	}
	if sizes[0] != probeBatch {
		t.Errorf("first request asked for %d cards, want a probe of %d", sizes[0], probeBatch)
	}
	for _, n := range sizes[1:] {
		if n > 4 {
			t.Errorf("a request asked for %d cards of 1 MiB with a 4 MiB budget (all: %v)", n, sizes)
		}
	}
}

// A server that serves address books at a context of their own: the
// calendar side names no address book home, /.well-known/carddav does.
func TestDiscover_AddressBooksAtTheirOwnWellKnownContext(t *testing.T) {
	principal := func(w http.ResponseWriter, href, prop string) {
		davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="urn:ietf:params:xml:ns:carddav"><d:response><d:href>`+href+`</d:href><d:propstat><d:prop>`+prop+`</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
	}
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/caldav":
			http.Redirect(w, r, "/cal/", http.StatusMovedPermanently)
		case "/.well-known/carddav":
			http.Redirect(w, r, "/card/", http.StatusMovedPermanently)
		case "/cal/":
			principal(w, "/cal/", `<c:calendar-home-set><d:href>/cal/alice/</d:href></c:calendar-home-set>`)
		case "/card/":
			principal(w, "/card/", `<d:current-user-principal><d:href>/card/principals/alice/</d:href></d:current-user-principal>`)
		case "/card/principals/alice/":
			principal(w, r.URL.Path, `<a:addressbook-home-set><d:href>/card/alice/</d:href></a:addressbook-home-set>`)
		case "/cal/alice/", "/card/alice/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"/>`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	if _, err := c.Discover(bg()); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.Homes(bg()); h != (Homes{Calendars: "/cal/alice/", AddressBooks: "/card/alice/"}) {
		t.Errorf("Homes = %+v", h)
	}
}

// Address books on another host than the calendars (iCloud's partition
// hosts): the calendars stay reachable, the other home is named.
func TestDiscover_AddressBookHomeOnAnotherHost_NamedElsewhere(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="urn:ietf:params:xml:ns:carddav"><d:response><d:href>/</d:href><d:propstat><d:prop>`+
				`<c:calendar-home-set><d:href>/cal/</d:href></c:calendar-home-set><a:addressbook-home-set><d:href>http://contacts.example.org/ab/</d:href></a:addressbook-home-set>`+
				`</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
		case "/cal/":
			davtest.MultiStatus(w, `<d:multistatus xmlns:d="DAV:"/>`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	if _, err := c.Discover(bg()); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.Homes(bg()); h != (Homes{Calendars: "/cal/", Elsewhere: "http://contacts.example.org/ab/"}) {
		t.Errorf("Homes = %+v", h)
	}
}
