package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/format"
	"github.com/vdird/vdird/engine/newcol"
	"github.com/vdird/vdird/vdir"
)

// componentsFile is the file of a folder that names the components a new
// calendar made of it holds.
const componentsFile = "components"

// Root is a folder whose sub-folders hold collections of one kind.
type Root struct {
	Path string
	Kind davclient.Kind
}

// NewFolders reads the folders under roots that are not hidden and not
// taken: the candidates for new collections.
func NewFolders(roots []Root, taken map[string]bool) ([]newcol.Folder, error) {
	var out []newcol.Folder
	for _, r := range roots {
		des, err := os.ReadDir(r.Path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, de := range des {
			path := filepath.Join(r.Path, de.Name())
			if strings.HasPrefix(de.Name(), ".") || taken[path] {
				continue
			}
			if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
				continue
			}
			// A folder that cannot be read is not made: its pass would fail.
			if f, err := readFolder(path, r.Kind); err == nil {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// readFolder reads a candidate folder of a collection of kind: its
// metadata and components files, its items and what they hold, and the
// fingerprint of all that.
func readFolder(path string, kind davclient.Kind) (newcol.Folder, error) {
	f := newcol.Folder{Path: path, Name: filepath.Base(path), AddressBook: kind == davclient.KindAddressBook}
	d, err := vdir.Open(path, format.Of(kind).Ext)
	if err != nil {
		return f, err
	}
	entries, err := d.List()
	if err != nil {
		return f, err
	}
	if f.Meta.DisplayName, err = d.DisplayName(); err != nil {
		return f, err
	}
	if f.Meta.Color, err = d.Color(); err != nil || f.AddressBook {
		f.Meta.Color = ""
	}
	if f.Meta.Description, err = d.Description(); err != nil {
		return f, err
	}
	comps, err := os.ReadFile(filepath.Join(path, componentsFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	f.ComponentsFile, f.Items = string(comps), len(entries)
	fp := []string{f.Meta.DisplayName, f.Meta.Color, f.Meta.Description, f.ComponentsFile}
	for _, en := range entries {
		fp = append(fp, fmt.Sprintf("%s %d %d", en.Name, en.Fingerprint.Size, en.Fingerprint.ModNs))
	}
	f.Fingerprint = vdir.Hash([]byte(strings.Join(fp, "\n")))
	return f, nil
}

// ItemComponents reads the items of the calendar folder f for the
// components they hold. Only folders about to be made are read.
func ItemComponents(f *newcol.Folder) {
	d, err := vdir.Open(f.Path, format.ICalendar.Ext)
	if err != nil {
		return
	}
	entries, _ := d.List()
	for _, en := range entries {
		if data, _, err := d.Read(en.Name); err == nil {
			if info, err := format.ICalendar.Inspect(data); err == nil && !slices.Contains(f.ItemComponents, info.Component) {
				f.ItemComponents = append(f.ItemComponents, info.Component)
			}
		}
	}
}
