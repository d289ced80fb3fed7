// Package forget clears what the state store remembers of collections the
// user names, leaving their folders and the server alone: it touches no
// file but the state store and sends no request.
package forget

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vdird/vdird/state"
)

// UnknownError is a name that denotes no collection state knows; nothing
// was forgotten.
type UnknownError struct {
	Name  string
	Known []string // the folder names of the collections state knows
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("no known calendar or address book named %q; known: %s", e.Name, strings.Join(e.Known, ", "))
}

// Run clears the state of the collections names denote (Collections) and
// prints a line for each one forgotten to w. A store the daemon holds
// gives an error that says to stop it.
func Run(statePath string, names []string, w io.Writer) error {
	cols, err := Collections(statePath, names)
	for _, c := range cols {
		fmt.Fprintf(w, "%s: forgotten; its folder %s is left as it is\n", filepath.Base(c.Dir), c.Dir)
	}
	if errors.Is(err, state.ErrLocked) {
		return fmt.Errorf("%w: stop the daemon first, then run vdird forget again; nothing was changed", err)
	}
	return err
}

// Collections clears the state of the collections names denote, in the
// state store at statePath, and returns them. Every name must denote one,
// or nothing is cleared (*UnknownError). A store another process holds
// gives an error wrapping state.ErrLocked.
func Collections(statePath string, names []string) ([]state.Collection, error) {
	store, err := state.Open(statePath)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	known, err := store.Collections()
	if err != nil {
		return nil, err
	}
	var chosen []state.Collection
	for _, n := range names {
		i := slices.IndexFunc(known, func(c state.Collection) bool { return denotes(c, n) })
		if i < 0 {
			e := &UnknownError{Name: n}
			for _, c := range known {
				e.Known = append(e.Known, filepath.Base(c.Dir))
			}
			return nil, e
		}
		chosen = append(chosen, known[i])
	}
	for i, c := range chosen {
		if err := store.DeleteCollection(c.Key); err != nil {
			return chosen[:i], fmt.Errorf("forgetting %s: %w", filepath.Base(c.Dir), err)
		}
	}
	return chosen, nil
}

// denotes tells whether name denotes the collection c: its folder name,
// display name, href or the href's last segment.
func denotes(c state.Collection, name string) bool {
	return name != "" && (name == filepath.Base(c.Dir) || name == c.DisplayName || name == c.Href ||
		name == path.Base(strings.TrimSuffix(c.Href, "/")))
}
