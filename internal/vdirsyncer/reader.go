package vdirsyncer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// reader reads the keys of one section, noting what it cannot convert;
// done notes the keys no step read.
type reader struct {
	s     *Section
	read  map[string]bool
	notes []Note
}

func newReader(s *Section) *reader { return &reader{s: s, read: map[string]bool{}} }

// take returns the value of key and marks it read.
func (r *reader) take(key string) (any, bool) {
	r.read[key] = true
	v, ok := r.s.Values[key]
	return v, ok
}

// get returns key's value, or the fetch list of key.fetch in its place
// (vdirsyncer's way of taking a value from a command or a prompt).
func (r *reader) get(key string) (v any, fetch []any, ok bool, fail *failure) {
	v, ok = r.take(key)
	f, fetched := r.take(key + ".fetch")
	switch {
	case ok && fetched:
		return nil, nil, false, r.fail(key+".fetch", "set together with "+key+": set one of them")
	case fetched:
		list, _ := f.([]any)
		if len(list) == 0 {
			return nil, nil, false, r.fail(key+".fetch", fmt.Sprintf("%s: want a list such as [\"command\", \"pass\", \"dav\"]", show(f)))
		}
		return nil, list, true, nil
	}
	return v, nil, ok, nil
}

// literal returns key's string value, noting that a fetch list or another
// type cannot be converted. ok tells whether there is one.
func (r *reader) literal(key string) (string, bool) {
	switch v := r.plain(key).(type) {
	case nil:
	case string:
		return v, true
	default:
		r.note(key, "not converted: %s is not a string", show(v))
	}
	return "", false
}

// plain returns key's value, noting a key.fetch in its place as not
// converted.
func (r *reader) plain(key string) any {
	v, fetch, _, fail := r.get(key)
	switch {
	case fail != nil:
		r.notes = append(r.notes, Note(*fail))
	case fetch != nil:
		r.note(key+".fetch", "not converted: vdird takes %s from its config, not from a command", key)
	}
	return v
}

// note adds a line about key to the report.
func (r *reader) note(key, format string, args ...any) {
	r.notes = append(r.notes, Note{Section: r.s.Title(), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// fail is why key makes the pair impossible to convert.
func (r *reader) fail(key, msg string) *failure {
	return &failure{Section: r.s.Title(), Key: key, Msg: msg}
}

// done returns the notes, with one for each key that no step read.
func (r *reader) done() []Note {
	for _, k := range slices.Sorted(maps.Keys(r.s.Values)) {
		if !r.read[k] {
			r.note(k, "not converted: vdird has no such setting")
		}
	}
	return r.notes
}

// truthy tells whether key is set to true; anything but true or false is
// noted.
func (r *reader) truthy(key string) bool {
	v, ok := r.take(key)
	b, isBool := v.(bool)
	if ok && v != nil && !isBool {
		r.note(key, "not converted: %s: want true or false", show(v))
	}
	return b
}

// strings returns v as a list of strings, or false.
func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// quoted lists names as "a", "b".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// anyList is names as a configuration value.
func anyList(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}
