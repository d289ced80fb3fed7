// Package naming tells which of the calendars and address books state
// records the names a user gives denote: a folder name, display name, href
// or the href's last segment, each also as ACCOUNT/NAME for one account's.
// Pure: it reads the records it is handed, nothing else.
package naming

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vdird/vdird/state"
)

// AmbiguousError is a name that, without its account, denotes collections
// of several accounts.
type AmbiguousError struct {
	Name    string   `json:"name"`
	Matches []string `json:"matches"` // "account/folder" of each collection it denotes
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%q names collections of several accounts: %s; name one as ACCOUNT/NAME, as in %q",
		e.Name, strings.Join(e.Matches, ", "), e.Matches[0])
}

// Choose returns the collections of known that names denote, each once,
// and the names that denote none. A name that denotes collections of
// several accounts gives an *AmbiguousError and nothing chosen.
func Choose(known []state.Collection, names []string) (chosen []state.Collection, unknown []string, err error) {
	for _, n := range names {
		var matches []state.Collection
		for _, c := range known {
			if acct, rest, ok := strings.Cut(n, "/"); Denotes(c, n) || ok && acct == c.Account && Denotes(c, rest) {
				matches = append(matches, c)
			}
		}
		if len(matches) == 0 {
			unknown = append(unknown, n)
			continue
		}
		if slices.ContainsFunc(matches, func(c state.Collection) bool { return c.Account != matches[0].Account }) {
			a := &AmbiguousError{Name: n}
			for _, c := range matches {
				a.Matches = append(a.Matches, c.Account+"/"+filepath.Base(c.Dir))
			}
			return nil, nil, a
		}
		for _, c := range matches {
			if !slices.ContainsFunc(chosen, func(o state.Collection) bool { return o.Key == c.Key }) {
				chosen = append(chosen, c)
			}
		}
	}
	return chosen, unknown, nil
}

// Choices lists known as a user may name them: by folder name, with the
// account ("account/folder") when they are of several accounts.
func Choices(known []state.Collection) []string {
	several := slices.ContainsFunc(known, func(c state.Collection) bool { return c.Account != known[0].Account })
	out := make([]string, 0, len(known))
	for _, c := range known {
		if several {
			out = append(out, c.Account+"/"+filepath.Base(c.Dir))
		} else {
			out = append(out, filepath.Base(c.Dir))
		}
	}
	return out
}

// Denotes tells whether name denotes the collection c: its folder name,
// display name, href or the href's last segment.
func Denotes(c state.Collection, name string) bool {
	return name != "" && (name == filepath.Base(c.Dir) || name == c.DisplayName || name == c.Href ||
		name == path.Base(strings.TrimSuffix(c.Href, "/")))
}

// Alone is how a user names c alone among known: its folder name, or
// "account/folder" when that name denotes collections of several accounts.
func Alone(known []state.Collection, c state.Collection) string {
	name := filepath.Base(c.Dir)
	if _, _, err := Choose(known, []string{name}); err != nil {
		return c.Account + "/" + name
	}
	return name
}
