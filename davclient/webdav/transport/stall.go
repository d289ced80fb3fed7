package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// ErrTimeout means the server stopped answering: no response headers, or
// no progress in the body, for the response timeout.
var ErrTimeout = errors.New("the server stopped answering")

// stallTransport bounds how long the server may keep silent: from the end
// of the request to the response headers, and during each read of the
// body. A body that keeps arriving, however slowly, is never cut; one that
// stalls for the timeout fails with ErrTimeout.
type stallTransport struct {
	next http.RoundTripper
	wait time.Duration
}

// errStalled is the cause a silent exchange is cancelled with.
var errStalled = errors.New("stalled")

func (t *stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watch{wait: t.wait, cancel: cancel}
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { w.arm() }}
	resp, err := t.next.RoundTrip(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	w.headers()
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			err = fmt.Errorf("%w: no answer within %v (response timeout)", ErrTimeout, t.wait)
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = &stallBody{rc: resp.Body, w: w, ctx: ctx, cancel: cancel}
	return resp, nil
}

// watch is the timer of one exchange: armed while the client waits for
// the server, stopped while the client itself is busy.
type watch struct {
	wait   time.Duration
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	timer *time.Timer
	done  bool // the headers came: the request-side trace no longer arms it
}

// arm starts waiting for the server; a request written again (a retry on
// a fresh connection) starts the wait again.
func (w *watch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.start()
}

func (w *watch) start() {
	if w.timer == nil {
		w.timer = time.AfterFunc(w.wait, func() { w.cancel(errStalled) })
		return
	}
	w.timer.Reset(w.wait)
}

func (w *watch) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// headers stops the wait for the response headers.
func (w *watch) headers() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.stop()
}

// stallBody times each read of a response body.
type stallBody struct {
	rc     io.ReadCloser
	w      *watch
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *stallBody) Read(p []byte) (int, error) {
	b.w.mu.Lock()
	b.w.start()
	b.w.mu.Unlock()
	n, err := b.rc.Read(p)
	b.w.mu.Lock()
	b.w.stop()
	b.w.mu.Unlock()
	if err != nil && errors.Is(context.Cause(b.ctx), errStalled) {
		err = fmt.Errorf("%w: nothing more for %v in the middle of its answer (response timeout)", ErrTimeout, b.w.wait)
	}
	return n, err
}

func (b *stallBody) Close() error {
	b.w.mu.Lock()
	b.w.stop()
	b.w.mu.Unlock()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
