package webdav

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Namespace is the XML namespace of WebDAV's elements (RFC 4918 §21).
const Namespace = "DAV:"

const (
	nsDAV    = Namespace
	maxDepth = 64       // XML nesting cap (CVE-2022-28131 class)
	maxText  = 64 << 10 // cap on the text of any element but the Content property
	maxTag   = 64 << 10 // cap on one tag / declaration
)

// Node is a small generic XML element: enough to read any WebDAV property
// (RFC 4918 §4).
type Node struct {
	Name     xml.Name
	Attr     []xml.Attr
	Text     []byte // character data of this element (not of children): XML-unescaped, CRs kept
	Children []*Node
}

// Value is the element's own text without surrounding white space.
func (n *Node) Value() string { return strings.TrimSpace(string(n.Text)) }

// Child returns the first direct child with that name.
func (n *Node) Child(space, local string) *Node {
	for _, c := range n.Children {
		if c.Name.Space == space && c.Name.Local == local {
			return c
		}
	}
	return nil
}

// Has reports whether n has a descendant with that name. supported-report-set
// is searched this way because Xandikos 0.2 omits the DAV:report wrapper
// RFC 3253 §3.1.5 requires.
func (n *Node) Has(space, local string) bool {
	for _, c := range n.Children {
		if (c.Name.Space == space && c.Name.Local == local) || c.Has(space, local) {
			return true
		}
	}
	return false
}

type propVal struct {
	status int
	n      *Node
}

// Response is one DAV:response of a multistatus (RFC 4918 §14.24).
type Response struct {
	Hrefs  []string // raw hrefs as sent (one, or several in the status form)
	Status int      // response-level DAV:status, 0 if the propstat form
	props  []propVal
}

// Prop returns a property answered with a 2xx propstat (RFC 4918 §14.22); a
// property reported 403/404 (or any other status) is absent, never an
// error.
func (r *Response) Prop(space, local string) *Node {
	for _, p := range r.props {
		if p.status/100 == 2 && p.n.Name.Space == space && p.n.Name.Local == local {
			return p.n
		}
	}
	return nil
}

// PropStatus is the status of the propstat that names the property, 0 if
// none does: what a PROPPATCH answer says of each property it set (RFC
// 4918 §9.2.1).
func (r *Response) PropStatus(space, local string) int {
	for _, p := range r.props {
		if p.n.Name.Space == space && p.n.Name.Local == local {
			return p.status
		}
	}
	return 0
}

// Decoder reads a DAV:multistatus (RFC 4918 §14.16) one DAV:response at a
// time, so memory use does not grow with the number of responses.
type Decoder struct {
	d          *xml.Decoder
	g          *guardReader
	owned      bool // the last CharData token is ours (taken from the stash), not the decoder's buffer
	depth      int
	content    []xml.Name
	maxContent int64
	started    bool
	done       bool
	syncToken  string
}

func newXMLDecoder(r io.Reader, maxRun int64, content []xml.Name) (*xml.Decoder, *guardReader) {
	g := newGuardReader(r, maxRun, maxTag, content)
	d := xml.NewDecoder(g)
	d.Strict = true
	return d, g
}

// NewDecoder reads a multistatus from r. The text of a content property
// may be up to maxContent bytes (see Options.Content), any other text 64 KiB.
func NewDecoder(r io.Reader, content []xml.Name, maxContent int64) *Decoder {
	// A raw text run may be longer than its unescaped value ("&amp;" is 5
	// bytes for 1); allow for that before the exact cap applies in readNode.
	d, g := newXMLDecoder(r, 6*maxContent+maxText, content)
	return &Decoder{d: d, g: g, content: content, maxContent: maxContent}
}

// SyncToken is the top-level DAV:sync-token (RFC 6578 §6.2); it may come
// after the responses (Xandikos), so it is final only once Next returns io.EOF.
func (p *Decoder) SyncToken() string { return p.syncToken }

// malformed classifies a decoder error: size caps stay ErrTooLarge, syntax
// problems and truncation become ErrMalformed, transport errors pass through.
func malformed(err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrMalformed):
		return err
	case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if strings.HasPrefix(err.Error(), "xml:") { // e.g. unsupported charset
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return err
}

// token returns the next token, enforcing the depth cap and refusing DTDs.
// Text the guardReader set aside comes back here in place of its marker.
func (p *Decoder) token() (xml.Token, error) {
	p.owned = false
	for {
		t, err := p.d.Token()
		if err != nil {
			return nil, malformed(err)
		}
		switch tt := t.(type) {
		case xml.StartElement:
			p.depth++
			if p.depth > maxDepth {
				return nil, fmt.Errorf("%w: XML nested deeper than %d", ErrMalformed, maxDepth)
			}
			return t, nil
		case xml.EndElement:
			p.depth--
			return t, nil
		case xml.CharData:
			if p.g != nil {
				data, ok, err := p.g.take(tt)
				if err != nil {
					return nil, fmt.Errorf("%w: XML syntax error in a resource's text: %v", ErrMalformed, err)
				}
				if ok {
					p.owned = true
					return xml.CharData(data), nil
				}
			}
			return t, nil
		case xml.Directive:
			// A DOCTYPE could declare entities; nothing legitimate needs one.
			return nil, fmt.Errorf("%w: XML directive <!%s> refused", ErrMalformed, firstWord(tt))
		default: // comments, processing instructions
		}
	}
}

