package transport

import (
	"errors"
	"fmt"
	"testing"

	"github.com/icholy/digest"
)

// The worked examples of RFC 7616 §3.9.1, checked through this package's
// challenge parsing and the digest library with the example's cnonce.
func TestDigest_RFC7616Examples_SameResponse(t *testing.T) {
	const field = `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=%s, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	for alg, want := range map[string]string{
		"MD5":     "8ca523f5e9506fed4657c9700eebdbec",
		"SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	} {
		cs, err := parseChallenges(fmt.Sprintf(field, alg))
		if err != nil {
			t.Fatal(err)
		}
		chal, _ := digestChallenge(cs[0])
		if chal == nil {
			t.Fatalf("%s: challenge refused", alg)
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "GET", URI: "/dir/index.html", Count: 1,
			Username: "Mufasa", Password: "Circle of Life", Cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"})
		if err != nil || cred.Response != want || cred.QOP != "auth" {
			t.Errorf("%s: response %+v, %v; want %s with qop auth", alg, cred, err, want)
		}
	}
}

func TestParseAuth_NamesAndDefault(t *testing.T) {
	for in, want := range map[string]Auth{"": AuthAuto, "Digest": AuthDigest, "bearer": AuthBearer, "basic": AuthBasic, "auto": AuthAuto} {
		if got, err := ParseAuth(in); got != want || err != nil {
			t.Errorf("ParseAuth(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseAuth("ntlm"); !errors.Is(err, ErrBadArgument) {
		t.Errorf("ParseAuth(ntlm): %v", err)
	}
}
