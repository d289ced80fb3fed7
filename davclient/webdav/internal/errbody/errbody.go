// Package errbody reads what a server says in the body of an error answer:
// an RFC 4918 §16 DAV:error (the precondition element, the href inside it
// and the server's own explanation), the same inside the first response of
// a DAV:multistatus, or an explanation in plain text.
package errbody

import (
	"bytes"
	"encoding/xml"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Body is what an error answer's body says.
type Body struct {
	Condition string // local name of the precondition element, "" if none
	Space     string // its namespace
	Href      string // the DAV:href inside it, as sent (CalDAV's no-uid-conflict names the holder, RFC 4791 §5.3.2.1)
	Message   string // the server's explanation, on one line, at most MaxMessage bytes and an ellipsis
	// Status is, for a DAV:multistatus, the status of its first response
	// (Xandikos answers a refused PUT with a 207 holding a 412); 0 else.
	Status int
}

// MaxMessage caps Body.Message.
const MaxMessage = 300

// Namespaces of the elements read.
const (
	nsDAV = "DAV:"
	// nsSabre holds sabre/dav's additions to an error body: its version,
	// the exception class and s:message, all before the precondition.
	nsSabre = "http://sabredav.org/ns"
)

// Read reads the body of an answer with status and contentType. A
// DAV:multistatus gives the status, DAV:error and DAV:responsedescription
// of its first response, read as below. A DAV:error
// gives its precondition: the first child that is neither sabre/dav's nor
// a DAV:responsedescription. Its explanation is sabre's s:message, else a
// DAV:responsedescription, else the text inside the precondition element
// (Cyrus writes its reason there). A text/plain body is the explanation
// unless it only repeats the status text (Radicale's "Bad Request").
func Read(body []byte, contentType string, status int) Body {
	if b, ok := readDAVError(body); ok {
		return b
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "text/plain" || !utf8.Valid(body) {
		return Body{}
	}
	m := shorten(string(body))
	if strings.EqualFold(m, http.StatusText(status)) {
		return Body{}
	}
	return Body{Message: m}
}

// child is one element directly inside DAV:error.
type child struct {
	name xml.Name
	text string // its own character data
	href string // the text of a DAV:href directly inside it
}

// readDAVError reads a DAV:error or DAV:multistatus body; ok is false for
// anything else.
func readDAVError(body []byte) (b Body, ok bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	root, err := firstElement(d)
	switch {
	case err != nil || root.Name.Space != nsDAV:
		return Body{}, false
	case root.Name.Local == "error":
		b, err := readError(d)
		return b, err == nil
	case root.Name.Local == "multistatus":
		return readMultistatus(d)
	}
	return Body{}, false
}

// readMultistatus reads the first DAV:response of a multistatus: its
// status, the DAV:error inside it, and its responsedescription as the
// explanation when the error gives none.
func readMultistatus(d *xml.Decoder) (Body, bool) {
	for {
		se, err := firstElement(d)
		if err != nil {
			return Body{}, false
		}
		if se.Name.Space == nsDAV && se.Name.Local == "response" {
			break
		}
	}
	var b Body
	var description string
	err := eachChild(d, func(t xml.StartElement) error {
		switch {
		case t.Name.Space == nsDAV && t.Name.Local == "error":
			e, err := readError(d)
			b.Condition, b.Space, b.Href, b.Message = e.Condition, e.Space, e.Href, e.Message
			return err
		case t.Name.Space == nsDAV && (t.Name.Local == "status" || t.Name.Local == "responsedescription"):
			c, err := readChild(d, t)
			if t.Name.Local == "status" {
				b.Status = statusCode(c.text)
			} else {
				description = c.text
			}
			return err
		}
		return d.Skip()
	})
	if err != nil {
		return Body{}, false
	}
	if b.Message == "" {
		b.Message = shorten(description)
	}
	return b, b.Status != 0 || b.Condition != ""
}

// statusCode reads the code of an HTTP status line ("HTTP/1.1 412
// Precondition Failed"), 0 when there is none.
func statusCode(line string) int {
	f := strings.Fields(line)
	if len(f) < 2 || len(f[1]) != 3 {
		return 0
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 100 {
		return 0
	}
	return n
}

// readError reads the children of a DAV:error up to its end.
func readError(d *xml.Decoder) (Body, error) {
	var cond *child
	var message, description string
	err := eachChild(d, func(t xml.StartElement) error {
		c, err := readChild(d, t)
		switch {
		case err != nil:
			return err
		case c.name.Space == nsSabre && c.name.Local == "message":
			message = c.text
		case c.name.Space == nsSabre:
		case c.name.Space == nsDAV && c.name.Local == "responsedescription":
			description = c.text
		case cond == nil:
			cond = &c
		}
		return nil
	})
	if err != nil {
		return Body{}, err
	}
	var b Body
	if cond != nil {
		b = Body{Condition: cond.name.Local, Space: cond.name.Space, Href: cond.href, Message: cond.text}
	}
	for _, m := range []string{message, description} {
		if m != "" {
			b.Message = m
			break
		}
	}
	b.Message = shorten(b.Message)
	return b, nil
}

// eachChild hands each element inside the one d is in to fn, which reads
// it to its end, up to the end of the enclosing element.
func eachChild(d *xml.Decoder, fn func(xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		}
	}
}

func firstElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// readChild reads the element start to its end.
func readChild(d *xml.Decoder, start xml.StartElement) (child, error) {
	c := child{name: start.Name}
	var text, href strings.Builder
	depth, inHref := 1, false
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return c, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			inHref = depth == 2 && t.Name.Space == nsDAV && t.Name.Local == "href" && c.href == ""
		case xml.EndElement:
			depth--
			if inHref {
				c.href, inHref = strings.TrimSpace(href.String()), false
			}
		case xml.CharData:
			switch {
			case depth == 1:
				text.Write(t)
			case inHref:
				href.Write(t)
			}
		}
	}
	c.text = strings.TrimSpace(text.String())
	return c, nil
}

// shorten puts a message on one line and cuts it at MaxMessage bytes.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxMessage {
		return s
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
