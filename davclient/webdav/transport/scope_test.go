package transport

import (
	"net/url"
	"testing"
)

func TestScope_CredentialsGoToTheHostAndOverHTTPSItsRegistrableDomain(t *testing.T) {
	for _, tc := range []struct {
		configured string
		allowed    []string
		refused    []string
	}{
		{"https://caldav.icloud.com/",
			[]string{"https://caldav.icloud.com:443/x", "https://p42-caldav.icloud.com/", "https://P07-CALDAV.icloud.com:8443/", "https://icloud.com/"},
			[]string{"http://p42-caldav.icloud.com/", "http://caldav.icloud.com/", "https://caldav.icloud.com.evil.net/", "https://evil.com/", "https://com/"}},
		// A public suffix (github.io) is no shared domain.
		{"https://alice.github.io/dav/",
			[]string{"https://alice.github.io/other"},
			[]string{"https://bob.github.io/", "https://github.io/"}},
		// Plain http never leaves its host and port, except to upgrade to https.
		{"http://127.0.0.1:5232/",
			[]string{"http://127.0.0.1:5232/alice/", "https://127.0.0.1:5232/", "https://127.0.0.1:8443/"},
			[]string{"http://127.0.0.1:5233/", "http://localhost:5232/", "https://127.0.0.2/"}},
		{"http://dav.example.com/",
			[]string{"http://dav.example.com:80/", "https://dav.example.com/"},
			[]string{"http://www.example.com/", "https://www.example.com/"}},
	} {
		u, _ := url.Parse(tc.configured)
		s := NewScope(u)
		for _, a := range tc.allowed {
			if v, _ := url.Parse(a); !s.Allows(v) {
				t.Errorf("%s: %s refused, want allowed", tc.configured, a)
			}
		}
		for _, r := range tc.refused {
			if v, _ := url.Parse(r); s.Allows(v) {
				t.Errorf("%s: %s allowed, want refused", tc.configured, r)
			}
		}
	}
}
