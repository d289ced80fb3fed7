package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vdird/vdird/internal/googletest"
	"github.com/vdird/vdird/internal/testserver"
)

func testConfig(t *testing.T, o *googletest.OAuth) Config {
	return Config{Account: "google", ClientID: googletest.ClientID, ClientSecret: googletest.ClientSecret,
		AuthURL: o.AuthURL, TokenURL: o.TokenURL, Scopes: []string{googletest.Scope},
		TokenFile: filepath.Join(t.TempDir(), "vdird", "oauth-google.json")}
}

// seed writes a token file as an earlier authorization left it.
func seed(t *testing.T, cfg Config, access, refresh string, expiry time.Time) {
	t.Helper()
	if err := writeToken(cfg.TokenFile, &oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", Expiry: expiry}); err != nil {
		t.Fatal(err)
	}
}

func fileToken(t *testing.T, cfg Config) *oauth2.Token {
	t.Helper()
	fi, err := os.Stat(cfg.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %o, want 600", fi.Mode().Perm())
	}
	src := NewSource(cfg)
	tok, err := src.read()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSource_ValidToken_SentWithoutAskingTheEndpoint(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	access, refresh := o.Issue(30 * time.Minute)
	seed(t, cfg, access, refresh, time.Now().Add(30*time.Minute))
	got, err := NewSource(cfg).Token(context.Background(), "")
	if err != nil || got != access || o.Refreshes() != 0 {
		t.Errorf("token %q, %v after %d refreshes; want the file's token and no refresh", got, err, o.Refreshes())
	}
}

func TestSource_TokenAboutToExpire_RenewedAndWritten0600(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	access, refresh := o.Issue(30 * time.Second)
	seed(t, cfg, access, refresh, time.Now().Add(30*time.Second))
	src := NewSource(cfg)
	got, err := src.Token(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got == access || !o.Valid("Bearer "+got) || o.Refreshes() != 1 {
		t.Errorf("token valid %v, %d refreshes; want a new live token after one refresh", o.Valid("Bearer "+got), o.Refreshes())
	}
	ft := fileToken(t, cfg)
	if ft.AccessToken != got || ft.RefreshToken != refresh || time.Until(ft.Expiry) < 50*time.Minute {
		t.Errorf("file holds access %v, refresh kept %v, expiry %v", ft.AccessToken == got, ft.RefreshToken == refresh, ft.Expiry)
	}
	if again, _ := src.Token(context.Background(), ""); again != got || o.Refreshes() != 1 {
		t.Errorf("second ask: same token %v after %d refreshes", again == got, o.Refreshes())
	}
}

func TestSource_TokenRefusedByServer_RenewedOnce(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	access, refresh := o.Issue(time.Hour)
	seed(t, cfg, access, refresh, time.Now().Add(time.Hour))
	src := NewSource(cfg)
	got, err := src.Token(context.Background(), access)
	if err != nil || got == access || o.Refreshes() != 1 {
		t.Errorf("after a 401: new token %v, %v, %d refreshes", got != access, err, o.Refreshes())
	}
}

func TestSource_ConcurrentRenewals_OneRequestBothGetTheNewToken(t *testing.T) {
	o := googletest.NewOAuth(t)
	o.Delay = 200 * time.Millisecond
	cfg := testConfig(t, o)
	access, refresh := o.Issue(time.Second)
	seed(t, cfg, access, refresh, time.Now().Add(-time.Minute))
	// Two Sources hold two lock descriptors, as two processes do.
	var wg sync.WaitGroup
	got := make([]string, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = NewSource(cfg).Token(context.Background(), "") })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || got[0] != got[1] || o.Refreshes() != 1 || !o.Valid("Bearer "+got[0]) {
		t.Errorf("errors %v %v, same token %v, %d refreshes; want one refresh both use", errs[0], errs[1], got[0] == got[1], o.Refreshes())
	}
}

// The helper process of TestSource_TwoProcesses_OneRefreshOneTokenFile:
// one renewal in a process of its own, printing the token it got.
func TestMain(m *testing.M) {
	if file := os.Getenv("VDIRD_OAUTH_TEST_FILE"); file != "" {
		cfg := Config{Account: "google", ClientID: googletest.ClientID, ClientSecret: googletest.ClientSecret,
			TokenURL: os.Getenv("VDIRD_OAUTH_TEST_TOKEN_URL"), TokenFile: file}
		tok, err := NewSource(cfg).Token(context.Background(), "")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(tok)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSource_TwoProcesses_OneRefreshOneTokenFile(t *testing.T) {
	o := googletest.NewOAuth(t)
	o.Delay = 300 * time.Millisecond
	cfg := testConfig(t, o)
	access, refresh := o.Issue(time.Second)
	seed(t, cfg, access, refresh, time.Now().Add(-time.Minute))
	outs := make([]bytes.Buffer, 2)
	var cmds []*exec.Cmd
	for i := range outs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VDIRD_OAUTH_TEST_FILE="+cfg.TokenFile, "VDIRD_OAUTH_TEST_TOKEN_URL="+o.TokenURL)
		cmd.Stdout, cmd.Stderr = &outs[i], os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	a, b := outs[0].String(), outs[1].String()
	if a == "" || a != b || o.Refreshes() != 1 || !o.Valid("Bearer "+a) {
		t.Errorf("processes got the same token %v (live %v) after %d refreshes; want one refresh", a == b, o.Valid("Bearer "+a), o.Refreshes())
	}
	if ft := fileToken(t, cfg); ft.AccessToken != a || ft.RefreshToken != refresh {
		t.Errorf("token file: the processes' token %v, refresh kept %v", ft.AccessToken == a, ft.RefreshToken == refresh)
	}
}

func TestSource_InvalidGrant_SaysReauthoriseAndNamesTheSevenDays(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	access, refresh := o.Issue(time.Second)
	seed(t, cfg, access, refresh, time.Now().Add(-time.Minute))
	o.Revoke()
	src := NewSource(cfg)
	want := "account google: re-authorise with `vdird authorize google`: the token was revoked or expired " +
		"(a Testing-mode Google project's tokens last 7 days)"
	for range 3 { // a daemon's passes until someone runs vdird authorize
		_, err := src.Token(context.Background(), "")
		if !errors.Is(err, ErrRevoked) || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
		noSecrets(t, err.Error(), access, refresh)
	}
	if o.Refreshes() != 1 {
		t.Errorf("%d refresh requests for one refused grant; want 1", o.Refreshes())
	}
	// vdird authorize wrote a new grant: taken at the next ask.
	access2, refresh2 := o.Issue(time.Hour)
	seed(t, cfg, access2, refresh2, time.Now().Add(time.Hour))
	if got, err := src.Token(context.Background(), ""); got != access2 || err != nil {
		t.Errorf("after a new authorization: new token %v, %v", got == access2, err)
	}
}

func TestSource_NoTokenFile_SaysAuthorizeFirst(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	_, err := NewSource(cfg).Token(context.Background(), "")
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "run `vdird authorize google` first") {
		t.Errorf("err = %v", err)
	}
}

func TestSource_EndpointRefusesClient_StatusAndCodeOnly(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	cfg.ClientSecret = "wrong"
	access, refresh := o.Issue(time.Second)
	seed(t, cfg, access, refresh, time.Now().Add(-time.Minute))
	_, err := NewSource(cfg).Token(context.Background(), "")
	want := "account google: renew the OAuth2 token: the token endpoint answered 401 Unauthorized: invalid_client (The OAuth client was not found.)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// noSecrets fails t when s holds any of the secrets.
func noSecrets(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("a token shows in %q", s)
		}
	}
}

// waitFor waits until out holds want and returns what it holds.
func waitFor(t *testing.T, out *testserver.Buffer, want string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s := out.String(); strings.Contains(s, want) {
			return s
		}
	}
	t.Fatalf("output never said %q:\n%s", want, out.String())
	return ""
}

