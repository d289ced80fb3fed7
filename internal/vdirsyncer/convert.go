package vdirsyncer

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Note is one line of a conversion's report: something it could not carry
// over, or something to do by hand before the first sync.
type Note struct {
	Section string // the section's title: "pair NAME", "storage NAME"
	Key     string // "" for the section as a whole
	Msg     string
}

// String is the note as one line: "[SECTION] KEY: MSG", a character that
// is not printable written as Go escapes it.
func (n Note) String() string {
	line := fmt.Sprintf("[%s] %s: %s", n.Section, n.Key, n.Msg)
	if n.Key == "" {
		line = fmt.Sprintf("[%s]: %s", n.Section, n.Msg)
	}
	return printable(line)
}

func printable(s string) string {
	if strings.IndexFunc(s, notPrintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if notPrintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }

// Result is a conversion: vdird's configuration and the report.
type Result struct {
	TOML     []byte   // vdird's configuration; nil when no pair was converted
	Accounts []string // the names of its accounts
	Notes    []Note
}

// Convert turns the pairs of c into vdird accounts. A pair of a CalDAV
// server (caldav, google_calendar) or a CardDAV server (carddav) and a
// filesystem folder becomes an account whose calendars or address books
// live in the folder vdirsyncer filled, so vdird's first sync finds every
// item already there. Pairs that reach the same server as the same user
// become one account, syncing calendars and address books when pairs of
// both kinds do, as long as each kind has one folder. Everything that has
// no equivalent is a Note; a pair that cannot be synced as vdirsyncer did
// is left out, with a Note saying why.
func Convert(c *Config) Result {
	cv := &converter{cfg: c, notes: slices.Clone(c.Notes)}
	for _, p := range c.Pairs {
		acc, notes, fail := cv.pair(p)
		if fail != nil {
			n := Note{Section: p.Title(), Msg: "not converted: " + fail.String()}
			if fail.Section == p.Title() {
				n = Note{Section: p.Title(), Key: fail.Key, Msg: "the pair is not converted: " + fail.Msg}
			}
			cv.note(n)
			continue
		}
		for _, n := range notes {
			cv.note(n)
		}
		cv.add(acc)
	}
	res := Result{Notes: cv.notes}
	if len(cv.accts) == 0 {
		return res
	}
	for _, a := range cv.accts {
		res.Accounts = append(res.Accounts, a.Name)
	}
	res.TOML = render(c.Path, cv.accts)
	return res
}

type converter struct {
	cfg   *Config
	notes []Note
	accts []*account
}

// note adds n to the report once.
func (cv *converter) note(n Note) {
	if !slices.Contains(cv.notes, n) {
		cv.notes = append(cv.notes, n)
	}
}

// failure is why a pair is not converted: a key of one of its sections.
type failure Note

func (f *failure) String() string { return Note(*f).String() }

// kind is what a storage holds, by its type.
type kind int

const (
	unknownKind kind = iota
	calendarServer
	addressBookServer
	folder
	feed
	singleFile
)

func kindOf(typ any) kind {
	switch typ {
	case "caldav", "google_calendar":
		return calendarServer
	case "carddav", "google_contacts":
		return addressBookServer
	case "filesystem":
		return folder
	case "http":
		return feed
	case "singlefile":
		return singleFile
	}
	return unknownKind
}

// side is one storage of a pair: "a" or "b", and its section.
type side struct {
	name string
	sec  *Section
	kind kind
}

// pair converts one [pair NAME] section into an account, with the notes on
// its sections, or says why it cannot be.
func (cv *converter) pair(p *Section) (*account, []Note, *failure) {
	r := newReader(p)
	sides := make([]side, 2)
	for i, key := range []string{"a", "b"} {
		name, ok := r.take(key)
		s, _ := name.(string)
		if !ok || s == "" {
			return nil, nil, r.fail(key, "missing: it names the pair's storage")
		}
		sec := cv.cfg.Storages[s]
		if sec == nil {
			return nil, nil, r.fail(key, fmt.Sprintf("no [storage %s] section", s))
		}
		sides[i] = side{key, sec, kindOf(sec.Values["type"])}
	}
	server, local, fail := serverAndFolder(sides)
	if fail != nil {
		return nil, nil, fail
	}
	acc := &account{Name: p.Name, pairs: []string{p.Name}, from: map[kind]string{server.kind: p.Name}}
	sr, lr := newReader(server.sec), newReader(local.sec)
	if fail := sr.server(acc, server.kind); fail != nil {
		return nil, nil, fail
	}
	folderPath, fail := lr.folder(server.kind)
	if fail != nil {
		return nil, nil, fail
	}
	if fail := r.collections(acc, server, folderPath); fail != nil {
		return nil, nil, fail
	}
	r.pairKeys(acc, server)
	var notes []Note
	for _, rd := range []*reader{r, sr, lr} {
		notes = append(notes, rd.done()...)
	}
	return acc, notes, nil
}

// serverAndFolder finds the pair's server and folder, or says why the
// pair is not one of a CalDAV or CardDAV server and a filesystem folder.
func serverAndFolder(s []side) (server, local side, fail *failure) {
	for _, x := range s {
		if x.sec.Values["type"] == "google_contacts" {
			return side{}, side{}, &failure{Section: x.sec.Title(), Key: "type",
				Msg: "google_contacts: vdird signs in to Google for Google Calendar; Google's address books are not converted"}
		}
	}
	for i, o := range []int{1, 0} {
		if (s[i].kind == calendarServer || s[i].kind == addressBookServer) && s[o].kind == folder {
			return s[i], s[o], nil
		}
	}
	for _, x := range s {
		f := &failure{Section: x.sec.Title(), Key: "type"}
		switch x.kind {
		case feed:
			f.Msg = "http: a read-only calendar feed is not converted; vdird syncs CalDAV calendars"
		case singleFile:
			f.Msg = "singlefile: vdird syncs vdir folders, one file per item, not one file holding them all"
		case unknownKind:
			f.Msg = fmt.Sprintf("%s: not a storage type vdird can take the place of", show(x.sec.Values["type"]))
		default:
			continue
		}
		return side{}, side{}, f
	}
	return side{}, side{}, &failure{Section: s[0].sec.Title(), Key: "type",
		Msg: fmt.Sprintf("%s, and [%s] is %s: vdird syncs a CalDAV or CardDAV server with a filesystem folder", show(s[0].sec.Values["type"]), s[1].sec.Title(), show(s[1].sec.Values["type"]))}
}

// add puts acc, converted from one pair, into the configuration. An
// account already there that reaches the same server the same way takes
// its collections when it keeps that kind in the same folder, or keeps none
// of that kind yet. A folder that another account uses, or that holds the
// collections of the other kind, makes the pair not converted, as vdird
// gives every account and every kind a folder of its own.
func (cv *converter) add(acc *account) {
	k := calendarServer
	if acc.ContactsRoot != "" {
		k = addressBookServer
	}
	root, names := acc.set(k)
	same := func(o *account) bool { return o.conn == acc.conn && origin(o.URL) == origin(acc.URL) }
	for _, o := range cv.accts {
		for _, ok := range []kind{calendarServer, addressBookServer} {
			oroot, onames := o.set(ok)
			switch {
			case *oroot != *root:
				continue
			case ok != k:
				cv.note(Note{Section: "pair " + acc.pairs[0], Msg: fmt.Sprintf(
					"not converted: its folder %s holds the %s of [pair %s]; vdird keeps calendars and address books in folders of their own",
					*root, noun(ok).plural, o.from[ok])})
			case !same(o):
				cv.note(Note{Section: "pair " + acc.pairs[0], Msg: fmt.Sprintf(
					"not converted: its folder %s is [pair %s]'s too, which reaches another server or user; vdird gives each account a folder of its own",
					*root, o.from[ok])})
			case !slices.Equal(o.Window, acc.Window) || !slices.Equal(o.Components, acc.Components):
				cv.note(Note{Section: "pair " + acc.pairs[0], Msg: fmt.Sprintf(
					"not converted: its folder %s is [pair %s]'s too, which syncs other dates or item types; vdird gives each account one window",
					*root, o.from[ok])})
			default:
				o.pairs = append(o.pairs, acc.pairs...)
				if acc.CreateCollections != nil {
					o.CreateCollections = acc.CreateCollections
				}
				if *onames == nil || *names == nil {
					*onames = nil
				} else {
					*onames = slices.Compact(slices.Sorted(slices.Values(append(*onames, *names...))))
				}
			}
			return
		}
	}
	for _, o := range cv.accts {
		if oroot, onames := o.set(k); *oroot == "" && same(o) {
			*oroot, *onames = *root, *names
			if k == calendarServer {
				o.Window, o.Components = acc.Window, acc.Components
			}
			o.pairs = append(o.pairs, acc.pairs...)
			o.from[k] = acc.pairs[0]
			if acc.CreateCollections != nil {
				o.CreateCollections = acc.CreateCollections
			}
			return
		}
	}
	acc.Name = cv.uniqueName(acc.Name)
	cv.accts = append(cv.accts, acc)
}

// words names the collections of a kind in notes: "calendar", and the key
// that lists them.
type words struct{ one, plural, key string }

func noun(k kind) words {
	if k == addressBookServer {
		return words{"address book", "address books", "addressbooks"}
	}
	return words{"calendar", "calendars", "calendars"}
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// uniqueName makes a pair's name a vdird account name: letters, digits,
// '.', '_' and '-', starting with a letter or digit, used once.
func (cv *converter) uniqueName(pair string) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && validName.MatchString("a"+string(r)) {
			return r
		}
		return -1
	}, pair)
	name = strings.TrimLeft(name, "._-")
	if name == "" {
		name = "account"
	}
	taken := map[string]bool{}
	for _, a := range cv.accts {
		taken[a.Name] = true
	}
	base := name
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// show writes a configuration value as vdirsyncer's file has it.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = show(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			parts = append(parts, fmt.Sprintf("%q: %s", k, show(v[k])))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}
