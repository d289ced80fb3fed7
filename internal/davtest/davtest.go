// Package davtest holds what the unit tests of the WebDAV and CalDAV
// clients share: a canned server closed with its test, a 207 Multi-Status
// writer, and the password their clients send.
package davtest

import (
	"io"
	"net/http"
	"net/http/httptest"
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

// MultiStatus answers 207 Multi-Status with body after the XML declaration.
func MultiStatus(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?>`+body)
}
