package subscription

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestSync_URLCommand_SecretURLFetchedAndNeverShown(t *testing.T) {
	srv := newFeedServer(t, feedOf(2))
	secret := "/private-7f3a9c2e41b8d6/basic.ics"
	srv.handler = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != secret {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(feedOf(2))
	}
	sub := testSub(t, "")
	sub.URL, sub.URLCommand = "", "echo "+srv.URL+secret
	res := syncOK(t, sub, Options{})
	if res.Added != 2 || srv.paths[0] != secret {
		t.Fatalf("result %+v, paths %q: want the feed at the URL the command printed", res, srv.paths)
	}
	sub.URLCommand = "echo " + srv.URL + "/private-7f3a9c2e41b8d6/gone.ics"
	res = Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "404") {
		t.Fatalf("err %v, want the 404", res.Err)
	}
	st, _ := StatusOf(sub)
	state, _ := os.ReadFile(sub.StateFile)
	for _, s := range []string{res.Err.Error(), st.LastError, string(state)} {
		if strings.Contains(s, "7f3a9c2e41b8d6") {
			t.Fatalf("the secret URL shows: %s", s)
		}
	}
	if !strings.Contains(res.Err.Error(), "subscription feed, "+srv.URL+"/… (from url_command): 404") {
		t.Fatalf("error %q: want the subscription and the feed's host", res.Err)
	}
}

func TestSync_WebcalURL_FetchedOverHTTPSWithTheConfiguredCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(feedOf(1))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	sub := testSub(t, strings.Replace(srv.URL, "https://", "webcal://", 1)+"/f.ics")
	res := Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "certificate") {
		t.Fatalf("err %v: want the test server's certificate refused without its CA", res.Err)
	}
	sub.CAFile = ca
	if res := syncOK(t, sub, Options{}); res.Added != 1 {
		t.Fatalf("result %+v", res)
	}
}

func TestSync_BasicAuth_LoginSentAndARefusalExplained(t *testing.T) {
	srv := newFeedServer(t, feedOf(2))
	srv.user, srv.pass = "ana", "s3cret-feed-pw"
	sub := testSub(t, srv.URL+"/f.ics")
	res := Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "401 Unauthorized (the feed wants a login") {
		t.Fatalf("err %v: want the 401 explained", res.Err)
	}
	sub.Username, sub.PasswordEnv = "ana", "VDIRD_TEST_FEED_PW"
	t.Setenv("VDIRD_TEST_FEED_PW", "wrong")
	res = Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "login refused") || strings.Contains(res.Err.Error(), "wrong") {
		t.Fatalf("err %v: want the refused login, without the password", res.Err)
	}
	t.Setenv("VDIRD_TEST_FEED_PW", "s3cret-feed-pw")
	if res := syncOK(t, sub, Options{}); res.Added != 2 {
		t.Fatalf("result %+v", res)
	}
	// The login in the URL, as some feeds are given out.
	sub2 := testSub(t, strings.Replace(srv.URL, "http://", "http://ana:s3cret-feed-pw@", 1)+"/f.ics")
	if res := syncOK(t, sub2, Options{}); res.Added != 2 {
		t.Fatalf("login in the URL: %+v", res)
	}
}

func TestSync_RateLimited_RetryAfterCarried(t *testing.T) {
	srv := newFeedServer(t, feedOf(1))
	srv.handler = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}
	sub := testSub(t, srv.URL+"/f.ics")
	res := Sync(t.Context(), sub, Options{Log: zerolog.Nop()})
	if d := RetryAfter(res.Err); d.Seconds() != 120 {
		t.Fatalf("err %v, retry after %v: want 2m", res.Err, d)
	}
}
