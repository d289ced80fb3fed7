package transport

import (
	"context"
	"sync"
)

// TokenSource gives the bearer tokens of AuthBearer (RFC 6750).
type TokenSource interface {
	// Token returns the token for a request. refused is "" before a
	// request, or the token the server has just answered 401 to: a source
	// that can get another one returns it, else refused again or an error.
	Token(ctx context.Context, refused string) (string, error)
}

// ReuseToken is the TokenSource of a token that holds until the server
// refuses it, such as one a command prints: get runs for the first
// request and once after each 401 to the token it gave, one run at a time.
func ReuseToken(get func(ctx context.Context) (string, error)) TokenSource {
	return &reuseToken{get: get}
}

type reuseToken struct {
	get func(ctx context.Context) (string, error)

	mu  sync.Mutex // also holds a second request back while get runs
	tok string
}

func (r *reuseToken) Token(ctx context.Context, refused string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != "" && r.tok != refused {
		return r.tok, nil
	}
	tok, err := r.get(ctx)
	if err != nil {
		return "", err
	}
	r.tok = tok
	return tok, nil
}