func firstWord(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// Next returns the next response, or io.EOF after the closing multistatus tag.
// Errors match ErrMalformed or ErrTooLarge, or come from reading the body.
func (p *Decoder) Next() (*Response, error) {
	if p.done {
		return nil, io.EOF
	}
	if !p.started {
		for {
			t, err := p.token()
			if err != nil {
				return nil, err
			}
			if se, ok := t.(xml.StartElement); ok {
				if se.Name.Space != nsDAV || se.Name.Local != "multistatus" {
					return nil, fmt.Errorf("%w: root element %s %s, want DAV: multistatus", ErrMalformed, se.Name.Space, se.Name.Local)
				}
				break
			}
		}
		p.started = true
	}
	for {
		tt, ok, err := p.nextChild()
		switch {
		case err != nil:
			return nil, err
		case !ok: // </multistatus>
			p.done = true
			return nil, io.EOF
		case tt.Name.Space == nsDAV && tt.Name.Local == "response":
			return p.readResponse()
		case tt.Name.Space == nsDAV && tt.Name.Local == "sync-token":
			if p.syncToken, err = p.readValue(tt); err != nil {
				return nil, err
			}
		default:
			if err := p.skip(); err != nil {
				return nil, err
			}
		}
	}
}

// nextChild returns the start tag of the next child of the element being
// read, or ok false at that element's end tag. Text between children is
// passed over.
func (p *Decoder) nextChild() (start xml.StartElement, ok bool, err error) {
	for {
		t, err := p.token()
		if err != nil {
			return xml.StartElement{}, false, err
		}
		switch tt := t.(type) {
		case xml.EndElement:
			return xml.StartElement{}, false, nil
		case xml.StartElement:
			return tt, true, nil
		}
	}
}

func (p *Decoder) skip() error {
	for d := 1; d > 0; {
		t, err := p.token()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			d++
		case xml.EndElement:
			d--
		}
	}
	return nil
}

func (p *Decoder) readResponse() (*Response, error) {
	r := &Response{}
	for {
		tt, ok, err := p.nextChild()
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(r.Hrefs) == 0 {
				return nil, fmt.Errorf("%w: response without href", ErrMalformed)
			}
			return r, nil
		}
		switch {
		case tt.Name.Space == nsDAV && tt.Name.Local == "href":
			h, err := p.readValue(tt)
			if err != nil {
				return nil, err
			}
			r.Hrefs = append(r.Hrefs, h)
		case tt.Name.Space == nsDAV && tt.Name.Local == "status":
			if r.Status, err = p.readStatus(tt); err != nil {
				return nil, err
			}
		case tt.Name.Space == nsDAV && tt.Name.Local == "propstat":
			if err := p.readPropstat(r); err != nil {
				return nil, err
			}
		default: // error, responsedescription, location, other namespaces
			if err := p.skip(); err != nil {
				return nil, err
			}
		}
	}
}

func (p *Decoder) readPropstat(r *Response) error {
	var props []*Node
	status := 0
	for {
		tt, ok, err := p.nextChild()
		if err != nil {
			return err
		}
		if !ok {
			if status == 0 {
				return fmt.Errorf("%w: propstat without status", ErrMalformed)
			}
			for _, n := range props {
				r.props = append(r.props, propVal{status: status, n: n})
			}
			return nil
		}
		switch {
		case tt.Name.Space == nsDAV && tt.Name.Local == "prop":
			n, err := p.readNode(tt)
			if err != nil {
				return err
			}
			props = append(props, n.Children...)
		case tt.Name.Space == nsDAV && tt.Name.Local == "status":
			if status, err = p.readStatus(tt); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
}

// readNode reads the element whose start tag was just returned, with its
// subtree. The content property's text may be up to maxContent bytes; any
// other text maxText.
func (p *Decoder) readNode(start xml.StartElement) (*Node, error) {
	n := &Node{Name: start.Name}
	if len(start.Attr) > 0 {
		n.Attr = start.Attr
	}
	limit := int64(maxText)
	if slices.Contains(p.content, start.Name) {
		limit = p.maxContent
	}
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		switch tt := t.(type) {
		case xml.EndElement:
			return n, nil
		case xml.CharData:
			if int64(len(n.Text)+len(tt)) > limit {
				return nil, fmt.Errorf("%w: <%s> longer than %d bytes", ErrTooLarge, start.Name.Local, limit)
			}
			if n.Text == nil && p.owned {
				n.Text = tt // a fresh buffer of its own: no copy
			} else {
				n.Text = append(n.Text, tt...)
			}
		case xml.StartElement:
			c, err := p.readNode(tt)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
		}
	}
}

// readValue reads the element just started and returns its trimmed text.
func (p *Decoder) readValue(start xml.StartElement) (string, error) {
	n, err := p.readNode(start)
	if err != nil {
		return "", err
	}
	return n.Value(), nil
}

// readStatus reads a DAV:status element.
func (p *Decoder) readStatus(start xml.StartElement) (int, error) {
	s, err := p.readValue(start)
	if err != nil {
		return 0, err
	}
	return parseStatusLine(s)
}

// parseStatusLine reads "HTTP/1.1 404 Not Found" (RFC 4918 §14.28).
func parseStatusLine(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		if n, err := strconv.Atoi(f[1]); err == nil && n >= 100 && n < 1000 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: bad status line %q", ErrMalformed, s)
}
