package transport

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// challenge is one authentication challenge of a WWW-Authenticate field
// (RFC 7235 §2.1, §4.1): a scheme with either a token68 or auth-params.
type challenge struct {
	Scheme  string            // as sent; compare with strings.EqualFold
	Token68 string            // e.g. a Negotiate blob; "" when Params are used
	Params  map[string]string // names lower-cased, quoted values unescaped
}

// param returns the value of an auth-param ("" if absent).
func (c challenge) param(name string) string { return c.Params[name] }

// challengesOf parses every WWW-Authenticate field of a response. A field
// that does not parse is skipped: a challenge never spans two fields, so a
// malformed Basic field leaves a Digest field beside it usable.
func challengesOf(h http.Header) []challenge {
	var out []challenge
	for _, f := range h.Values("WWW-Authenticate") {
		if cs, err := parseChallenges(f); err == nil {
			out = append(out, cs...)
		}
	}
	return out
}

var errChallengeSyntax = errors.New("WWW-Authenticate syntax")

// parseChallenges parses one field value (RFC 7235 §4.1):
//
//	WWW-Authenticate = 1#challenge
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//	token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// A list element that is "name=value" belongs to the challenge before it;
// any other element starts a new challenge (a challenge with a token68 takes
// no parameters). Empty list elements are
// allowed (RFC 9110 §5.6.1). A parameter named twice in one challenge is an
// error (RFC 7235 §2.1).
func parseChallenges(s string) ([]challenge, error) {
	p := &chalParser{s: s}
	var out []challenge
	for {
		p.skipListSeparators()
		if p.done() {
			break
		}
		if len(out) > 0 && p.atParam() {
			if out[len(out)-1].Token68 != "" {
				return nil, p.fail("parameter after token68")
			}
			if err := p.param(&out[len(out)-1]); err != nil {
				return nil, err
			}
			continue
		}
		c, err := p.challenge()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no challenge", errChallengeSyntax)
	}
	return out, nil
}

// chalParser walks a field value.
type chalParser struct {
	s string
	i int
}

func (p *chalParser) done() bool { return p.i >= len(p.s) }

func (p *chalParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *chalParser) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errChallengeSyntax, what, p.i)
}

// skipWS skips optional whitespace (OWS/BWS: SP and HTAB).
func (p *chalParser) skipWS() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// skipListSeparators skips whitespace and empty list elements.
func (p *chalParser) skipListSeparators() {
	for p.skipWS(); p.peek() == ','; p.skipWS() {
		p.i++
	}
}

// token reads 1*tchar (RFC 9110 §5.6.2); "" if none is there.
func (p *chalParser) token() string {
	start := p.i
	for !p.done() && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// atParam tells, without moving, whether the next list element is
// "token BWS =" followed by a value, i.e. an auth-param.
func (p *chalParser) atParam() bool {
	q := *p
	if q.token() == "" {
		return false
	}
	q.skipWS()
	if q.peek() != '=' {
		return false
	}
	q.i++
	q.skipWS()
	_, err := q.value()
	if err != nil {
		return false
	}
	q.skipWS()
	return q.done() || q.peek() == ','
}

// challenge reads a scheme and what follows it up to the next list
// element that starts another challenge.
func (p *chalParser) challenge() (challenge, error) {
	scheme := p.token()
	if scheme == "" {
		return challenge{}, p.fail("expected an auth-scheme")
	}
	c := challenge{Scheme: scheme, Params: map[string]string{}}
	if p.done() || p.peek() == ',' {
		return c, nil
	}
	if p.peek() != ' ' {
		return challenge{}, p.fail("expected a space after the auth-scheme")
	}
	p.skipWS()
	if p.done() || p.peek() == ',' {
		return c, nil
	}
	if p.atParam() {
		return c, p.param(&c)
	}
	t := p.token68()
	if t == "" {
		return challenge{}, p.fail("expected token68 or auth-param")
	}
	p.skipWS()
	if !p.done() && p.peek() != ',' {
		return challenge{}, p.fail("junk after token68")
	}
	c.Token68 = t
	return c, nil
}

// param reads one auth-param into c.
func (p *chalParser) param(c *challenge) error {
	name := strings.ToLower(p.token())
	p.skipWS()
	p.i++ // '=', checked by atParam
	p.skipWS()
	v, err := p.value()
	if err != nil {
		return err
	}
	if _, dup := c.Params[name]; dup {
		return p.fail(fmt.Sprintf("parameter %q given twice", name))
	}
	c.Params[name] = v
	p.skipWS()
	if !p.done() && p.peek() != ',' {
		return p.fail("expected ',' after a parameter")
	}
	return nil
}

// value reads a token or a quoted-string.
func (p *chalParser) value() (string, error) {
	if p.peek() != '"' {
		if t := p.token(); t != "" {
			return t, nil
		}
		return "", p.fail("expected a token or quoted-string")
	}
	return p.quoted()
}

// quoted reads a quoted-string (RFC 9110 §5.6.4) and unescapes its
// quoted-pairs.
func (p *chalParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for !p.done() {
		ch := p.s[p.i]
		p.i++
		switch {
		case ch == '"':
			return b.String(), nil
		case ch == '\\':
			if p.done() || !isQuotable(p.s[p.i]) {
				return "", p.fail("bad quoted-pair")
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case isQuotable(ch):
			b.WriteByte(ch)
		default:
			return "", p.fail("control character in quoted-string")
		}
	}
	return "", p.fail("unterminated quoted-string")
}

// token68 reads 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func (p *chalParser) token68() string {
	start := p.i
	for !p.done() && isToken68(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return ""
	}
	for p.peek() == '=' {
		p.i++
	}
	return p.s[start:p.i]
}

func isAlnum(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9'
}

func isTchar(ch byte) bool {
	return isAlnum(ch) || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0
}

func isToken68(ch byte) bool { return isAlnum(ch) || strings.IndexByte("-._~+/", ch) >= 0 }

// isQuotable is HTAB / SP / VCHAR / obs-text: what a quoted-string may hold
// (unescaped, less '"' and '\').
func isQuotable(ch byte) bool { return ch == '\t' || ch >= 0x20 && ch != 0x7f }
