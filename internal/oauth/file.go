package oauth

import (
	"context"
	"encoding/json"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/vdird/vdird/internal/statefile"
)

// lockFile takes an exclusive flock on path (see statefile.Lock) and
// returns its release.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	unlock, err = statefile.Lock(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("token lock: %w", err)
	}
	return unlock, nil
}

// writeToken replaces the token file with tok: a temp file of mode 0600 in
// the same directory (0700), synced, then renamed over it, so a reader sees
// the old token or the new one, never half of one.
func writeToken(path string, tok *oauth2.Token) error {
	data, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return fmt.Errorf("OAuth2 token: %w", err)
	}
	if err := statefile.Write(path, append(data, '\n')); err != nil {
		return fmt.Errorf("write the OAuth2 token: %w", err)
	}
	return nil
}
