package webdav

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"slices"
	"strconv"

	"github.com/vdird/vdird/davclient/webdav/internal/xmltext"
)

// stash holds the content text runs guardReader set aside, each under
// a marker it put in the decoder's input instead. A marker is
// "vdird-stash-" + a random nonce + a sequence number: a server cannot
// forge one, so any text equal to a marker came from here.
//
// Only the run right after a start tag whose local name is the content
// property's (e.g. calendar-data) is set aside (any prefix: the namespace
// is the decoder's business, and a run taken from another element comes
// back unchanged). CDATA sections, later runs and everything else go
// through the decoder as before.
type stashed struct {
	data []byte // the character data, unescaped
	err  error  // why the run is not valid XML text
}

type stash struct {
	off      bool     // set nothing aside (tests compare with the plain path)
	content  []string // local names of the elements whose text is set aside
	prefix   []byte
	seq      uint64
	runs     map[string]stashed
	stashing bool   // inside a content text run
	cur      []byte // that run so far, raw

	// The tag being read.
	tagIsElem bool     // a start tag so far (not a declaration or an end tag)
	name      [64]byte // the start of the name: enough for any prefix a server uses
	nameLen   int      // bytes of the name kept; len(name) means too long to matter
	nameDone  bool
	last      byte // last byte of the tag that is not white space
}

func (s *stash) init(content []xml.Name) {
	for _, n := range content {
		if n.Local != "" {
			s.content = append(s.content, n.Local)
		}
	}
	s.off = len(s.content) == 0
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand, Go 1.24+)
	s.prefix = []byte("vdird-stash-" + hex.EncodeToString(nonce[:]) + "-")
	s.runs = map[string]stashed{}
}

func (s *stash) tagStart(elem bool) {
	s.tagIsElem, s.nameLen, s.nameDone, s.last = elem, 0, false, 0
}

// tagNote sees every byte of a tag but its closing '>'.
func (s *stash) tagNote(b byte) {
	white := b == ' ' || b == '\t' || b == '\n' || b == '\r'
	if !white {
		s.last = b
	}
	if s.nameDone {
		return
	}
	switch {
	case s.nameLen == 0 && b == '/': // an end tag
		s.tagIsElem = false
		s.nameDone = true
	case white || b == '/':
		s.nameDone = true
	case s.nameLen < len(s.name):
		s.name[s.nameLen] = b
		s.nameLen++
	}
}

// tagEnd runs at the '>' that closes a tag: after a content start tag
// (not an empty-element tag) the text run is set aside.
func (s *stash) tagEnd() {
	if s.off || !s.tagIsElem || s.last == '/' || s.nameLen >= len(s.name) {
		return
	}
	name := s.name[:s.nameLen]
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	if slices.Contains(s.content, string(name)) {
		s.stashing = true
		s.cur = s.cur[:0]
	}
}

// endRun ends a content text run at the markup after it, files it and
// puts its marker in out.
func (s *stash) endRun(out []byte) []byte {
	s.stashing = false
	if len(s.cur) == 0 {
		return out
	}
	s.seq++
	start := len(out)
	out = append(out, s.prefix...)
	out = strconv.AppendUint(out, s.seq, 10)
	data, err := xmltext.Unescape(s.cur)
	if err == nil && len(data) > 0 && &data[0] == &s.cur[0] {
		data = bytes.Clone(data) // cur is reused for the next run
	}
	s.runs[string(out[start:])] = stashed{data, err}
	s.cur = s.cur[:0]
	return out
}

// take returns the text a marker stands for, checked and unescaped; ok is
// false when text is not one of our markers.
func (s *stash) take(text []byte) (data []byte, ok bool, err error) {
	if len(s.runs) == 0 || !bytes.HasPrefix(text, s.prefix) {
		return nil, false, nil
	}
	st, ok := s.runs[string(text)]
	if !ok {
		return nil, false, nil
	}
	delete(s.runs, string(text))
	return st.data, true, st.err
}
