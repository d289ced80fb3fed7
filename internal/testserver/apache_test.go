package testserver

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDigestProxy_ChallengesWithDigestAndLogsEachRequest(t *testing.T) {
	algs := DigestAlgorithms(t)
	if !slices.Contains(algs, "MD5") {
		t.Fatalf("installed Apache offers %q, want MD5 at least", algs)
	}
	p := StartDigestProxy(t, StartOpenRadicale(t), "MD5")
	req, _ := http.NewRequest("PROPFIND", p.URL+"alice/", nil)
	req.SetBasicAuth(p.User, p.Password) // Basic is not what it takes
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(ch, "Digest ") || !strings.Contains(ch, `realm="`+DigestRealm+`"`) {
		t.Fatalf("%s, WWW-Authenticate %q", resp.Status, ch)
	}
	// Apache logs a request after answering it.
	var got []ProxyRequest
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = p.Requests(t)
	}
	if len(got) != 1 || got[0] != (ProxyRequest{Method: "PROPFIND", Path: "/alice/", Status: 401, Scheme: "Basic"}) {
		t.Errorf("logged %+v", got)
	}
}
