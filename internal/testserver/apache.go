package testserver

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Where Debian's apache2 package puts the server and its modules (sbin is
// not on every user's PATH).
const (
	apacheBinary  = "/usr/sbin/apache2"
	apacheModules = "/usr/lib/apache2/modules"
)

// DigestRealm is the realm of a DigestProxy.
const DigestRealm = "vdird-test"

// DigestNonceLifetime is how long a DigestProxy's nonces live: short, so a
// test can see a client renew one after a stale=true answer.
const DigestNonceLifetime = 3 * time.Second

// DigestProxy is Apache httpd on a loopback port in front of a server
// without authentication of its own: it checks HTTP Digest credentials
// (mod_auth_digest) and passes what it accepts on (mod_proxy_http) as
// its one user.
type DigestProxy struct {
	URL            string // e.g. "http://127.0.0.1:PORT/"
	User, Password string // the only account
	Algorithm      string // AuthDigestAlgorithm
	Target         *Server

	dir  string
	proc *process
}

// StartOpenRadicale starts a Radicale that trusts the user name of any
// Basic credentials, for a DigestProxy to front.
func StartOpenRadicale(t testing.TB) *Server {
	t.Helper()
	Need(t, string(Radicale))
	s, err := Launch(Radicale, Options{Dir: t.TempDir(), NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// DigestAlgorithms returns the AuthDigestAlgorithm values the installed
// Apache accepts, of MD5 and SHA-256 (Apache 2.4 has MD5 only).
func DigestAlgorithms(t testing.TB) []string {
	t.Helper()
	Need(t, apacheBinary)
	var out []string
	for _, alg := range []string{"MD5", "SHA-256"} {
		dir := apacheDir(t)
		conf := filepath.Join(dir, "httpd.conf")
		if err := os.WriteFile(conf, []byte(apacheConfig(dir, 1, 1, alg)), 0o644); err != nil {
			t.Fatal(err)
		}
		if exec.Command(apacheBinary, "-t", "-f", conf).Run() == nil {
			out = append(out, alg)
		}
	}
	return out
}

// StartDigestProxy starts Apache in front of target (a server without
// authentication, see StartOpenRadicale) with the Digest algorithm
// algorithm, and stops it when t ends. Requests it accepts reach target as
// target.User.
func StartDigestProxy(t testing.TB, target *Server, algorithm string) *DigestProxy {
	t.Helper()
	Need(t, apacheBinary)
	u, err := url.Parse(target.URL)
	if err != nil {
		t.Fatalf("testserver: target URL %s: %v", target.URL, err)
	}
	targetPort, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("testserver: target URL %s: %v", target.URL, err)
	}
	p := &DigestProxy{User: target.User, Password: "digest-" + target.Password, Algorithm: algorithm, Target: target, dir: apacheDir(t)}
	if err := p.writeFiles(); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if lastErr = p.launch(port, targetPort); lastErr == nil {
			t.Cleanup(p.proc.stop)
			return p
		}
		if !errors.Is(lastErr, errPortInUse) {
			break
		}
	}
	t.Fatalf("testserver: start apache: %v", lastErr)
	return nil
}

// apacheDir makes a directory Apache's worker user can read: when started
// as root, Apache serves as www-data, and t.TempDir is root's alone.
func apacheDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vdird-apache")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFiles writes the password file (htdigest format: user, realm and
// the MD5 of "user:realm:password"; Apache keeps that hash whatever the
// algorithm).
func (p *DigestProxy) writeFiles() error {
	sum := md5.Sum([]byte(p.User + ":" + DigestRealm + ":" + p.Password))
	line := p.User + ":" + DigestRealm + ":" + hex.EncodeToString(sum[:]) + "\n"
	return os.WriteFile(filepath.Join(p.dir, "htdigest"), []byte(line), 0o644)
}

func (p *DigestProxy) launch(port, targetPort int) error {
	conf := apacheConfig(p.dir, port, targetPort, p.Algorithm)
	// The backend trusts any Basic credentials: pass the one user on.
	conf += fmt.Sprintf("<Location \"/\">\n  RequestHeader set Authorization \"Basic %s\"\n</Location>\n",
		base64.StdEncoding.EncodeToString([]byte(p.User+":"+p.Target.Password)))
	path := filepath.Join(p.dir, "httpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(p.dir, "access.log"))
	proc, err := startProcess(p.dir, apacheBinary, "-f", path, "-DFOREGROUND")
	if err != nil {
		return err
	}
	p.URL = fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := p.waitReady(proc); err != nil {
		proc.stop()
		log, _ := os.ReadFile(filepath.Join(p.dir, "error.log"))
		all := proc.out.String() + string(log)
		if strings.Contains(all, "Address already in use") {
			return fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return fmt.Errorf("%v; apache output:\n%s", err, all)
	}
	p.proc = proc
	return nil
}

// readyPath is what waitReady asks for; Requests leaves it out.
const readyPath = "/.vdird-ready"

// waitReady waits for the proxy to challenge a request.
func (p *DigestProxy) waitReady(proc *process) error {
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-proc.exited:
			return errors.New("apache exited before it was ready")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, strings.TrimSuffix(p.URL, "/")+readyPath, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("apache at %s not ready after %v", p.URL, readyTimeout)
}

// apacheConfig is a whole httpd.conf: Digest on every path, then the
// proxy to targetPort. Started as root, Apache serves as www-data.
func apacheConfig(dir string, port, targetPort int, algorithm string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %q\nServerName 127.0.0.1\nListen 127.0.0.1:%d\n", dir, port)
	fmt.Fprintf(&b, "PidFile %q\nDefaultRuntimeDir %q\nErrorLog %q\nLogLevel warn\n", filepath.Join(dir, "httpd.pid"), dir, filepath.Join(dir, "error.log"))
	if os.Geteuid() == 0 {
		b.WriteString("User www-data\nGroup www-data\n")
	}
	for _, m := range []string{"mpm_event", "authn_core", "authn_file", "authz_core", "authz_user", "auth_digest", "proxy", "proxy_http", "headers", "setenvif"} {
		fmt.Fprintf(&b, "LoadModule %s_module %s/mod_%s.so\n", m, apacheModules, m)
	}
	// Method, path, status and the credentials as the client sent them
	// (before RequestHeader replaces them), for Requests.
	b.WriteString("SetEnvIf Authorization \"^(.*)$\" CLIENT_AUTH=$1\n")
	fmt.Fprintf(&b, "LogFormat \"%%m %%U %%>s %%{CLIENT_AUTH}e\" vdird\nCustomLog %q vdird\n", filepath.Join(dir, "access.log"))
	fmt.Fprintf(&b, `<Location "/">
  AuthType Digest
  AuthName %q
  AuthDigestProvider file
  AuthUserFile %q
  AuthDigestAlgorithm %s
  AuthDigestNonceLifetime %d
  Require valid-user
  ProxyPass "http://127.0.0.1:%d/"
  ProxyPassReverse "http://127.0.0.1:%d/"
</Location>
`, DigestRealm, filepath.Join(dir, "htdigest"), algorithm, int(DigestNonceLifetime/time.Second), targetPort, targetPort)
	return b.String()
}

// ProxyRequest is one request the proxy logged.
type ProxyRequest struct {
	Method, Path string
	Status       int
	Scheme       string // of the Authorization sent: "", "Basic" or "Digest"
	NC           string // Digest's nc
}

// Requests returns what the proxy has logged so far, oldest first, without
// its readiness probes. Apache logs a request once it has answered it, so
// the latest may be missing for a moment.
func (p *DigestProxy) Requests(t testing.TB) []ProxyRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.dir, "access.log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []ProxyRequest
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) < 4 || f[1] == readyPath {
			continue
		}
		r := ProxyRequest{Method: f[0], Path: f[1]}
		r.Status, _ = strconv.Atoi(f[2])
		if auth := f[3]; auth != "-" {
			r.Scheme, _, _ = strings.Cut(auth, " ")
			if _, rest, ok := strings.Cut(auth, "nc="); ok {
				r.NC, _, _ = strings.Cut(rest, ",")
			}
		}
		out = append(out, r)
	}
	return out
}
