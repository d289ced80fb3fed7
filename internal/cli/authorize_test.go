package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/internal/googletest"
	"github.com/vdird/vdird/internal/testserver"
)

// googleConfig writes a config with one oauth2 account on the Google
// fakes, followed by extra, and returns its path and the account's token
// file.
func googleConfig(t *testing.T, o *googletest.OAuth, g *googletest.CalDAV, extra string) (cfg, tokenFile string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "config.toml")
	text := fmt.Sprintf(`state_path = %q
[[account]]
name = "google"
url = %q
local_root = %q
oauth_client_id = %q
oauth_client_secret = %q
oauth_auth_url = %q
oauth_token_url = %q
`, filepath.Join(dir, "state", "state.db"), g.URL+"/caldav/v2/", filepath.Join(dir, "cals"),
		googletest.ClientID, googletest.ClientSecret, o.AuthURL, o.TokenURL) + extra
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, filepath.Join(dir, "state", "oauth-google.json")
}

func TestCLI_Authorize_NoBrowserPastedAddress_ThenSyncReachesGoogle(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	o := googletest.NewOAuth(t)
	g := googletest.NewCalDAV(t, o, "alice@gmail.com")
	g.Put("alice@gmail.com", "a.ics", []byte(fmt.Sprintf(ev, "a", "dentist")))
	cfg, tokenFile := googleConfig(t, o, g, "")

	code, out, errs := cli(t, "--config", cfg, "sync")
	if code != 1 || !strings.Contains(out+errs, "run `vdird authorize google` first") {
		t.Fatalf("sync before authorize: code %d\nout: %s\nerr: %s", code, out, errs)
	}

	var stdout, stderr testserver.Buffer
	pasteR, paste := io.Pipe()
	defer paste.Close()
	root := NewCommand(&stdout, &stderr)
	root.SetIn(pasteR)
	root.SetArgs([]string{"--config", cfg, "authorize", "--no-browser", "google"})
	done := make(chan int, 1)
	go func() {
		cmd, err := root.ExecuteContextC(context.Background())
		done <- status(cmd, err, &stderr)
	}()
	var consent string
	for deadline := time.Now().Add(10 * time.Second); consent == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for line := range strings.Lines(stdout.String()) {
			if s := strings.TrimSpace(line); strings.HasPrefix(s, o.AuthURL+"?") {
				consent = s
			}
		}
	}
	if consent == "" || !strings.Contains(stdout.String(), "paste it here") {
		t.Fatalf("no consent address or paste prompt:\n%s", stdout.String())
	}
	// The browser on another machine; its address bar after "Allow".
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(consent)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fmt.Fprintln(paste, resp.Header.Get("Location"))
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("authorize: code %d\nout: %s\nerr: %s", code, stdout.String(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("authorize did not finish")
	}
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", fi, err)
	}

	code, syncOut, syncErr := cli(t, "--config", cfg, "--log-level", "debug", "sync", "alice@gmail.com")
	if code != 0 || !strings.Contains(syncOut, "google/alice@gmail.com") || !strings.Contains(syncOut, "↓1") {
		t.Fatalf("sync: code %d\nout: %s\nerr: %s", code, syncOut, syncErr)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	data, _ := os.ReadFile(tokenFile)
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token file: %v", err)
	}
	all := stdout.String() + stderr.String() + syncOut + syncErr
	if strings.Contains(all, tok.AccessToken) || strings.Contains(all, tok.RefreshToken) {
		t.Error("a token shows in the output or the debug log")
	}
}

func TestCLI_Authorize_AccountWithoutOAuth2_UsageErrorNamingTheOnes(t *testing.T) {
	o := googletest.NewOAuth(t)
	g := googletest.NewCalDAV(t, o, "alice@gmail.com")
	cfg, _ := googleConfig(t, o, g, "[[account]]\nname = \"dav\"\nurl = \"http://127.0.0.1:1/\"\nlocal_root = \"/nonexistent/dav\"\n")
	code, _, errs := cli(t, "--config", cfg, "authorize", "dav")
	if code != 2 || !strings.Contains(errs, `no account "dav" with auth = "oauth2"`) || !strings.Contains(errs, "those there: google") {
		t.Errorf("code %d err %q", code, errs)
	}
	if code, _, errs = cli(t, "--config", cfg, "authorize"); code != 2 || !strings.Contains(errs, "takes one ACCOUNT") {
		t.Errorf("no account: code %d err %q", code, errs)
	}
}
