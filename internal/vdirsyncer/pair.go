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
// calendars or address books: "from a" or "from b" is every one, names
// are those, null makes the URL one collection and the path its folder.
func (r *reader) collections(acc *account, server side, folderPath string) *failure {
	w := noun(server.kind)
	root, names := acc.set(server.kind)
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
	*root = folderPath
	local := map[string]string{"a": "b", "b": "a"}[server.name]
	var named []string
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
		if n, ok := r.collection(acc, e, server, folderPath); ok && !slices.Contains(named, n) {
			named = append(named, n)
		}
	}
	switch {
	case fromServer:
	case fromFolder:
		r.note("collections", "\"from %s\": vdird syncs every %s the server lists, not only those with a folder in %s; name the ones to sync in %s", local, w.one, folderPath, w.key)
	case len(named) == 0:
		return r.fail("collections", fmt.Sprintf("%s: no %s to sync", show(v), w.one))
	default:
		*names = named
	}
	return nil
}

// collection reads one named entry of collections: "name", or ["name",
// "name on a", "name on b"]. vdird keeps each collection in a folder named
// after its URL, so a folder of another name is to be renamed, and acc
// makes no new collections from folders until it is.
func (r *reader) collection(acc *account, e any, server side, folderPath string) (string, bool) {
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
	if server.name == "b" {
		onServer, onFolder = onFolder, onServer
	}
	if !ok1 || !ok2 {
		r.note("collections", "not converted: %s: a side without a collection", show(e))
		return "", false
	}
	if onServer != onFolder {
		w := noun(server.kind)
		r.note("collections", "%s: vdird keeps the %s %q in a folder named after it: rename %s to %s before the first sync, or vdird downloads the %s again (create_collections = false keeps it from making the old folder a %s of its own on the server)",
			show(e), w.one, onServer, path.Join(folderPath, onFolder), path.Join(folderPath, onServer), w.one, w.one)
		acc.noCreate()
	}
	return onServer, true
}

// single reads collections = null: the server's URL is one calendar or
// address book and the storage's path is its folder, so the folder's
// parent holds the account's collections of that kind.
func (r *reader) single(acc *account, server side, folderPath string) *failure {
	w := noun(server.kind)
	if server.sec.Values["type"] == "google_calendar" {
		return r.fail("collections", "null: a google_calendar storage wants a list of calendars")
	}
	u, err := url.Parse(acc.URL)
	p := strings.TrimSuffix(u.Path, "/")
	if err != nil || p == "" {
		return r.fail("collections", fmt.Sprintf("null makes the url %s one %s, but it names none", acc.URL, w.one))
	}
	if folderPath == "~" || folderPath == "/" {
		return r.fail("collections", fmt.Sprintf("null makes %s the %s's folder: vdird keeps each %s in a folder of its own", folderPath, w.one, w.one))
	}
	name := path.Base(p)
	root, names := acc.set(server.kind)
	*root, *names = path.Dir(folderPath), []string{name}
	if base := path.Base(folderPath); base != name {
		r.note("collections", "null: vdird keeps the %s at %s in a folder named after it: rename %s to %s before the first sync, or vdird downloads the %s again (create_collections = false keeps it from making the old folder a %s of its own on the server)",
			w.one, acc.URL, folderPath, path.Join(*root, name), w.one, w.one)
		acc.noCreate()
	}
	return nil
}

// pairKeys reads the pair's other keys: the conflict resolution, which
// vdird's conflict_policy takes over by which side is the server, and
// the metadata.
func (r *reader) pairKeys(acc *account, server side) {
	v, ok := r.take("conflict_resolution")
	switch v {
	case "a wins", "b wins":
		acc.ConflictPolicy = "local-wins"
		if v == server.name+" wins" {
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
		kept, what := []string{"displayname", "color"}, "the displayname and color of each calendar"
		if server.kind == addressBookServer {
			kept, what = []string{"displayname"}, "the displayname of each address book"
		}
		other := slices.DeleteFunc(keys, func(k string) bool { return slices.Contains(kept, k) })
		switch {
		case !isList:
			r.note("metadata", "not converted: %s: want a list such as %s", show(m), show(anyList(kept)))
		case len(other) > 0:
			r.note("metadata", "%s not converted: vdird keeps %s in its folder", quoted(other), what)
		}
	}
	if ps, _ := r.take("partial_sync"); ps != nil {
		r.note("partial_sync", "not converted: it applies to a read-only storage, which vdird does not take")
	}
}
