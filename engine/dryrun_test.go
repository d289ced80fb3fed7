package engine

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/apply"
	"github.com/vdird/vdird/engine/plan"
	"github.com/vdird/vdird/internal/faultproxy"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/synctest"
	"github.com/vdird/vdird/internal/testserver"
	"github.com/vdird/vdird/state"
	"github.com/vdird/vdird/vdir"
)

// A dry run must plan exactly what the run does. The tests here run a dry
// run, check that it wrote nothing anywhere, then run the real pass and
// compare, item by item (by UID), what the plan said with what the pass
// was seen to do: requests that reached the server, files written,
// removed and kept as conflict copies, and entries recorded in state.

// snapshot is one calendar as a test sees it from outside the engine.
type snapshot struct {
	tree  map[string]string     // every file under the local root, hidden ones too
	state string                // everything state records
	files map[string][]byte     // the calendar folder's files, by name
	items map[string]state.Item // state's items of the calendar by href, without fingerprint and base
	// pending are the open journal entries.
	pending []state.JournalEntry
}

func (e *env) snapshot(cal string) snapshot {
	e.t.Helper()
	s := snapshot{tree: map[string]string{}, files: map[string][]byte{}, items: map[string]state.Item{}}
	err := filepath.WalkDir(e.Root, func(path string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil // no folder yet
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.Root, path)
		if d.IsDir() {
			s.tree[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(path)
		s.tree[rel] = string(b)
		if filepath.Dir(rel) == calDir(cal) {
			s.files[d.Name()] = b
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.withStore(func(store *state.Store) {
		s.state = stateDump(e.t, store)
		var err error
		if s.pending, err = store.Pending(); err != nil {
			e.t.Fatal(err)
		}
		items, err := store.Items(collectionKey(&e.Cfg.Accounts[0], davclient.Calendar{Href: cal}))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range items {
			it.Fingerprint, it.Base = state.Fingerprint{}, nil
			s.items[it.Href] = it
		}
	})
	return s
}

// stateDump is everything store records: accounts, collections, their
// items and the open journal entries.
func stateDump(t *testing.T, store *state.Store) string {
	t.Helper()
	var b strings.Builder
	cols, err := store.Collections()
	if err != nil {
		t.Fatal(err)
	}
	accounts := map[string]bool{}
	for _, c := range cols {
		accounts[c.Account] = true
		fmt.Fprintf(&b, "collection %+v\n", c)
		items, err := store.Items(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			fmt.Fprintf(&b, "  item %+v\n", it)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(accounts)) {
		a, ok, err := store.Account(name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "account %v %+v\n", ok, a)
	}
	pending, err := store.Pending()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range pending {
		fmt.Fprintf(&b, "journal %+v\n", j)
	}
	return b.String()
}

// effects is, per UID, what was done to an item: "file" (its file
// written), "rm" (its file removed), "copy" (a conflict copy kept), "put"
// (an update sent, If-Match), "create" (a create sent, If-None-Match),
// "delete" (a DELETE sent), and "state" (its state entry changed and
// nothing else).
type effects map[string][]string

func (ef effects) add(uid, what string) {
	if uid != "" && !slices.Contains(ef[uid], what) {
		ef[uid] = append(ef[uid], what)
		slices.Sort(ef[uid])
	}
}

func (ef effects) String() string {
	var b strings.Builder
	for _, uid := range slices.Sorted(maps.Keys(ef)) {
		fmt.Fprintf(&b, "\n  %s: %s", uid, strings.Join(ef[uid], " "))
	}
	return b.String()
}

// plannedEffects is what a dry run's plan says the run will do.
func plannedEffects(acts []plan.Action) effects {
	ef := effects{}
	for _, a := range acts {
		switch a.Kind {
		case plan.Download:
			ef.add(a.UID, "file")
		case plan.Upload:
			ef.add(a.UID, "put")
		case plan.Create:
			ef.add(a.UID, "create")
		case plan.DeleteLocal:
			ef.add(a.UID, "rm")
		case plan.DeleteRemote:
			ef.add(a.UID, "delete")
		case plan.Conflict:
			ef.add(a.UID, "copy")
			if a.Winner == plan.LocalSide {
				ef.add(a.UID, "put")
			} else {
				ef.add(a.UID, "file")
			}
		case plan.Merged:
			for _, e := range [...]struct {
				on   bool
				what string
			}{{a.Write, "file"}, {a.Put, "put"}, {a.Conflicts != "", "copy"}} {
				if e.on {
					ef.add(a.UID, e.what)
				}
			}
		}
	}
	for _, a := range acts {
		if (a.Kind == plan.Record || a.Kind == plan.Forget) && len(ef[a.UID]) == 0 {
			ef.add(a.UID, "state")
		}
	}
	return ef
}

// observedEffects is what a pass was seen to do, from the snapshots
// before and after it and the requests it sent.
func observedEffects(t *testing.T, before, after snapshot, reqs []synctest.Request) effects {
	t.Helper()
	uidOf := func(data []byte) string {
		info, _ := ics.Inspect(data)
		return info.UID
	}
	hrefUID := map[string]string{}
	for _, items := range []map[string]state.Item{before.items, after.items} {
		for h, it := range items {
			hrefUID[h] = it.UID
		}
	}
	ef := effects{}
	for _, r := range synctest.Writes(reqs) {
		uid, ok := hrefUID[r.Path]
		if !ok {
			uid = "unrecorded href " + r.Path
		}
		switch {
		case r.Method == http.MethodDelete:
			ef.add(uid, "delete")
		case r.IfNoneMatch == "*":
			ef.add(uid, "create")
		default:
			ef.add(uid, "put")
		}
	}
	for name, data := range after.files {
		old, existed := before.files[name]
		switch {
		case strings.Contains(name, ".ics.conflict-") && !existed:
			ef.add(uidOf(data), "copy")
		case strings.HasSuffix(name, ".ics") && (!existed || !bytes.Equal(old, data)):
			ef.add(uidOf(data), "file")
		}
	}
	for name, data := range before.files {
		if _, kept := after.files[name]; !kept && strings.HasSuffix(name, ".ics") {
			ef.add(uidOf(data), "rm")
		}
	}
	recorded := func(items map[string]state.Item, uid string) []state.Item {
		var out []state.Item
		for _, h := range slices.Sorted(maps.Keys(items)) {
			if items[h].UID == uid {
				out = append(out, items[h])
			}
		}
		return out
	}
	for _, items := range []map[string]state.Item{before.items, after.items} {
		for _, it := range items {
			if len(ef[it.UID]) == 0 && !slices.EqualFunc(recorded(before.items, it.UID), recorded(after.items, it.UID), sameEntry) {
				ef.add(it.UID, "state")
			}
		}
	}
	return ef
}

// sameEntry compares two state entries as the planner sees them.
func sameEntry(a, b state.Item) bool { return apply.KnownOf(a) == apply.KnownOf(b) }

// counts are a summary's counters, as the plan predicts them or as the
// pass reports them.
type counts struct{ Downloaded, Uploaded, DeletedLocal, DeletedRemote, Conflicts, Recorded, Merged, Skipped, Problems int }

func plannedCounts(acts []plan.Action) counts {
	var c counts
	for _, a := range acts {
		switch a.Kind {
		case plan.Download:
			c.Downloaded++
		case plan.Upload, plan.Create:
			c.Uploaded++
		case plan.DeleteLocal:
			c.DeletedLocal++
		case plan.DeleteRemote:
			c.DeletedRemote++
		case plan.Record:
			c.Recorded++
		case plan.Conflict:
			c.Conflicts++
			if a.Winner == plan.LocalSide {
				c.Uploaded++
			}
		case plan.Merged:
			c.Merged++
			if a.Put {
				c.Uploaded++
			}
			if a.Conflicts != "" {
				c.Conflicts++
			}
		case plan.Skip:
			c.Skipped++
		case plan.Report:
			c.Problems++
		}
	}
	return c
}

func reportedCounts(s *Summary) counts {
	return counts{s.Downloaded, s.Uploaded, s.DeletedLocal, s.DeletedRemote, s.Conflicts, s.Recorded, s.Merged, len(s.Skipped), len(s.Problems)}
}

// only returns the summary of calendar cal among sums.
func only(t *testing.T, sums []*Summary, cal string) *Summary {
	t.Helper()
	for _, s := range sums {
		if s.Href == cal {
			if s.Err != nil {
				t.Fatalf("%s: %v", cal, s.Err)
			}
			return s
		}
	}
	t.Fatalf("no summary for %s in %+v", cal, sums)
	return nil
}

// dryRun runs a dry run of calendar cal and checks that it wrote nothing:
// no request that changes the server, no file (hidden ones included) and
// nothing in state. It returns its summary and the snapshot it left as it
// was.
func (e *env) dryRun(cal string) (*Summary, snapshot) {
	t := e.t
	t.Helper()
	before := e.snapshot(cal)
	e.Rec.Take()
	dry := only(t, e.sync(SyncOptions{DryRun: true}), cal)
	if w := synctest.Writes(e.Rec.Take()); len(w) > 0 {
		t.Fatalf("the dry run wrote to the server: %+v", w)
	}
	if now := e.snapshot(cal); !maps.Equal(now.tree, before.tree) || now.state != before.state {
		t.Fatalf("the dry run changed files or state:\nfiles before %v\nfiles after  %v\nstate before:\n%s\nstate after:\n%s",
			slices.Sorted(maps.Keys(before.tree)), slices.Sorted(maps.Keys(now.tree)), before.state, now.state)
	}
	return dry, before
}

// dryThenReal runs a dry run of calendar cal, checks that it wrote
// nothing, then runs the real pass and checks that it did what the dry
// run planned. It returns both summaries.
func (e *env) dryThenReal(cal string) (dry, real *Summary) {
	t := e.t
	t.Helper()
	dry, before := e.dryRun(cal)
	real = only(t, e.sync(SyncOptions{}), cal)
	after := e.snapshot(cal)
	if dry.Refused != real.Refused {
		t.Fatalf("refusal: the dry run said %q, the run %q", dry.Refused, real.Refused)
	}
	want, got := plannedEffects(dry.Planned), observedEffects(t, before, after, e.Rec.Take())
	for _, j := range before.pending {
		if j.Key == collectionKey(&e.Cfg.Accounts[0], davclient.Calendar{Href: cal}) && len(want[j.UID]) == 0 {
			want.add(j.UID, "state") // a run settles the journal before it plans
		}
	}
	if want.String() != got.String() {
		t.Errorf("the dry run planned%s\nthe run did%s\nplan:\n  %s", want, got, strings.Join(actionLines(dry.Planned), "\n  "))
	}
	if p, r := plannedCounts(dry.Planned), reportedCounts(real); p != r {
		t.Errorf("the dry run's plan counts %+v, the run reports %+v (skipped %v, problems %v)", p, r, real.Skipped, real.Problems)
	}
	noted := slices.ContainsFunc(dry.Notes, func(n string) bool { return strings.Contains(n, "display name and colour") })
	wrote := !bytes.Equal(before.files["displayname"], after.files["displayname"]) || !bytes.Equal(before.files["color"], after.files["color"])
	if noted != wrote {
		t.Errorf("the dry run notes %q; the run wrote the display name or colour: %v", dry.Notes, wrote)
	}
	return dry, real
}

func actionLines(acts []plan.Action) []string {
	out := make([]string, 0, len(acts))
	for _, a := range acts {
		out = append(out, a.String()+"  ("+a.Reason+")")
	}
	return out
}

// TestDryRun_VdirsyncerFolder_PredictsWhatTheRunDoes: a folder vdirsyncer
// filled from the server (testdata/vdirsyncer) holds every item in another
// layout and under other names. The dry run plans to record each item and
// nothing else: no conflict, no transfer; the run then does exactly that
// and writes nothing.
func TestDryRun_VdirsyncerFolder_PredictsWhatTheRunDoes(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	e.seedFixtureServer()
	for _, cal := range []string{e.Events, e.Tasks} {
		if err := os.MkdirAll(filepath.Join(e.Root, calDir(cal)), 0o700); err != nil {
			t.Fatal(err)
		}
		for name, data := range fixtureFiles(t, "folder", calDir(cal)) {
			e.WriteFile(cal, name, data)
		}
	}
	for _, cal := range []string{e.Events, e.Tasks} {
		t.Run(calDir(cal), func(t *testing.T) {
			ce := &env{Env: e.Env, t: t}
			ce.Cfg.Accounts[0].Calendars = []string{cal}
			items := len(fixtureFiles(t, "folder", calDir(cal)))
			folder := ce.snapshot(cal).files
			dry, real := ce.dryThenReal(cal)
			for _, a := range dry.Planned {
				if a.Kind != plan.Record {
					t.Errorf("the dry run planned %s %s (%s), want only records", a.Kind, a.Name, a.Reason)
				}
			}
			if len(dry.Planned) != items || real.Recorded != items || real.Conflicts != 0 || changed(real) != 0 {
				t.Errorf("want %d items recorded, no conflict and no transfer: dry run %d actions, run %+v", items, len(dry.Planned), real)
			}
			now := ce.snapshot(cal).files
			for name, data := range folder {
				if !bytes.Equal(now[name], data) {
					t.Errorf("the run rewrote vdirsyncer's %s", name)
				}
			}
		})
	}
}

// relayout rewrites an item as another tool might without changing its
// content: lines unfolded, each run of property lines in reverse order,
// folded again at 40 octets, LF line endings.
func relayout(data []byte) []byte {
	var lines []string
	for l := range strings.SplitSeq(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, " ") && len(lines) > 0:
			lines[len(lines)-1] += l[1:]
		case l != "":
			lines = append(lines, l)
		}
	}
	structural := func(l string) bool { return strings.HasPrefix(l, "BEGIN:") || strings.HasPrefix(l, "END:") }
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && !structural(lines[j]) {
			j++
		}
		slices.Reverse(lines[i:j])
		i = j + 1
	}
	var b strings.Builder
	for _, l := range lines {
		for len(l) > 40 {
			b.WriteString(l[:40] + "\n ")
			l = l[40:]
		}
		b.WriteString(l + "\n")
	}
	return []byte(b.String())
}

func TestRelayout_SameContentOtherBytes(t *testing.T) {
	a := event("u", "a summary long enough to be folded at forty octets")
	if b := relayout(a); bytes.Equal(a, b) || !ics.Equivalent(a, b) {
		t.Fatalf("relayout gave\n%s", b)
	}
}

// The kinds of item a generated scenario holds. Known items are synced
// first, then changed; new ones are made afterwards.
var (
	knownKinds = []string{"same", "local-edit", "local-relayout", "server-edit", "both-edit", "both-edit-relayout",
		"local-delete", "server-delete", "both-delete", "local-delete-server-edit", "local-edit-server-delete", "renamed"}
	newKinds = []string{"local-only", "server-only", "both-same", "both-relayout", "both-differ", "invalid-local"}
)

// onCalendar is a fixture of its own (local root, state, config) on e's
// server, syncing only calendar cal.
func (e *env) onCalendar(cal string) *env {
	cp := *e.Env
	dir := e.t.TempDir()
	cp.Root = filepath.Join(dir, "calendars")
	cfg := *e.Cfg
	cfg.StatePath = filepath.Join(dir, "state", "state.db")
	cfg.Accounts = slices.Clone(cfg.Accounts)
	cfg.Accounts[0].LocalRoot, cfg.Accounts[0].Calendars = cp.Root, []string{cal}
	cp.Cfg, cp.Events = &cfg, cal
	return &env{Env: &cp, t: e.t}
}

// scenario fills calendar cal with the given kinds of item: the known
// ones are put on the server and synced, then every item is changed (or
// made) as its kind says.
func (e *env) scenario(cal string, known, fresh []string) {
	t := e.t
	t.Helper()
	href := func(uid string) string { return cal + "srv-" + uid + ".ics" }
	for i, kind := range known {
		uid := fmt.Sprintf("k%d-%s", i, kind)
		e.Srv.Put(t, href(uid), event(uid, "base"))
	}
	if len(known) > 0 {
		only(t, e.sync(SyncOptions{}), cal)
	}
	if slices.ContainsFunc(fresh, func(k string) bool { return k != "server-only" }) {
		if err := os.MkdirAll(filepath.Join(e.Root, calDir(cal)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]string{} // UID → local file name, from state
	for _, it := range e.snapshot(cal).items {
		names[it.UID] = it.Name
	}
	remove := func(name string) {
		if err := os.Remove(e.File(cal, name)); err != nil {
			t.Fatal(err)
		}
	}
	for i, kind := range known {
		uid := fmt.Sprintf("k%d-%s", i, kind)
		name := names[uid]
		if strings.Contains(kind, "local-edit") || kind == "both-edit" {
			e.WriteFile(cal, name, event(uid, "local edit"))
		}
		if strings.Contains(kind, "server-edit") || kind == "both-edit" {
			e.Srv.Put(t, href(uid), event(uid, "server edit"))
		}
		switch kind {
		case "local-relayout":
			e.WriteFile(cal, name, relayout(e.ReadFile(cal, name)))
		case "both-edit-relayout":
			e.Srv.Put(t, href(uid), event(uid, "the same edit"))
			body, _ := e.Srv.Get(t, href(uid))
			e.WriteFile(cal, name, relayout(body))
		case "local-delete", "local-delete-server-edit":
			remove(name)
		case "both-delete":
			remove(name)
			e.Srv.Delete(t, href(uid))
		case "server-delete", "local-edit-server-delete":
			e.Srv.Delete(t, href(uid))
		case "renamed":
			if err := os.Rename(e.File(cal, name), e.File(cal, "renamed-"+name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, kind := range fresh {
		uid := fmt.Sprintf("n%d-%s", i, kind)
		switch kind {
		case "local-only":
			e.WriteFile(cal, uid+".ics", event(uid, "made here"))
		case "server-only":
			e.Srv.Put(t, href(uid), event(uid, "made there"))
		case "both-same", "both-relayout":
			e.Srv.Put(t, href(uid), event(uid, "on both sides"))
			body, _ := e.Srv.Get(t, href(uid))
			if kind == "both-relayout" {
				body = relayout(body)
			}
			e.WriteFile(cal, uid+".ics", body)
		case "both-differ":
			e.Srv.Put(t, href(uid), event(uid, "made there"))
			e.WriteFile(cal, uid+".ics", event(uid, "made here"))
		case "invalid-local":
			e.WriteFile(cal, uid+".ics", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"))
		}
	}
}

// TestDryRun_Property_PlansWhatTheRunDoes generates small calendars on a
// real Radicale, with items of every kind in random mixes, synced before
// or met for the first time, and checks for each that a dry run writes
// nothing and plans exactly what the run then does (dryThenReal). The
// first scenarios pin the cases a random mix may miss: nothing changed,
// a calendar new on both sides (the run's first download), and every kind
// at once.
func TestDryRun_Property_PlansWhatTheRunDoes(t *testing.T) {
	e := newEnv(t, testserver.Radicale)
	rng := rand.New(rand.NewPCG(22, 5))
	pick := func(kinds []string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = kinds[rng.IntN(len(kinds))]
		}
		return out
	}
	scenarios := [][2][]string{
		{{"same", "same", "same"}, nil},
		{nil, {"server-only", "server-only"}},
		{knownKinds, newKinds},
	}
	for range 12 {
		scenarios = append(scenarios, [2][]string{pick(knownKinds, rng.IntN(6)), pick(newKinds, rng.IntN(4))})
	}
	kinds := map[string]int{}
	for i, sc := range scenarios {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			cal := e.Srv.MakeCalendar(t, fmt.Sprintf("prop%d", i), fmt.Sprintf("Prop %d", i), "VEVENT")
			ce := e.onCalendar(cal)
			ce.t = t
			if i%3 == 2 {
				ce.Cfg.Accounts[0].ConflictPolicy = "local-wins"
			}
			ce.scenario(cal, sc[0], sc[1])
			dry, _ := ce.dryThenReal(cal)
			for _, a := range dry.Planned {
				kinds[a.Kind.String()]++
			}
			t.Logf("known %v, new %v: strategy %s, %d actions", sc[0], sc[1], dry.Strategy, len(dry.Planned))
		})
	}
	// Guard against scenarios that stopped exercising the planner.
	for _, k := range []string{"download", "upload", "create", "delete-local", "delete-remote", "record", "forget", "conflict", "merged", "skip"} {
		if kinds[k] == 0 {
			t.Errorf("no scenario planned a %s: %v", k, kinds)
		}
	}
}

// TestDryRun_AfterLostAnswers_PlansFromTheSettledJournalAndWritesNothing:
// a pass lost the server's answers to an update, a create and a delete, so
// their journal entries stay open. A run settles them first (the server
// holds our writes) and then has nothing to do; the dry run, which may not
// settle anything, plans from state as settled and leaves the journal open.
func TestDryRun_AfterLostAnswers_PlansFromTheSettledJournalAndWritesNothing(t *testing.T) {
	forEachFaultServer(t, func(t *testing.T, f *fenv) {
		f.seed("x", "z", "keep")
		f.WriteFile(f.Events, "x.ics", event("x", "v2 local"))
		f.WriteFile(f.Events, "y.ics", event("y", "new local"))
		if err := os.Remove(f.File(f.Events, "z.ics")); err != nil {
			t.Fatal(err)
		}
		f.px.Add(faultproxy.Rule{Method: "PUT", Action: faultproxy.LoseAnswer()})
		f.px.Add(faultproxy.Rule{Method: "DELETE", Action: faultproxy.LoseAnswer()})
		f.run(SyncOptions{})
		f.px.Clear()
		f.withStore(func(store *state.Store) {
			if p, err := store.Pending(); err != nil || len(p) != 3 {
				t.Fatalf("want 3 open journal entries, have %d (%v)", len(p), err)
			}
		})

		dry, real := f.dryThenReal(f.Events)
		if len(dry.Planned) != 0 || changed(real) != 0 || len(dry.Notes) != 1 || !strings.Contains(dry.Notes[0], "3 writes") {
			t.Errorf("our own writes, once settled, leave nothing to do: dry run %v, notes %q; run %+v", actionLines(dry.Planned), dry.Notes, real)
		}
	})
}

// TestDryRun_FirstDownloadCutOffWhileStaged_PlansTheRest: a first download
// cut off before its folder was published leaves it staged under a hidden
// name, holding the files state records and a torn one. A run finishes it,
// keeping the recorded files and downloading the rest; the dry run plans
// those downloads, not a refusal for a missing folder, and writes nothing.
func TestDryRun_FirstDownloadCutOffWhileStaged_PlansTheRest(t *testing.T) {
	f := newFaultEnv(t, testserver.Xandikos)
	const n = 500
	cal := f.seedOnly("cut", n, "c%03d", "cut")
	first := f.interruptedFirstSync(cal, 0.9).Downloaded
	if first == 0 || first >= n {
		t.Fatalf("the interrupted download wrote %d of %d items", first, n)
	}
	folder, stage := filepath.Join(f.Root, calDir(cal)), vdir.StagePath(filepath.Join(f.Root, calDir(cal)))
	if _, err := os.Stat(folder); err == nil {
		// Published what it had: moving it back gives a cut just before that.
		if err := os.Rename(folder, stage); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(stage, "zz-torn.ics"), []byte("BEGIN:VCALENDAR\r\nVERS"), 0o600); err != nil {
		t.Fatal(err)
	}

	dry, _ := f.dryRun(cal)
	if want := n - first; dry.Refused != "" || plannedCounts(dry.Planned) != (counts{Downloaded: want}) {
		t.Fatalf("want %d downloads planned and nothing else: refused %q, planned %+v", want, dry.Refused, plannedCounts(dry.Planned))
	}
	real := only(t, f.sync(SyncOptions{}), cal)
	if p, r := plannedCounts(dry.Planned), reportedCounts(real); p != r {
		t.Errorf("the dry run's plan counts %+v, the run reports %+v", p, r)
	}
}
