package transport

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// TLSOptions tighten or replace the system's certificate checks.
type TLSOptions struct {
	// CAFile is a PEM bundle of the only CAs trusted for the server. It
	// replaces the system pool rather than adding to it, as curl's
	// --cacert does: a server vouched for by a private CA is then not also
	// accepted with a certificate some public CA issued for its name.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key,
	// presented when the server asks for one.
	CertFile, KeyFile string
	// Pin is the SHA-256 of the server's leaf certificate (DER). With a
	// pin that certificate alone is trusted, whether or not it chains to a
	// CA (a self-signed one works), and every other is refused.
	Pin []byte
}

// Default network timeouts.
const (
	DefaultConnectTimeout  = 30 * time.Second
	DefaultResponseTimeout = 2 * time.Minute
)

// splitSocket reads a unix:///path/to.sock[/dav/path] URL: the socket is
// the path up to the first segment ending in ".sock", or the whole path
// when none does; the rest is the HTTP path.
func splitSocket(u *url.URL) (socket, path string, err error) {
	if u.Host != "" || u.Path == "" {
		return "", "", fmt.Errorf("URL %q: want unix:///path/to.sock: %w", u.Redacted(), ErrBadArgument)
	}
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if strings.HasSuffix(s, ".sock") {
			return strings.Join(segs[:i+1], "/"), "/" + strings.Join(segs[i+1:], "/"), nil
		}
	}
	return u.Path, "/", nil
}

// newHTTPTransport builds the HTTP transport: the TLS checks, the proxy from
// the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, read now so a
// reloaded configuration sees changes), and timeouts on connecting and on
// a silent server (stallTransport: no headers, or a body that stops), so
// one stalled server cannot hold up a pass forever. Compression (net/http asks for gzip by default) is left off
// for a server on this machine, where it only costs both sides CPU.
func newHTTPTransport(opts Options, local bool) (http.RoundTripper, error) {
	tc, err := tlsConfig(opts)
	if err != nil {
		return nil, err
	}
	connect, response := opts.ConnectTimeout, opts.ResponseTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	if response <= 0 {
		response = DefaultResponseTimeout
	}
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	proxy := environmentProxy()
	if opts.Socket != "" {
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", opts.Socket)
		}
		proxy = nil
	}
	tr := &http.Transport{
		DisableCompression:    local,
		Proxy:                 proxy,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tc,
	}
	return &stallTransport{next: tr, wait: response}, nil
}

// environmentProxy is http.ProxyFromEnvironment without its process-wide
// cache of the environment.
func environmentProxy() func(*http.Request) (*url.URL, error) {
	pf := httpproxy.FromEnvironment().ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return pf(r.URL) }
}

// tlsConfig applies opts.TLS and InsecureSkipVerify. Files are read now,
// so a missing or unreadable one fails New.
func tlsConfig(opts Options) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: opts.InsecureSkipVerify, //nolint:gosec // only when explicitly configured
	}
	t := opts.TLS
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate: %w", t.CAFile, ErrBadArgument)
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, fmt.Errorf("a client certificate needs both a certificate and a key file: %w", ErrBadArgument)
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s, key %s: %w", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.Pin != nil {
		if len(t.Pin) != sha256.Size {
			return nil, fmt.Errorf("certificate pin: %d bytes, want a SHA-256 (%d): %w", len(t.Pin), sha256.Size, ErrBadArgument)
		}
		cfg.InsecureSkipVerify = true //nolint:gosec // the pin below replaces chain verification
		cfg.VerifyConnection = pinned(t.Pin)
	}
	return cfg, nil
}

// ErrPin is a server certificate that is not the pinned one.
var ErrPin = errors.New("certificate does not match the pinned fingerprint")

// pinned checks the leaf certificate against the pin.
func pinned(pin []byte) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("%w: the server sent no certificate", ErrPin)
		}
		got := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if subtle.ConstantTimeCompare(got[:], pin) == 1 {
			return nil
		}
		host := cs.ServerName
		if host == "" {
			host = "the server"
		}
		return fmt.Errorf("%w: the certificate of %s has SHA-256 fingerprint %s, but the pinned one is %s",
			ErrPin, host, Fingerprint(got[:]), Fingerprint(pin))
	}
}

// Fingerprint spells a certificate fingerprint as "sha256:AB:CD:…", the
// form the pin is configured in.
func Fingerprint(sum []byte) string {
	var b strings.Builder
	b.WriteString("sha256:")
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// Explain adds the host to an unknown-authority error, which net/http
// reports without it; other errors pass unchanged.
func Explain(err error, u *url.URL) error {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return fmt.Errorf("the certificate of %s is not signed by a trusted CA (trust its CA file or pin its fingerprint): %w", u.Hostname(), err)
	}
	return err
}
