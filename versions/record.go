package versions

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Names inside the store's directory.
const (
	lockName   = "lock"
	indexName  = "index"
	tempPrefix = ".tmp-"
	// headerTag starts a version file's first line, which describes it.
	headerTag = "vdird-version-1"
	dayLayout = "20060102"
	idLayout  = "20060102T150405Z"
)

// dayRe matches a day directory's name.
var dayRe = regexp.MustCompile(`^[0-9]{8}$`)

// newID names a version: its UTC time to the second and 40 random bits,
// as 20060102T150405Z-0123456789; the first 8 characters name its day.
func newID(t time.Time) string {
	var b [5]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return t.UTC().Format(idLayout) + "-" + hex.EncodeToString(b[:])
}

// NewPassID names a pass that started at t (a sync pass, or a restore)
// for Meta.Pass: its UTC time to the second and 24 random bits, as
// 20060102T150405Z-3f9a1c.
func NewPassID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format(idLayout) + "-" + hex.EncodeToString(b[:])
}

func dayOf(t time.Time) string { return t.UTC().Format(dayLayout) }

// The fields of a record, in order, after the kind and the ID.
const (
	fTime = iota
	fSize
	fSide
	fReason
	fAccount
	fCollection
	fFolder
	fUID
	fHref
	fFile
	fPass
	fSummary
	nFields
)

// fields encodes m and the size of its bytes as tab-separated escaped
// fields, without a newline.
func fields(m Meta, size int) string {
	f := [nFields]string{
		fTime: strconv.FormatInt(m.Time.UnixNano(), 10), fSize: strconv.Itoa(size),
		fSide: string(m.Side), fReason: string(m.Reason), fAccount: m.Account,
		fCollection: m.Collection, fFolder: m.Folder, fUID: m.UID, fHref: m.Href,
		fFile: m.File, fPass: m.Pass, fSummary: m.Summary,
	}
	for i := range f {
		f[i] = escaper.Replace(f[i])
	}
	return strings.Join(f[:], "\t")
}

// parseFields reads what fields wrote.
func parseFields(s string) (Meta, int64, bool) {
	var f [nFields]string
	for i := range f {
		var ok bool
		if f[i], s, ok = strings.Cut(s, "\t"); ok != (i < nFields-1) {
			return Meta{}, 0, false
		}
	}
	ns, err1 := strconv.ParseInt(f[fTime], 10, 64)
	size, err2 := strconv.ParseInt(f[fSize], 10, 64)
	if err1 != nil || err2 != nil || size < 0 {
		return Meta{}, 0, false
	}
	for i := range f {
		if strings.IndexByte(f[i], '%') >= 0 {
			f[i] = unescape(f[i])
		}
	}
	return Meta{
		Time: time.Unix(0, ns).UTC(), Side: Side(f[fSide]), Reason: Reason(f[fReason]),
		Account: f[fAccount], Collection: f[fCollection], Folder: f[fFolder], UID: f[fUID],
		Href: f[fHref], File: f[fFile], Pass: f[fPass], Summary: f[fSummary],
	}, size, true
}

// Index lines: "+\tID\tFIELDS\n" adds a version, "-\tID\n" removes one.
func addLine(id, fs string) string { return "+\t" + id + "\t" + fs + "\n" }
func removeLine(id string) string  { return "-\t" + id + "\n" }

// header is a version file's first line.
func header(fs string) string { return headerTag + "\t" + fs + "\n" }

// parseFile splits a version file into its description and its bytes,
// checking the length the header gives.
func parseFile(id string, b []byte) (Entry, []byte, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || !bytes.HasPrefix(b, []byte(headerTag+"\t")) {
		return Entry{}, nil, fmt.Errorf("version %s: no header", id)
	}
	m, size, ok := parseFields(string(b[len(headerTag)+1 : nl]))
	data := b[nl+1:]
	if !ok || size != int64(len(data)) {
		return Entry{}, nil, fmt.Errorf("version %s: damaged header or truncated bytes", id)
	}
	return Entry{ID: id, Meta: m, Size: size}, data, nil
}

// Fields may hold any byte; the four that would break a line are escaped.
var escaper = strings.NewReplacer("%", "%25", "\t", "%09", "\n", "%0A", "\r", "%0D")
var unescaper = strings.NewReplacer("%25", "%", "%09", "\t", "%0A", "\n", "%0D", "\r")

func unescape(s string) string { return unescaper.Replace(s) }

// maxSummary bounds a stored summary, in bytes.
const maxSummary = 200

// summaryOf reads the SUMMARY of the first event, task or journal entry in
// an iCalendar object, or the FN of a vCard, with a line scan: unfolded,
// unescaped, on one line. It is "" when there is none.
func summaryOf(data []byte) string {
	var stack []string
	found, done := "", false
	take := func(line string) {
		name, value := splitProperty(line)
		top := ""
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch {
		case name == "BEGIN":
			stack = append(stack, strings.ToUpper(value))
		case name == "END" && len(stack) > 0:
			stack = stack[:len(stack)-1]
		case name == "SUMMARY" && (top == "VEVENT" || top == "VTODO" || top == "VJOURNAL"),
			name == "FN" && top == "VCARD":
			found, done = value, true
		}
	}
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			cur.WriteString(line[1:])
			continue
		}
		if take(cur.String()); done {
			break
		}
		cur.Reset()
		cur.WriteString(line)
	}
	if !done {
		take(cur.String())
	}
	return clip(textUnescaper.Replace(found), maxSummary)
}

var textUnescaper = strings.NewReplacer(`\n`, " ", `\N`, " ", `\,`, ",", `\;`, ";", `\\`, `\`, "\t", " ")

// splitProperty returns a content line's name (upper case, without
// parameters) and its value, after the first colon outside quotes.
func splitProperty(line string) (name, value string) {
	quoted := false
	nameEnd := -1
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			quoted = !quoted
		case c == ';' && nameEnd < 0:
			nameEnd = i
		case c == ':' && !quoted:
			if nameEnd < 0 {
				nameEnd = i
			}
			return strings.ToUpper(line[:nameEnd]), line[i+1:]
		}
	}
	return "", ""
}

// clip cuts s to at most n bytes at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
