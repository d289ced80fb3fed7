// Package naming tells which of the calendars and address books state
// records the names a user gives denote: a folder name, display name, href
// or the href's last segment, each also as ACCOUNT/NAME for one account's,
// or the folder's absolute path.
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

// AmbiguousError is a name that denotes several collections: of several
// accounts, or of one account (a calendar and an address book whose
// folders share a name, or a display name two of them share).
type AmbiguousError struct {
	Name string `json:"name"`
	// Matches names each collection it denotes alone: "account/folder",
	// or the folder's path when ByPath.
	Matches []string `json:"matches"`
	// ByPath: "account/folder" does not tell the matches apart (a calendar
	// and an address book of one account and folder name), their paths do.
	ByPath bool `json:"by_path,omitempty"`
}

func (e *AmbiguousError) Error() string {
	how := "as ACCOUNT/NAME"
	if e.ByPath {
		how = "by its folder's path"
	}
	return fmt.Sprintf("%q names several collections: %s; name one %s, as in %q",
		e.Name, strings.Join(e.Matches, ", "), how, e.Matches[0])
}

// ambiguous is the error of name, which denotes matches.
func ambiguous(name string, matches []state.Collection) *AmbiguousError {
	a := &AmbiguousError{Name: name}
	for _, c := range matches {
		a.Matches = append(a.Matches, c.Account+"/"+filepath.Base(c.Dir))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(a.Matches)))) == len(matches) {
		return a
	}
	a.Matches, a.ByPath = a.Matches[:0], true
	for _, c := range matches {
		a.Matches = append(a.Matches, c.Dir)
	}
	return a
}

// Choose returns the collections of known that names denote, each once,
// and the names that denote none. A name that denotes several collections
// gives an *AmbiguousError and nothing chosen.
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
		if len(matches) > 1 {
			return nil, nil, ambiguous(n, matches)
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
// display name, href, the href's last segment or the folder's absolute
// path.
func Denotes(c state.Collection, name string) bool {
	return name != "" && (name == filepath.Base(c.Dir) || name == c.DisplayName || name == c.Href ||
		name == path.Base(strings.TrimSuffix(c.Href, "/")) || filepath.IsAbs(name) && filepath.Clean(name) == filepath.Clean(c.Dir))
}

// Alone is how a user names c alone among known: its folder name, else
// "account/folder", else the folder's path.
func Alone(known []state.Collection, c state.Collection) string {
	name := filepath.Base(c.Dir)
	for _, n := range []string{name, c.Account + "/" + name} {
		if _, _, err := Choose(known, []string{n}); err == nil {
			return n
		}
	}
	return c.Dir
}
