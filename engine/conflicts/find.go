package conflicts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vdird/vdird/vdir"
)

// ErrNotFound means no conflict copy is where a name points.
var ErrNotFound = errors.New("no conflict copy")

// Found is where a name given by the user points.
type Found struct {
	Dir  string // the calendar or address book folder
	Copy string // the conflict copy
	Root int    // the index of the root whose folder it is
}

// Find finds the conflict that arg names: an item file or its conflict
// copy, as a path, or as a path inside one of roots (the accounts'
// local_roots and contacts_roots, each holding one folder per calendar or
// address book). An item file must
// have exactly one copy.
func Find(roots []string, arg string) (Found, error) {
	path, root := locate(roots, arg)
	if root < 0 {
		return Found{}, fmt.Errorf("%s: %w: not in a calendar or address book folder of %s", arg, ErrNotFound, strings.Join(roots, " or "))
	}
	f := Found{Dir: filepath.Dir(path), Copy: filepath.Base(path), Root: root}
	if _, _, ok := vdir.ConflictCopyOf(f.Copy); ok {
		return f, nil
	}
	cs, err := List(f.Dir, kindOf(f.Copy).ext, Local)
	if err != nil {
		return Found{}, err
	}
	var copies []string
	for _, c := range cs {
		if c.File == f.Copy {
			copies = append(copies, c.Copy)
		}
	}
	switch len(copies) {
	case 0:
		return Found{}, fmt.Errorf("%s: %w: it has none", path, ErrNotFound)
	case 1:
		f.Copy = copies[0]
		return f, nil
	}
	return Found{}, fmt.Errorf("%s has %d conflict copies, name one: %s", path, len(copies), strings.Join(copies, ", "))
}

// locate is the absolute path arg names and the index of the root that
// holds its folder (-1 for none): arg as a path if it exists,
// else inside each root in turn.
func locate(roots []string, arg string) (string, int) {
	var candidates []string
	if abs, err := filepath.Abs(arg); err == nil {
		candidates = append(candidates, abs)
	}
	if !filepath.IsAbs(arg) {
		for _, r := range roots {
			candidates = append(candidates, filepath.Join(r, arg))
		}
	}
	for _, p := range candidates {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		for i, r := range roots {
			if sameDir(filepath.Dir(filepath.Dir(p)), r) {
				return p, i
			}
		}
	}
	return "", -1
}

// sameDir tells whether two paths name one folder, symlinks resolved.
func sameDir(a, b string) bool {
	if ra, err := filepath.EvalSymlinks(a); err == nil {
		a = ra
	}
	if rb, err := filepath.EvalSymlinks(b); err == nil {
		b = rb
	}
	return filepath.Clean(a) == filepath.Clean(b)
}
