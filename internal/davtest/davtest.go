// Package davtest holds what the unit tests of the WebDAV and CalDAV
// clients share: a canned server closed with its test, a server that never
// answers, a 207 Multi-Status writer, and the password their clients send.
package davtest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Password is the password the tests' clients use, so a test can check it
// never shows in an error or a log.
const Password = "s3cret-pw"

// Server starts an httptest server with the handler h and closes it when t
// ends.
func Server(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Fake starts Server(t, h) and a client for it, made by newClient from the
// server's URL; an error from newClient fails t.
func Fake[C any](t testing.TB, h http.HandlerFunc, newClient func(url string) (C, error)) (*httptest.Server, C) {
	t.Helper()
	srv := Server(t, h)
	c, err := newClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// Silent accepts connections on a loopback port and never answers, until
// t ends; it returns the address (host:port).
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// MultiStatus answers 207 Multi-Status with body after the XML declaration.
func MultiStatus(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?>`+body)
}
