package webdav

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vdird/vdird/davclient/webdav/transport"
	"github.com/vdird/vdird/internal/davtest"
	"github.com/vdird/vdird/internal/testserver"
)

// tlsServer starts an https server on loopback with cert and the handler
// h (which answers 200 when nil).
func tlsServer(t *testing.T, cert tls.Certificate, h http.HandlerFunc, configure ...func(*tls.Config)) *httptest.Server {
	t.Helper()
	if h == nil {
		h = func(http.ResponseWriter, *http.Request) {}
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, f := range configure {
		f(srv.TLS)
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func try(t *testing.T, opts Options) error {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		return err
	}
	_, err = get(c, "/cal/")
	return err
}

func TestTLS_PrivateCA_AcceptedWithCAFileRefusedWithoutNamingTheHost(t *testing.T) {
	ca := testserver.NewCA(t, "vdird test CA")
	srv := tlsServer(t, ca.Leaf(t, "127.0.0.1"), nil)
	err := try(t, Options{URL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "certificate of 127.0.0.1 is not signed by a trusted CA") {
		t.Errorf("without the CA: %v", err)
	}
	if err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{CAFile: ca.WriteCA(t, t.TempDir())}}); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
	// The CA file replaces the system pool: another CA's certificate is refused.
	other := testserver.NewCA(t, "other CA")
	if err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{CAFile: other.WriteCA(t, t.TempDir())}}); err == nil {
		t.Errorf("a certificate from a CA not in the file was accepted")
	}
}

func TestTLS_Pin_RightAcceptedWithoutChainWrongRefusedNamingBothFingerprints(t *testing.T) {
	ca := testserver.NewCA(t, "untrusted CA")
	cert := ca.Leaf(t, "127.0.0.1")
	srv := tlsServer(t, cert, nil)
	pin := testserver.Fingerprint(cert)
	if err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{Pin: pin}}); err != nil {
		t.Errorf("right pin: %v", err)
	}
	wrong := append([]byte(nil), pin...)
	wrong[0] ^= 0xff
	err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{Pin: wrong}})
	if !errors.Is(err, transport.ErrPin) {
		t.Fatalf("wrong pin: %v, want ErrPin", err)
	}
	for _, part := range []string{"127.0.0.1", transport.Fingerprint(pin), transport.Fingerprint(wrong)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("wrong pin: %q does not name %q", err, part)
		}
	}
	if err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{Pin: pin[:20]}}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("short pin: %v", err)
	}
}

func TestTLS_ClientCertificateRequired_SentFromCertAndKeyFiles(t *testing.T) {
	serverCA, clientCA := testserver.NewCA(t, "server CA"), testserver.NewCA(t, "client CA")
	var seen string
	srv := tlsServer(t, serverCA.Leaf(t, "127.0.0.1"), func(w http.ResponseWriter, r *http.Request) {
		seen = r.TLS.PeerCertificates[0].Subject.CommonName
	}, func(c *tls.Config) {
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool
	})
	dir := t.TempDir()
	caFile := serverCA.WriteCA(t, dir)
	if err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{CAFile: caFile}}); err == nil {
		t.Errorf("no client certificate: accepted")
	}
	certFile, keyFile := testserver.WriteLeaf(t, dir, clientCA.Leaf(t, "alice-laptop"))
	if err := try(t, Options{URL: srv.URL, TLS: transport.TLSOptions{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}}); err != nil || seen != "alice-laptop" {
		t.Errorf("with the client certificate: %v (server saw %q)", err, seen)
	}
	if _, err := New(Options{URL: srv.URL, TLS: transport.TLSOptions{CertFile: certFile}}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("certificate without key: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := New(Options{URL: srv.URL, TLS: transport.TLSOptions{CAFile: junk}}); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("CA file without PEM: %v", err)
	}
}

func TestUnixSocket_RequestsGoOverTheSocketWithThePathAfterIt(t *testing.T) {
	dir, err := os.MkdirTemp("", "vdird-sock") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "dav.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Host+r.URL.Path+" "+r.Header.Get("Authorization"))
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ url, href, want string }{
		{"unix://" + sock + "/alice/", "/alice/cal/", "localhost/alice/cal/"},
		{"unix://" + sock, "/", "localhost/"},
	} {
		c, err := New(Options{URL: tc.url, Username: "alice", Password: davtest.Password})
		if err != nil {
			t.Fatal(err)
		}
		if base, _ := c.BaseHref(); !strings.HasPrefix(tc.href, base) {
			t.Errorf("%s: base %q", tc.url, base)
		}
		paths = nil
		if _, err := get(c, tc.href); err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		// A local socket gets Basic up front like loopback.
		if len(paths) != 1 || !strings.HasPrefix(paths[0], tc.want+" Basic ") {
			t.Errorf("%s: server saw %q, want %q with Basic", tc.url, paths, tc.want)
		}
	}
	if _, err := New(Options{URL: "unix://host/x.sock"}); !errors.Is(err, ErrBadArgument) {
		t.Errorf("unix URL with a host: %v", err)
	}
}

