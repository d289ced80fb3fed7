package vdir

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkSafe fails t unless name is a file name List would show and that
// cannot escape or hide in the folder.
func checkSafe(t *testing.T, href, name string) {
	t.Helper()
	if checkName(name) != nil || !isItemName(name, ICS) || len(name) > maxSafeName ||
		!utf8.ValidString(name) || strings.ContainsAny(name, "/\\") {
		t.Fatalf("NameForHref(%q) = %q: unsafe", href, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			t.Fatalf("NameForHref(%q) = %q: non-printable %U", href, name, r)
		}
	}
}

func TestNameForHref_SafeSegmentUsedUnescaped(t *testing.T) {
	for href, want := range map[string]string{
		"/cal/abc.ics":                              "abc.ics",
		"/dav/u/cal/a%20b.ics":                      "a b.ics",
		"/cal/6f1e-44@example.com.ics":              "6f1e-44@example.com.ics",
		"/cal/caf%C3%A9.ics":                        "café.ics",
		"abc.ics":                                   "abc.ics",
		"/cal/" + strings.Repeat("a", 196) + ".ics": strings.Repeat("a", 196) + ".ics",
	} {
		if got := NameForHref(href, ICS); got != want {
			t.Errorf("NameForHref(%q) = %q, want %q", href, got, want)
		}
	}
}

func TestNameForHref_HostileHrefs_SafeDistinctHashedNames(t *testing.T) {
	hostile := []string{
		"/cal/../x.ics",
		"/cal/%2e%2e",
		"/cal/%2E%2E%2Fx.ics",
		"/cal/a%2Fb.ics",
		"/cal/a%2fb.ics",
		"/cal/a%5Cb.ics",
		"/cal/..",
		"/cal/.",
		"/cal/",
		"/cal/" + strings.Repeat("a", 500) + ".ics",
		"/cal/" + strings.Repeat("a", 197) + ".ics",
		"/cal/a%00.ics",
		"/cal/a\x00.ics",
		"/cal/a%0Ab.ics",
		"/cal/a%1B[31mb.ics",
		"/cal/a%7Fb.ics",
		"/cal/a%E2%80%AEsci.ics", // right-to-left override
		"/cal/%FF.ics",           // invalid UTF-8
		"/cal/.hidden.ics",
		"/cal/%2Ehidden.ics",
		"/cal/.vdird-x.tmp",
		"/cal/noext",
		"/cal/x.ICS",
		"/cal/a.ics.conflict-20260101T000000Z.ics",
		"/cal/h" + strings.Repeat("0", 40) + ".ics", // the hashed form itself
		"/cal/" + hashedName("/cal/x y.ics", ICS),
		"/cal/%61.ics",  // non-canonical "a.ics"
		"/cal/a b.ics",  // unescaped space
		"/cal/a%zz.ics", // bad escape
		"/cal/%",
		"",
	}
	seen := map[string]string{}
	for _, h := range hostile {
		name := NameForHref(h, ICS)
		checkSafe(t, h, name)
		if !isHashedForm(name, ICS) {
			t.Errorf("NameForHref(%q) = %q, want hashed form", h, name)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("NameForHref(%q) = NameForHref(%q) = %q", h, prev, name)
		}
		seen[name] = h
		if again := NameForHref(h, ICS); again != name {
			t.Errorf("not deterministic: %q then %q", name, again)
		}
	}
	// A hashed-looking href must not collide with the href it was derived from.
	h := "/cal/x y.ics"
	if NameForHref(h, ICS) == NameForHref("/cal/"+NameForHref(h, ICS), ICS) {
		t.Error("hashed name reused by an href spelling it out")
	}
}

// FuzzNameForHref checks that any href maps to a safe name, deterministically,
// and that two different hrefs in the same collection never share a name.
func FuzzNameForHref(f *testing.F) {
	for _, s := range [][2]string{
		{"/cal/a.ics", "/cal/%61.ics"},
		{"/cal/../x.ics", "/cal/x.ics"},
		{"/cal/a%2Fb.ics", "/cal/b.ics"},
		{"/cal/a%00.ics", "/cal/a.ics"},
		{"/cal/.hidden.ics", "/cal/hidden.ics"},
		{"/cal/h0000000000000000000000000000000000000000.ics", "/cal/x"},
		{"/cal/a%20b.ics", "/cal/a b.ics"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, h1, h2 string) {
		n1 := NameForHref(h1, ICS)
		checkSafe(t, h1, n1)
		if NameForHref(h1, ICS) != n1 {
			t.Fatalf("not deterministic for %q", h1)
		}
		if h1 == h2 {
			return
		}
		// Same collection: put h2's last segment under h1's parent.
		seg2 := h2[strings.LastIndexByte(h2, '/')+1:]
		h2 = h1[:strings.LastIndexByte(h1, '/')+1] + seg2
		if h1 == h2 {
			return
		}
		if n2 := NameForHref(h2, ICS); n1 == n2 {
			t.Fatalf("NameForHref(%q) = NameForHref(%q) = %q", h1, h2, n1)
		}
	})
}
