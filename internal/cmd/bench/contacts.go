package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vdird/vdird/internal/testserver"
)

// contactsResult is the address book benchmark: n contacts synced by
// vdird and vdirsyncer on one Radicale, and the peak memory of vdird's
// first sync of an address book of big photo cards.
type contactsResult struct {
	N     int
	Tools map[string]map[string]measure // tool → phase (initial, no-change)
	// The photo set: Photos cards of PhotoBytes each, synced by vdird.
	Photos     int
	PhotoBytes int
	Photo      map[string]measure // phase → measure
}

// contactsBook is the seeded address book's href segment.
const contactsBook = "contacts"

// card returns the ith benchmark contact: a vCard 3.0 of about 600 bytes
// with the fields an address book usually holds; photo, when non-zero,
// adds an inline JPEG PHOTO of about that many bytes.
func card(i, photo int) []byte {
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	f("BEGIN:VCARD")
	f("VERSION:3.0")
	f("PRODID:-//vdird bench//EN")
	f("UID:%s", cardUID(i))
	f("FN:Contact %d Example", i)
	f("N:Example;Contact %d;;;", i)
	f("ORG:Example Org %d;Team %d", i%50, i%7)
	f("TITLE:Engineer")
	f("EMAIL;TYPE=INTERNET;TYPE=WORK:contact%d@example.org", i)
	f("EMAIL;TYPE=INTERNET;TYPE=HOME:contact%d@example.net", i)
	f("TEL;TYPE=CELL:+1 555 %07d", i)
	f("ADR;TYPE=WORK:;;%d Example Street;Springfield;;%05d;USA", i, i%100000)
	f("NOTE:Benchmark contact %d\\, met at a conference.", i)
	f("CATEGORIES:bench,work")
	if photo > 0 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(fmt.Sprintf("jpeg%06d", i), photo*3/4/10+1)))
		b.WriteString("PHOTO;ENCODING=b;TYPE=JPEG:")
		for j := 0; j < len(enc); j += 74 {
			if j > 0 {
				b.WriteString("\r\n ")
			}
			b.WriteString(enc[j:min(j+74, len(enc))])
		}
		b.WriteString("\r\n")
	}
	f("END:VCARD")
	return []byte(b.String())
}

func cardName(i int) string { return fmt.Sprintf("contact-%06d.vcf", i) }
func cardUID(i int) string  { return fmt.Sprintf("contact-%06d@vdird.bench", i) }

