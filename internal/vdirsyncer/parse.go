// Package vdirsyncer reads a vdirsyncer configuration and converts it into
// vdird's: one account per server and user, from the pairs of a CalDAV or
// CardDAV server and a filesystem folder, with the password commands, the
// conflict policy and the TLS settings carried over, and a note for
// everything that cannot be. It reads files only; it knows nothing of
// syncing.
package vdirsyncer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"gopkg.in/ini.v1"
)

// Config is a vdirsyncer configuration as read: its pairs in file order and
// its storages by name. Values are decoded JSON.
type Config struct {
	Path     string
	Pairs    []*Section
	Storages map[string]*Section
	// Notes are what reading left out: sections of an unknown type, keys of
	// a [DEFAULT] section.
	Notes []Note
}

// Section is one [general], [pair NAME] or [storage NAME] section.
type Section struct {
	Kind   string         // "general", "pair" or "storage"
	Name   string         // NAME, or "general"
	Values map[string]any // by key in lower case, as vdirsyncer reads it
}

// Title is the section's header without brackets: "pair NAME".
func (s *Section) Title() string {
	if s.Kind == s.Name {
		return s.Kind
	}
	return s.Kind + " " + s.Name
}

// Load reads the vdirsyncer configuration at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vdirsyncer config: %w", err)
	}
	return Parse(path, data)
}

// Parse reads data, the content of the vdirsyncer configuration at path,
// as vdirsyncer's Python configparser does: key = value or key: value,
// keys in any case, whole-line comments after # or ;, values continued on
// indented lines, no inline comments (a value may hold # or ;) and no
// interpolation. A value that is not JSON is taken as the bare string it is.
func Parse(path string, data []byte) (*Config, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("vdirsyncer config %s: %w", path, ErrNotUTF8)
	}
	f, err := ini.LoadSources(ini.LoadOptions{
		InsensitiveKeys:            true,
		IgnoreContinuation:         true,
		IgnoreInlineComment:        true,
		AllowPythonMultilineValues: true,
		PreserveSurroundedQuote:    true,
		// The whole file fits in the buffer, so a value's continuation
		// lines are all seen.
		ReaderBufferSize: len(data) + 1,
	}, significant(data))
	if err != nil {
		return nil, fmt.Errorf("vdirsyncer config %s: %w", path, err)
	}
	c := &Config{Path: path, Storages: map[string]*Section{}}
	for _, sec := range f.Sections() {
		title := sec.Name()
		if title == ini.DefaultSection {
			for _, k := range sec.Keys() {
				c.Notes = append(c.Notes, Note{Section: title, Key: k.Name(),
					Msg: "not converted: a key outside [pair] and [storage] sections; write it in each section that needs it"})
			}
			continue
		}
		kind, name, ok := strings.Cut(title, " ")
		if !ok {
			name = kind
		}
		s := &Section{Kind: kind, Name: name, Values: map[string]any{}}
		for _, k := range sec.Keys() {
			s.Values[k.Name()] = value(k.Value())
		}
		switch kind {
		case "pair":
			c.Pairs = append(c.Pairs, s)
		case "storage":
			c.Storages[name] = s
		case "general":
		default:
			c.Notes = append(c.Notes, Note{Section: title, Msg: "not converted: vdirsyncer knows [general], [pair NAME] and [storage NAME] sections only"})
		}
	}
	if len(c.Pairs) == 0 {
		return c, fmt.Errorf("vdirsyncer config %s: %w", path, ErrNoPairs)
	}
	return c, nil
}

// significant is data as configparser reads it, which ini does not: lines
// end at CR, LF or CRLF, and a blank or comment line is skipped wherever it
// is, inside a value continued on the next lines too.
func significant(data []byte) []byte {
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
	var b strings.Builder
	for line := range strings.Lines(text) {
		if t := strings.TrimSpace(line); t != "" && t[0] != '#' && t[0] != ';' {
			b.WriteString(line)
		}
	}
	return []byte(b.String())
}

// ErrNoPairs is a configuration without a [pair NAME] section: nothing to
// convert.
var ErrNoPairs = errors.New("no [pair NAME] section")

// ErrNotUTF8 is a configuration that is not UTF-8 text, which vdirsyncer
// cannot read either.
var ErrNotUTF8 = errors.New("not UTF-8 text")

// value decodes a configuration value as JSON, or keeps it as a string.
func value(raw string) any {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return strings.TrimSpace(raw)
	}
	return v
}

// DefaultPath is where vdirsyncer looks for its configuration: the file
// $VDIRSYNCER_CONFIG names, else ~/.vdirsyncer/config when it exists, else
// $XDG_CONFIG_HOME/vdirsyncer/config (~/.config/vdirsyncer/config).
func DefaultPath() string {
	if p := os.Getenv("VDIRSYNCER_CONFIG"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	if p := filepath.Join(home, ".vdirsyncer", "config"); exists(p) {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "vdirsyncer", "config")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