// consentURL is the address Authorize printed.
func consentURL(t *testing.T, out string) *url.URL {
	t.Helper()
	for line := range strings.Lines(out) {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "http") && strings.Contains(s, "/auth?") {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
	}
	t.Fatalf("no consent address in:\n%s", out)
	return nil
}

func TestAuthorize_LoopbackRedirect_ForgedStateRefusedThenTokenFileWritten(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	var out testserver.Buffer
	browser := func(consent string) error {
		u, _ := url.Parse(consent)
		q := u.Query()
		// A page elsewhere sending the browser to the loopback address
		// with a code of its own: refused, the wait goes on.
		forged, err := http.Get(q.Get("redirect_uri") + "?code=4/forged&state=guess")
		if err != nil {
			return err
		}
		forged.Body.Close()
		if forged.StatusCode != http.StatusBadRequest {
			t.Errorf("forged redirect answered %d, want 400", forged.StatusCode)
		}
		if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("prompt") != "consent" {
			t.Errorf("consent address lacks PKCE, state or prompt=consent: %s", consent)
		}
		resp, err := http.Get(consent) // "Allow", then the redirect to vdird
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "received the authorisation") {
			t.Errorf("loopback page: %d %s", resp.StatusCode, body)
		}
		return nil
	}
	if err := Authorize(context.Background(), cfg, Prompt{Out: &out, Open: browser}); err != nil {
		t.Fatal(err)
	}
	tok := fileToken(t, cfg)
	if fi, err := os.Stat(filepath.Dir(cfg.TokenFile)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("token directory: %v, %v; want mode 700", fi.Mode(), err)
	}
	if !o.Valid("Bearer "+tok.AccessToken) || tok.RefreshToken == "" {
		t.Errorf("token file: live access token %v, refresh token %v", o.Valid("Bearer "+tok.AccessToken), tok.RefreshToken != "")
	}
	if !strings.Contains(out.String(), "Account google is authorised") {
		t.Errorf("output:\n%s", out.String())
	}
	noSecrets(t, out.String(), tok.AccessToken, tok.RefreshToken)
}