// contactsBench measures both tools on n contacts, then vdird on photos
// cards of photoBytes each.
func contactsBench(cfg config, n int, withVdirsyncer bool, photos, photoBytes int) (*contactsResult, error) {
	res := &contactsResult{N: n, Tools: map[string]map[string]measure{}, Photos: photos, PhotoBytes: photoBytes}
	if n > 0 {
		users := []string{"vdird"}
		if withVdirsyncer {
			users = append(users, "vdirsyncer")
		}
		err := withRadicale(cfg, fmt.Sprintf("contacts-%d", n), users, n, 0, func(srv *testserver.Server, work string) error {
			for _, u := range users {
				ms, err := contactPhases(cfg, srv.As(u), work, n)
				if err != nil {
					return fmt.Errorf("%s: %w", u, err)
				}
				res.Tools[u] = ms
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if photos > 0 {
		err := withRadicale(cfg, "photos", []string{"vdird"}, photos, photoBytes, func(srv *testserver.Server, work string) error {
			var err error
			res.Photo, err = contactPhases(cfg, srv.As("vdird"), work, photos)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// withRadicale starts a Radicale in cfg.Work/name whose users each hold
// an address book of n contacts (photo bytes of photo each), warmed, and
// runs fn with it.
func withRadicale(cfg config, name string, users []string, n, photo int, fn func(srv *testserver.Server, work string) error) (err error) {
	work := filepath.Join(cfg.Work, name)
	cfg.Log("%s: starting Radicale, seeding %d contacts for %v", name, n, users)
	srv, err := testserver.Launch(testserver.Radicale, testserver.Options{Dir: filepath.Join(work, "server"), Users: users})
	if err != nil {
		return err
	}
	defer srv.Stop()
	defer func() { err = withOutput(err, srv) }()
	start := time.Now()
	for _, u := range users {
		s := srv.As(u)
		href, err := s.SeedAddressBook(contactsBook, "Contacts", n, func(i int) (string, []byte) { return cardName(i), card(i, photo) })
		if err != nil {
			return err
		}
		if err := warmBook(s, href); err != nil {
			return err
		}
	}
	cfg.Log("%s: seeded and warmed in %v", name, time.Since(start).Round(time.Second))
	return fn(srv, work)
}

// warmBook makes Radicale build its caches for an address book.
func warmBook(s *testserver.Server, href string) error {
	for _, st := range []struct{ method, depth, body string }{
		{"PROPFIND", "0", ctagQuery},
		{"REPORT", "1", `<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter/></C:addressbook-query>`},
		{"REPORT", "0", syncQuery("")},
	} {
		if _, err := expect(s, st.method, href, map[string]string{"Depth": st.depth}, st.body, 207); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
	}
	return nil
}

// contactPhases runs one tool's first and no-change syncs of s's address
// book through a counter and checks that the first brought every card.
func contactPhases(cfg config, s *testserver.Server, work string, n int) (map[string]measure, error) {
	ctr, err := startCounter(s.URL)
	if err != nil {
		return nil, err
	}
	defer ctr.Close()
	dir := filepath.Join(work, s.User)
	var t tool
	if s.User == "vdirsyncer" {
		t, err = newVdirsyncerOf(dir, through(ctr, s), "carddav", ".vcf")
	} else {
		t, err = newVdirdContacts(cfg.Vdird, dir, through(ctr, s))
	}
	if err != nil {
		return nil, err
	}
	st := stage{cfg: cfg, srv: s, ctr: ctr, cal: contactsBook, href: s.BookHomeHref + contactsBook + "/", n: n}
	ms := map[string]measure{}
	for _, ph := range []string{phInitial, phNoChange} {
		if ms[ph], err = st.timedSync(t, "contacts "+ph); err != nil {
			return nil, fmt.Errorf("%s: %w", ph, err)
		}
		if got := countExt(t.CalDir(contactsBook), ".vcf"); got != n {
			return nil, fmt.Errorf("after %s %s holds %d cards, want %d", ph, t.CalDir(contactsBook), got, n)
		}
	}
	return ms, nil
}

// newVdirdContacts is vdird configured to sync the address books of acct
// only, into dir/contacts.
func newVdirdContacts(bin, dir string, acct account) (*vdirdTool, error) {
	t := &vdirdTool{bin: bin, dir: dir, cfg: filepath.Join(dir, "config.toml"), root: filepath.Join(dir, "contacts"), acct: acct}
	if err := os.MkdirAll(t.root, 0o700); err != nil {
		return nil, err
	}
	c := testserver.VdirdConfig{Dir: dir, Name: "bench", URL: acct.URL, User: acct.User, Password: acct.Password,
		Settings:        []string{`log_level = "warn"`},
		AccountSettings: []string{`sync = ["addressbooks"]`, fmt.Sprintf("contacts_root = %q", t.root)}}
	_, err := c.Write()
	return t, err
}

// countExt counts the files ending in ext below dir.
func countExt(dir, ext string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			n++
		}
		return nil
	})
	return n
}

// contactsTable writes the address book comparison and the photo set.
func contactsTable(b *strings.Builder, c *contactsResult) {
	if c == nil {
		return
	}
	b.WriteString("\nAddress books (Radicale, vCard 3.0 contacts of about 600 bytes; the photo set: vdird only):\n\n")
	b.WriteString("| address book | phase | vdird wall | CPU | peak RSS | requests | bytes | vdirsyncer wall | CPU | peak RSS | requests | bytes | vdird / vdirsyncer | vdirsyncer ÷ vdird |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, ph := range []string{phInitial, phNoChange} {
		v, vok := c.Tools["vdird"][ph]
		s, sok := c.Tools["vdirsyncer"][ph]
		if vok || sok {
			fmt.Fprintf(b, "| %s contacts | %s | %s | %s | %s | %s |\n", commas(c.N), ph, cell(v, vok, nil), cell(s, sok, nil), ratio(v.Wall, s.Wall), faster(v.Wall, s.Wall))
		}
	}
	for _, ph := range []string{phInitial, phNoChange} {
		if v, ok := c.Photo[ph]; ok {
			fmt.Fprintf(b, "| %s cards of %s | %s | %s | — | — | — | — | — | — | — |\n", commas(c.Photos), human(int64(c.PhotoBytes)), ph, cell(v, true, nil))
		}
	}
}

// acceptance evaluates the address book targets; none when c is nil.
func (c *contactsResult) acceptance() []check {
	if c == nil {
		return []check{{text: "address books: not measured (--contacts 0 --photo-cards 0)"}}
	}
	var cs []check
	v, s := c.Tools["vdird"], c.Tools["vdirsyncer"]
	if vi, si := v[phInitial], s[phInitial]; si.Wall > 0 {
		cs = append(cs, check{text: fmt.Sprintf("Radicale %s contacts initial: %s faster than vdirsyncer (≥ 10×)", commas(c.N), faster(vi.Wall, si.Wall)), ok: pb(si.Wall.Seconds() >= 10*vi.Wall.Seconds())})
	}
	if vn, sn := v[phNoChange], s[phNoChange]; sn.Wall > 0 {
		cs = append(cs, check{text: fmt.Sprintf("Radicale %s contacts no-change: %s faster than vdirsyncer (≥ 30×), %d request(s)", commas(c.N), faster(vn.Wall, sn.Wall), vn.Use.Requests), ok: pb(sn.Wall.Seconds() >= 30*vn.Wall.Seconds())})
	}
	if p, ok := c.Photo[phInitial]; ok {
		cs = append(cs, check{text: fmt.Sprintf("%s photo cards of %s, first sync: peak RSS %s (≤ 60 MB)", commas(c.Photos), human(int64(c.PhotoBytes)), mb(p.RSSKB)), ok: pb(p.RSSKB <= 60*1024)})
	}
	return cs
}
