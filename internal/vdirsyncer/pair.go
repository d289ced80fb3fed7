package vdirsyncer

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// itemExt is the file extension of the items of a server's collections,
// the only one vdird reads in their folders.
func itemExt(k kind) string {
	if k == addressBookServer {
		return ".vcf"
	}
	return ".ics"
}

// folder reads a filesystem storage and returns its path.
func (r *reader) folder(k kind) (string, *failure) {
	r.take("type")
	v, fetch, _, fail := r.get("path")
	switch {
	case fail != nil:
		return "", fail
	case fetch != nil:
		return "", r.fail("path.fetch", "vdird takes the folder from its config, not from a command")
	}
	s, _ := v.(string)
	p, why := configPath(s)
	if why != "" {
		return "", r.fail("path", why)
	}
	if r.truthy("read_only") {
		return "", r.fail("read_only", "true: vdird writes the server's changes into the folder; a read-only folder is not converted")
	}
	switch ext, ok := r.take("fileext"); {
	case !ok:
		return "", r.fail("fileext", "missing")
	case ext != itemExt(k):
		return "", r.fail("fileext", fmt.Sprintf("%s: vdird reads only %s files here; it would not see these items and would download each again", show(ext), itemExt(k)))
	}
	if enc, ok := r.literal("encoding"); ok && !strings.EqualFold(strings.ReplaceAll(enc, "-", ""), "utf8") {
		r.note("encoding", "not converted: %q: vdird reads and writes items as UTF-8", enc)
	}
	r.unsupported("post_hook", "vdird runs no command after writing an item")
	r.unsupported("pre_deletion_hook", "vdird runs no command before deleting an item")
	r.take("fileignoreext") // names files to skip when fileext is empty, which it is not
	return p, nil
}

// collections reads the pair's collections into acc's folder and
// calendars: "from a" or "from b" is every calendar, names are those
// calendars, null makes the URL one calendar and the path its folder.
func (r *reader) collections(acc *account, server side, folderPath string) *failure {
	v, ok := r.take("collections")
	if !ok {
		return r.fail("collections", "missing: vdirsyncer wants null or a list")
	}
	if v == nil {
		return r.single(acc, server, folderPath)
	}
	list, isList := v.([]any)
	if !isList {
		return r.fail("collections", fmt.Sprintf("%s: want null or a list", show(v)))
	}
	acc.LocalRoot = folderPath
	local := map[string]string{"a": "b", "b": "a"}[server.name]
	var names []string
	var fromServer, fromFolder bool
	for _, e := range list {
		switch e {
		case "from " + server.name:
			fromServer = true
			continue
		case "from " + local:
			fromFolder = true
			continue
		}
		if n, ok := r.collection(e, server.name, folderPath); ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	switch {
	case fromServer:
	case fromFolder:
		r.note("collections", "\"from %s\": vdird syncs every calendar the server lists, not only those with a folder in %s; name the ones to sync in calendars", local, folderPath)
	case len(names) == 0:
		return r.fail("collections", fmt.Sprintf("%s: no calendar to sync", show(v)))
	default:
		acc.Calendars = names
	}
	return nil
}

// collection reads one named entry of collections: "name", or ["name",
// "name on a", "name on b"]. vdird keeps each calendar in a folder named
// after its URL, so a folder of another name is to be renamed.
func (r *reader) collection(e any, serverSide, folderPath string) (string, bool) {
	if s, ok := e.(string); ok {
		return s, true
	}
	list, _ := e.([]any)
	if len(list) != 3 {
		r.note("collections", "not converted: %s: want a name, or [\"name\", \"name on a\", \"name on b\"]", show(e))
		return "", false
	}
	onServer, ok1 := list[1].(string)
	onFolder, ok2 := list[2].(string)
	if serverSide == "b" {
		onServer, onFolder = onFolder, onServer
	}
	if !ok1 || !ok2 {
		r.note("collections", "not converted: %s: a side without a collection", show(e))
		return "", false
	}
	if onServer != onFolder {
		r.note("collections", "%s: vdird keeps the calendar %q in a folder named after it: rename %s to %s before the first sync, or vdird downloads the calendar again",
			show(e), onServer, path.Join(folderPath, onFolder), path.Join(folderPath, onServer))
	}
	return onServer, true
}

// single reads collections = null: the server's URL is one calendar and
// the storage's path is its folder, so the folder's parent holds the
// account's calendars.
func (r *reader) single(acc *account, server side, folderPath string) *failure {
	if server.sec.Values["type"] == "google_calendar" {
		return r.fail("collections", "null: a google_calendar storage wants a list of calendars")
	}
	u, err := url.Parse(acc.URL)
	p := strings.TrimSuffix(u.Path, "/")
	if err != nil || p == "" {
		return r.fail("collections", fmt.Sprintf("null makes the url %s one calendar, but it names none", acc.URL))
	}
	if folderPath == "~" || folderPath == "/" {
		return r.fail("collections", fmt.Sprintf("null makes %s the calendar's folder: vdird keeps each calendar in a folder of its own", folderPath))
	}
	name := path.Base(p)
	acc.LocalRoot = path.Dir(folderPath)
	acc.Calendars = []string{name}
	if base := path.Base(folderPath); base != name {
		r.note("collections", "null: vdird keeps the calendar at %s in a folder named after it: rename %s to %s before the first sync, or vdird downloads the calendar again",
			acc.URL, folderPath, path.Join(acc.LocalRoot, name))
	}
	return nil
}

// pairKeys reads the pair's other keys: the conflict resolution, which
// vdird's conflict_policy takes over by which side is the server, and
// the metadata.
func (r *reader) pairKeys(acc *account, serverSide string) {
	v, ok := r.take("conflict_resolution")
	switch v {
	case "a wins", "b wins":
		acc.ConflictPolicy = "local-wins"
		if v == serverSide+" wins" {
			acc.ConflictPolicy = "server-wins"
		}
	case nil:
		if ok {
			r.note("conflict_resolution", "null: vdirsyncer stops at an item changed on both sides; vdird merges the two and settles what both changed by conflict_policy (server-wins), keeping your version as a conflict copy")
		}
	default:
		if l, _ := v.([]any); len(l) > 0 && l[0] == "command" {
			r.note("conflict_resolution", "not converted: %s: vdird runs no command; it merges an item changed on both sides and settles what both changed by conflict_policy (server-wins), keeping your version as a conflict copy", show(v))
		} else {
			r.note("conflict_resolution", "not converted: %s: want \"a wins\", \"b wins\" or null", show(v))
		}
	}
	if m, ok := r.take("metadata"); ok && m != nil {
		keys, isList := stringList(m)
		other := slices.DeleteFunc(keys, func(k string) bool { return k == "displayname" || k == "color" })
		switch {
		case !isList:
			r.note("metadata", "not converted: %s: want a list such as [\"displayname\", \"color\"]", show(m))
		case len(other) > 0:
			r.note("metadata", "%s not converted: vdird keeps the displayname and color of each calendar in its folder", quoted(other))
		}
	}
	if ps, _ := r.take("partial_sync"); ps != nil {
		r.note("partial_sync", "not converted: it applies to a read-only storage, which vdird does not take")
	}
}
