package transport

import (
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseChallenges_RFC7235Syntax(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []challenge
	}{
		{`Basic realm="SabreDAV", charset="UTF-8"`, []challenge{
			{Scheme: "Basic", Params: map[string]string{"realm": "SabreDAV", "charset": "UTF-8"}}}},
		// Two challenges in one field, the second with a quoted comma and escapes.
		{`Basic realm="a", Digest realm="x, \"y\"\\z", nonce=abc, qop="auth,auth-int", algorithm=SHA-256`, []challenge{
			{Scheme: "Basic", Params: map[string]string{"realm": "a"}},
			{Scheme: "Digest", Params: map[string]string{"realm": `x, "y"\z`, "nonce": "abc", "qop": "auth,auth-int", "algorithm": "SHA-256"}}}},
		// token68, a bare scheme, empty list elements and BWS around '='.
		{`Negotiate YII/+==, , NTLM,Bearer realm = "r" ,error="invalid_token"`, []challenge{
			{Scheme: "Negotiate", Token68: "YII/+==", Params: map[string]string{}},
			{Scheme: "NTLM", Params: map[string]string{}},
			{Scheme: "Bearer", Params: map[string]string{"realm": "r", "error": "invalid_token"}}}},
		// "name=" with no value is a token68; a token after a comma is a new scheme.
		{`Basic realm=, NTLM`, []challenge{
			{Scheme: "Basic", Token68: "realm=", Params: map[string]string{}},
			{Scheme: "NTLM", Params: map[string]string{}}}},
		// Parameter names are case-insensitive; obs-text passes through.
		{"Digest REALM=\"caf\xe9\", Nonce=n", []challenge{
			{Scheme: "Digest", Params: map[string]string{"realm": "caf\xe9", "nonce": "n"}}}},
	} {
		got, err := parseChallenges(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseChallenges(%q)\n got %#v, %v\nwant %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseChallenges_Malformed_Refused(t *testing.T) {
	for _, in := range []string{
		``, ` , `, `=x`, `Basic realm="open`, `Basic realm="a\`, `Digest realm=a realm=b`,
		`Digest realm=a, realm=b`, "Basic realm=\"a\x01\"", `Basic abc def`,
		`"Basic"`, `Basic; realm=x`, `Negotiate abc=, realm=x`,
	} {
		if got, err := parseChallenges(in); err == nil {
			t.Errorf("parseChallenges(%q) = %#v, want an error", in, got)
		}
	}
}

func TestChallengesOf_BadFieldSkippedGoodFieldKept(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="unterminated`)
	h.Add("WWW-Authenticate", `Digest realm="r", nonce="n", qop="auth"`)
	got := challengesOf(h)
	if len(got) != 1 || got[0].Scheme != "Digest" || got[0].param("nonce") != "n" {
		t.Errorf("challengesOf = %#v", got)
	}
}

// formatChallenges writes challenges back as one field value, every
// parameter quoted and in sorted order.
func formatChallenges(cs []challenge) string {
	var parts []string
	for _, c := range cs {
		s := c.Scheme
		switch {
		case c.Token68 != "":
			s += " " + c.Token68
		case len(c.Params) > 0:
			var ps []string
			for _, k := range slices.Sorted(maps.Keys(c.Params)) {
				v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.Params[k])
				ps = append(ps, k+`="`+v+`"`)
			}
			s += " " + strings.Join(ps, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// FuzzParseChallenges feeds arbitrary field values to the parser. It must
// never panic; what it accepts has a non-empty token scheme, lower-case
// parameter names, and reads back the same after being written out again
// in canonical form. Seeds: testdata/fuzz/FuzzParseChallenges.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Basic realm="SabreDAV", charset="UTF-8"`,
		`Digest realm="vdird", nonce="abc=", algorithm=MD5, qop="auth"`,
		`Negotiate a+b/c==, Basic realm=x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseChallenges(s)
		if err != nil {
			return
		}
		for _, c := range got {
			if c.Scheme == "" || strings.IndexFunc(c.Scheme, func(r rune) bool { return r > 0x7f || !isTchar(byte(r)) }) >= 0 {
				t.Fatalf("scheme %q of %q is not a token", c.Scheme, s)
			}
			for k := range c.Params {
				if k != strings.ToLower(k) || k == "" {
					t.Fatalf("parameter name %q of %q", k, s)
				}
			}
		}
		again, err := parseChallenges(formatChallenges(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("%q parsed as %#v;\nwritten as %q it reads %#v, %v", s, got, formatChallenges(got), again, err)
		}
	})
}