func TestAuthorize_PastedAddress_WrongOnesExplainedRightOneAccepted(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	var out testserver.Buffer
	pasteR, paste := io.Pipe()
	defer paste.Close()
	done := make(chan error, 1)
	go func() { done <- Authorize(context.Background(), cfg, Prompt{Out: &out, Paste: pasteR}) }()
	consent := consentURL(t, waitFor(t, &out, "paste it here"))

	// A browser on another machine: "Allow" sends it to 127.0.0.1 there,
	// which fails to load; the address bar holds the redirect.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(consent.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, "http://127.0.0.1:") {
		t.Fatalf("redirect to %q", back)
	}
	fmt.Fprintln(paste, strings.Replace(back, "state=", "state=x", 1))
	waitFor(t, &out, "belongs to another authorization")
	fmt.Fprintln(paste, "4/just-a-code")
	waitFor(t, &out, "carries no authorization code")
	fmt.Fprintln(paste, "  "+back+"  ")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Authorize did not take the pasted address")
	}
	tok := fileToken(t, cfg)
	if !o.Valid("Bearer " + tok.AccessToken) {
		t.Error("the token file holds no live token")
	}
	noSecrets(t, out.String(), tok.AccessToken, tok.RefreshToken)
}

func TestAuthorize_AccessDenied_ErrorAndNoTokenFile(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	deny := func(consent string) error {
		u, _ := url.Parse(consent)
		resp, err := http.Get(u.Query().Get("redirect_uri") + "?error=access_denied&state=" + url.QueryEscape(u.Query().Get("state")))
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	err := Authorize(context.Background(), cfg, Prompt{Out: io.Discard, Open: deny})
	if err == nil || !strings.Contains(err.Error(), "refused: access_denied") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(cfg.TokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file after a refusal: %v", err)
	}
}

func TestAuthorize_Cancelled_ReturnsAndFreesThePort(t *testing.T) {
	o := googletest.NewOAuth(t)
	cfg := testConfig(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	var redirect string
	open := func(consent string) error {
		u, _ := url.Parse(consent)
		redirect = u.Query().Get("redirect_uri")
		cancel()
		return nil
	}
	if err := Authorize(ctx, cfg, Prompt{Out: io.Discard, Open: open}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if resp, err := http.Get(redirect); err == nil {
		resp.Body.Close()
		t.Errorf("the loopback address still answers after Authorize returned")
	}
}
