package oauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Prompt is how Authorize talks to the user.
type Prompt struct {
	// Out gets the instructions with the consent address, and what went
	// wrong with a pasted address; never a token. nil: nothing is shown.
	Out io.Writer
	// Open opens the consent address in a browser; nil when there is none.
	Open func(consent string) error
	// Paste is read line by line for the address the browser was sent to,
	// pasted back by someone whose browser runs on another machine; nil
	// when only the loopback redirect counts. A read still waiting when
	// Authorize returns ends with Paste's end.
	Paste io.Reader
}

// callback is what the browser brought back: a code, or why there is none.
type callback struct {
	code string
	err  error
}

// Authorize gets the account its first token: the authorization code flow
// (RFC 6749 §4.1) with PKCE (RFC 7636) and a loopback redirect (RFC 8252
// §7.3). It listens on a random port of 127.0.0.1, shows the consent
// address (and opens it with p.Open), takes the code from the redirect or
// from an address pasted on p.Paste, whichever comes first and carries
// this authorization's state, trades it for a token and writes the token
// file under its lock.
func Authorize(ctx context.Context, cfg Config, p Prompt) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the redirect: %w", err)
	}
	redirect := "http://" + ln.Addr().String() + "/"
	oc := cfg.oauth2Config(redirect)
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	consent := oc.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier))

	out := p.Out
	if out == nil {
		out = io.Discard
	}
	codes, complaints, done := make(chan callback, 1), make(chan error), make(chan struct{})
	defer close(done)
	srv := &http.Server{Handler: redirectHandler(state, codes), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		_ = srv.Close()
		<-served
	}()
	if p.Paste != nil {
		go readPasted(p.Paste, state, codes, complaints, done)
	}
	instruct(out, cfg.Account, consent, redirect, p)

	var cb callback
	for waiting := true; waiting; {
		select {
		case cb = <-codes:
			waiting = false
		case err := <-complaints:
			fmt.Fprintf(out, "%v. Try again:\n", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if cb.err != nil {
		return fmt.Errorf("account %s: %w", cfg.Account, cb.err)
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, cfg.client()), cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("account %s: trade the code for a token: %w", cfg.Account, tokenError(err))
	}
	unlock, err := lockFile(ctx, cfg.TokenFile+".lock")
	if err != nil {
		return fmt.Errorf("account %s: %w", cfg.Account, err)
	}
	defer unlock()
	if err := writeToken(cfg.TokenFile, tok); err != nil {
		return fmt.Errorf("account %s: %w", cfg.Account, err)
	}
	fmt.Fprintf(out, "Account %s is authorised; its token is in %s.\n", cfg.Account, cfg.TokenFile)
	if tok.RefreshToken == "" {
		fmt.Fprintf(out, "The server gave no refresh token: run `vdird authorize %s` again when this one expires.\n", cfg.Account)
	}
	return nil
}

// instruct tells the user what to do with the consent address.
func instruct(out io.Writer, account, consent, redirect string, p Prompt) {
	if p.Open != nil {
		if err := p.Open(consent); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%v).\n", err)
		} else {
			fmt.Fprintln(out, "Opened the consent page in your browser.")
		}
	}
	fmt.Fprintf(out, "To authorise account %s, open this address in a browser and allow access:\n\n    %s\n\n", account, consent)
	fmt.Fprintf(out, "The browser is then sent to %s, where vdird is waiting.\n", redirect)
	if p.Paste != nil {
		fmt.Fprint(out, "If that page fails to load (a browser on another machine), copy the whole\n"+
			"address from its address bar and paste it here, then press Enter:\n")
	}
}

// redirectHandler answers the browser's return to the loopback address.
// Only a return carrying this authorization's state counts; anything else
// is refused and the wait goes on.
func redirectHandler(state string, codes chan<- callback) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		cb, err := callbackFrom(r.URL.Query(), state)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>vdird: %s</p>\n", html.EscapeString(err.Error()))
			return
		}
		deliver(codes, cb)
		if cb.err != nil {
			fmt.Fprintf(w, "<p>vdird: %s</p>\n", html.EscapeString(cb.err.Error()))
			return
		}
		fmt.Fprint(w, "<p>vdird received the authorisation. You can close this tab.</p>\n")
	})
}

// callbackFrom reads the query of the address the browser was sent to. An
// error means it is not this authorization's answer at all.
func callbackFrom(q url.Values, state string) (callback, error) {
	code, refusal := q.Get("code"), q.Get("error")
	switch {
	case code == "" && refusal == "":
		return callback{}, errors.New("that address carries no authorization code: copy the whole address from the address bar")
	case q.Get("state") != state:
		return callback{}, errors.New("that address belongs to another authorization (its state differs): use the one the address above led to")
	case refusal != "":
		return callback{err: fmt.Errorf("the authorization was refused: %s", refusal)}, nil
	}
	return callback{code: code}, nil
}

// readPasted reads pasted addresses from r until one is this
// authorization's answer, handing what is wrong with any other to
// complaints; it stops early when done closes.
func readPasted(r io.Reader, state string, codes chan<- callback, complaints chan<- error, done <-chan struct{}) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		query := line
		if i := strings.IndexByte(query, '?'); i >= 0 {
			query = query[i+1:]
		}
		query, _, _ = strings.Cut(query, "#")
		q, err := url.ParseQuery(query)
		if err != nil {
			q = url.Values{}
		}
		cb, err := callbackFrom(q, state)
		if err == nil {
			deliver(codes, cb)
			return
		}
		select {
		case complaints <- err:
		case <-done:
			return
		}
	}
}

// deliver hands cb over unless an answer came already.
func deliver(codes chan<- callback, cb callback) {
	select {
	case codes <- cb:
	default:
	}
}