func TestTimeouts_StalledServer_FailsWithinTheConfiguredTime(t *testing.T) {
	addr := davtest.Silent(t)
	for _, tc := range []struct {
		url, want string
		opts      Options
	}{
		{"https://" + addr + "/", "TLS handshake timeout", Options{ConnectTimeout: 300 * time.Millisecond}},
		{"http://" + addr + "/", "GET http://" + addr + "/cal/: the server stopped answering: no answer within 300ms (response timeout)", Options{ResponseTimeout: 300 * time.Millisecond}},
	} {
		tc.opts.URL = tc.url
		start := time.Now()
		err := try(t, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) || time.Since(start) > 5*time.Second {
			t.Errorf("%s: %v after %v, want %q soon", tc.url, err, time.Since(start), tc.want)
		}
	}
}

// bodyServer answers with headers and a first part of the body at once,
// then sends the rest as next says.
func bodyServer(t *testing.T, next func(w http.ResponseWriter, f http.Flusher, done <-chan struct{})) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		_, _ = io.WriteString(w, "first part;")
		f.Flush()
		next(w, f, done)
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

func readBody(c *Client) (string, error) {
	resp, err := c.Send(bg(), Request{Method: http.MethodGet, Href: "/cal/a.ics"})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestTimeouts_BodyStallsAfterHeaders_FailsWithinTheResponseTimeout(t *testing.T) {
	srv := bodyServer(t, func(_ http.ResponseWriter, _ http.Flusher, done <-chan struct{}) { <-done })
	c, err := New(Options{URL: srv.URL + "/", ResponseTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := readBody(c)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "nothing more for 300ms in the middle of its answer") || time.Since(start) > 3*time.Second {
		t.Fatalf("read %q: %v after %v, want ErrTimeout after about 300ms", got, err, time.Since(start))
	}
	if got != "first part;" {
		t.Errorf("read %q before the stall", got)
	}
}

func TestTimeouts_SlowBodyThatKeepsComing_IsNotCut(t *testing.T) {
	srv := bodyServer(t, func(w http.ResponseWriter, f http.Flusher, done <-chan struct{}) {
		// Longer than the timeout in all, but never silent for as long.
		for i := 0; i < 6; i++ {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			_, _ = io.WriteString(w, "more;")
			f.Flush()
		}
	})
	c, err := New(Options{URL: srv.URL + "/", ResponseTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := readBody(c)
	if err != nil || got != "first part;"+strings.Repeat("more;", 6) {
		t.Fatalf("read %q: %v", got, err)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatalf("the body came in %v: the test did not outlast the timeout", time.Since(start))
	}
}

// connectProxy is an HTTP proxy that tunnels CONNECT to target whatever
// the host asked for, and records each request line.
func connectProxy(t *testing.T, target string) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI)
		mu.Unlock()
		if r.Method != http.MethodConnect {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, bufio.NewReader(buf)); _ = up.Close() }()
		_, _ = io.Copy(conn, up)
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestProxy_HTTPSProxyFromTheEnvironment_UsedUnlessNoProxy(t *testing.T) {
	ca := testserver.NewCA(t, "vdird test CA")
	var host string
	dav := tlsServer(t, ca.Leaf(t, "dav.example.test"), func(w http.ResponseWriter, r *http.Request) { host = r.Host })
	proxy, seen := connectProxy(t, dav.Listener.Addr().String())
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	opts := Options{URL: "https://dav.example.test/", TLS: transport.TLSOptions{CAFile: ca.WriteCA(t, t.TempDir())}, ConnectTimeout: 2 * time.Second}
	if err := try(t, opts); err != nil || host != "dav.example.test" {
		t.Fatalf("through the proxy: %v (server saw host %q)", err, host)
	}
	if got := seen(); len(got) != 1 || got[0] != "CONNECT dav.example.test:443" {
		t.Errorf("proxy saw %q", got)
	}
	t.Setenv("NO_PROXY", "example.test")
	if err := try(t, opts); err == nil {
		t.Errorf("NO_PROXY: reached a host that only the proxy knows")
	}
	if got := seen(); len(got) != 1 {
		t.Errorf("NO_PROXY: proxy saw %q", got)
	}
}
