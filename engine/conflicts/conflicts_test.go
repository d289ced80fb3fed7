package conflicts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vdird/vdird/engine/merge"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/vdir"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../merge/testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// folder is a calendar folder after a sync met an item that both sides
// changed: khal retitled it and moved nothing, the phone retitled it too
// and moved it to another room. It was merged as the engine merges under
// policy, and the loser kept as a copy with its note, as the executor
// keeps it. It returns the folder and the copy's name.
func folder(t *testing.T, policy merge.Policy) (*vdir.Dir, string) {
	t.Helper()
	base, local := fixture(t, "event-base.ics"), fixture(t, "event-khal-summary.ics")
	// The phone: the title and the room changed.
	server := bytes.Replace(fixture(t, "event-radicale-summary.ics"), []byte("LOCATION:Room 4.12"), []byte("LOCATION:Room 2.01"), 1)
	m, err := merge.ICal(base, local, server, policy)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vdir.Create(filepath.Join(t.TempDir(), "work"), vdir.ICS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("plan.ics", m.Data, nil); err != nil {
		t.Fatal(err)
	}
	loser, side := local, "local"
	if policy == merge.LocalWins {
		loser, side = server, "server"
	}
	c, err := d.WriteConflictCopy("plan.ics", loser, time.Date(2026, 12, 3, 7, 42, 33, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteConflictNote(c, vdir.ConflictNote{Side: side, Name: "plan.ics", Base: base}); err != nil {
		t.Fatal(err)
	}
	return d, c
}

func read(t *testing.T, d *vdir.Dir, name string) []byte {
	t.Helper()
	b, _, err := d.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// values reads one property of an item's VEVENT, as "" when absent.
func value(t *testing.T, data []byte, prop string) string {
	t.Helper()
	for line := range strings.Lines(strings.ReplaceAll(string(data), "\r\n ", "")) {
		if name, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":"); ok && name == prop {
			return v
		}
	}
	return ""
}

func TestList_MergedConflict_NamesOnlyThePropertyBothChanged(t *testing.T) {
	d, c := folder(t, merge.ServerWins)
	got, err := List(d.Path(), vdir.ICS, Server)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("want one conflict, got %+v", got)
	}
	x := got[0]
	if x.File != "plan.ics" || x.Copy != c || x.Copied != Local || !x.Merged || x.Problem != "" ||
		!x.At.Equal(time.Date(2026, 12, 3, 7, 42, 33, 0, time.UTC)) || x.Summary != "Team planning (all hands)" {
		t.Errorf("conflict %+v", x)
	}
	// The phone's new room is not a conflict: the file has it already.
	if p := x.Properties(); !slices.Equal(p, []string{"SUMMARY"}) {
		t.Errorf("properties %v, want SUMMARY only", p)
	}
	ch := x.Changes[0]
	if ch.Base != "SUMMARY:Team planning" || ch.Local != "SUMMARY:Team planning (moved to Q1 review)" || ch.Server != "SUMMARY:Team planning (all hands)" {
		t.Errorf("change %+v", ch)
	}
}

func TestResolve_KeepLocal_FileTakesTheLocalValueKeepsTheServersOtherEdits(t *testing.T) {
	d, c := folder(t, merge.ServerWins)
	before := read(t, d, "plan.ics")
	res, err := Resolve(d.Path(), c, KeepLocal, Server)
	if err != nil {
		t.Fatal(err)
	}
	after := read(t, d, "plan.ics")
	if res.Wrote != "plan.ics" || value(t, after, "SUMMARY") != "Team planning (moved to Q1 review)" || value(t, after, "LOCATION") != "Room 2.01" {
		t.Errorf("resolution %+v; file now has SUMMARY %q, LOCATION %q", res, value(t, after, "SUMMARY"), value(t, after, "LOCATION"))
	}
	if changed := changedLines(before, after); !slices.Equal(changed, []string{"SUMMARY:Team planning (moved to Q1 review)"}) {
		t.Errorf("lines changed in the file: %q, want only the SUMMARY", changed)
	}
	if cs, _ := d.ConflictCopies(); len(cs) != 0 {
		t.Errorf("copies left: %v", cs)
	}
	if _, ok, _ := d.ConflictNote(c); ok {
		t.Error("the note is left")
	}
}

func TestResolve_KeepServer_FileHoldsItAlready_OnlyTheCopyGoes(t *testing.T) {
	d, c := folder(t, merge.ServerWins)
	before := read(t, d, "plan.ics")
	res, err := Resolve(d.Path(), c, KeepServer, Server)
	if err != nil || res != (Resolution{}) {
		t.Fatalf("resolution %+v, %v", res, err)
	}
	if !bytes.Equal(read(t, d, "plan.ics"), before) {
		t.Error("the file was rewritten")
	}
	if cs, _ := d.ConflictCopies(); len(cs) != 0 {
		t.Errorf("copies left: %v", cs)
	}
}

func TestResolve_KeepServerUnderLocalWins_FileTakesTheServersValue(t *testing.T) {
	d, c := folder(t, merge.LocalWins)
	x, err := Read(d.Path(), c, Local)
	if err != nil || x.Copied != Server || !slices.Equal(x.Properties(), []string{"SUMMARY"}) {
		t.Fatalf("conflict %+v, %v", x, err)
	}
	if _, err := Resolve(d.Path(), c, KeepServer, Local); err != nil {
		t.Fatal(err)
	}
	after := read(t, d, "plan.ics")
	if value(t, after, "SUMMARY") != "Team planning (all hands)" || value(t, after, "LOCATION") != "Room 2.01" {
		t.Errorf("file has SUMMARY %q, LOCATION %q", value(t, after, "SUMMARY"), value(t, after, "LOCATION"))
	}
}

func TestResolve_KeepBoth_CopyBecomesAnItemWithANewUID(t *testing.T) {
	d, c := folder(t, merge.ServerWins)
	copied, before := read(t, d, c), read(t, d, "plan.ics")
	res, err := Resolve(d.Path(), c, KeepBoth, Server)
	if err != nil || res.Wrote != "" || res.NewItem == "" {
		t.Fatalf("resolution %+v, %v", res, err)
	}
	item := read(t, d, res.NewItem)
	info, err := ics.Inspect(item)
	if err != nil || !strings.HasPrefix(info.UID, "6f1c2d7e-3b4a-4c55-9e0f-2a7b8c9d0e1f-vdird-") {
		t.Fatalf("new item %v, %v", info, err)
	}
	if !bytes.Equal(ics.ReplaceUID(item, "x"), ics.ReplaceUID(copied, "x")) {
		t.Error("the new item is not the copy under a new UID")
	}
	if !bytes.Equal(read(t, d, "plan.ics"), before) {
		t.Error("the file was rewritten")
	}
	if es, _ := d.List(); len(es) != 2 {
		t.Errorf("items: %v", es)
	}
}

// TestList_CopyWithoutNote_SideFromTheFallbackEveryDifferenceListed: a copy
// an older vdird kept has no note; the versions were not merged.
func TestList_CopyWithoutNote_SideFromTheFallbackEveryDifferenceListed(t *testing.T) {
	d, err := vdir.Create(filepath.Join(t.TempDir(), "work"), vdir.ICS)
	if err != nil {
		t.Fatal(err)
	}
	server, local := fixture(t, "event-radicale-location.ics"), fixture(t, "event-khal-summary.ics")
	if _, err := d.Write("plan.ics", server, nil); err != nil {
		t.Fatal(err)
	}
	c, err := d.WriteConflictCopy("plan.ics", local, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x, err := Read(d.Path(), c, Local)
	if err != nil {
		t.Fatal(err)
	}
	props := x.Properties()
	if x.Merged || x.Copied != Local || !slices.Contains(props, "SUMMARY") || !slices.Contains(props, "LOCATION") {
		t.Errorf("conflict %+v, properties %v", x, props)
	}
	if _, err := Resolve(d.Path(), c, KeepLocal, Local); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, d, "plan.ics"), local) {
		t.Error("without a base, keeping the copy's side is the copy whole")
	}
}

func TestResolve_ItemFileGone_KeepingTheCopysSideWritesItAgain(t *testing.T) {
	d, c := folder(t, merge.ServerWins)
	copied := read(t, d, c)
	if err := os.Remove(filepath.Join(d.Path(), "plan.ics")); err != nil {
		t.Fatal(err)
	}
	x, err := Read(d.Path(), c, Server)
	if err != nil || !strings.Contains(x.Problem, "gone") || x.Summary == "" {
		t.Fatalf("conflict %+v, %v", x, err)
	}
	if _, err := Resolve(d.Path(), c, KeepLocal, Server); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, d, "plan.ics"), copied) {
		t.Error("the copy was not written as the file")
	}
}

func TestResolve_NotACopy_Refused(t *testing.T) {
	d, _ := folder(t, merge.ServerWins)
	if _, err := Resolve(d.Path(), "plan.ics", KeepLocal, Server); err == nil || !strings.Contains(err.Error(), "not a conflict copy") {
		t.Fatalf("resolving an item file: %v", err)
	}
	if _, err := ParseKeep("mine"); err == nil {
		t.Error("--keep mine accepted")
	}
}

// changedLines are the lines of after that before does not have.
func changedLines(before, after []byte) []string {
	had := map[string]bool{}
	for l := range strings.Lines(string(before)) {
		had[l] = true
	}
	var out []string
	for l := range strings.Lines(string(after)) {
		if !had[l] {
			out = append(out, strings.TrimRight(l, "\r\n"))
		}
	}
	return out
}

func TestFind_ItemFileOrCopy_AsAPathOrInsideARoot(t *testing.T) {
	d, c := folder(t, merge.ServerWins)
	root := filepath.Dir(d.Path())
	other := t.TempDir()
	for _, arg := range []string{
		filepath.Join(d.Path(), "plan.ics"), // the item file, by its path
		filepath.Join(d.Path(), c),          // its copy
		"work/plan.ics",                     // inside a root
		"work/" + c,
	} {
		f, err := Find([]string{other, root}, arg)
		if err != nil || f.Copy != c || f.Root != 1 || !sameDir(f.Dir, d.Path()) {
			t.Errorf("%s: %+v, %v", arg, f, err)
		}
	}
	if _, err := Find([]string{root}, "/etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a file outside the roots: %v", err)
	}
	if _, err := d.WriteConflictCopy("plan.ics", []byte("another loser"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := Find([]string{root}, "work/plan.ics"); err == nil || !strings.Contains(err.Error(), "2 conflict copies, name one") {
		t.Errorf("an item with two copies: %v", err)
	}
}

// cardFolder is an address book folder after a sync met a card that both
// sides changed: khard added a home email and made her a director, the
// phone added a home number and made her a VP. Merged under server-wins,
// the local card is kept as the copy.
func cardFolder(t *testing.T) (*vdir.Dir, string) {
	t.Helper()
	title := func(b []byte, to string) []byte {
		return bytes.Replace(b, []byte("TITLE:Engineering manager"), []byte("TITLE:"+to), 1)
	}
	base := fixture(t, "card-base.vcf")
	local, server := title(fixture(t, "card-khard-email.vcf"), "Director"), title(fixture(t, "card-radicale-tel.vcf"), "VP")
	m, err := merge.VCard(base, local, server, merge.ServerWins)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vdir.Create(filepath.Join(t.TempDir(), "friends"), vdir.VCF)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write("carla.vcf", m.Data, nil); err != nil {
		t.Fatal(err)
	}
	c, err := d.WriteConflictCopy("carla.vcf", local, time.Date(2026, 12, 3, 7, 42, 33, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteConflictNote(c, vdir.ConflictNote{Side: vdir.LocalVersion, Name: "carla.vcf", Base: base}); err != nil {
		t.Fatal(err)
	}
	return d, c
}

func TestList_AddressBook_CardMergedAsAVCard_NamesTheTitleAndTheContact(t *testing.T) {
	d, c := cardFolder(t)
	got, err := List(d.Path(), vdir.VCF, Server)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Copy != c || got[0].File != "carla.vcf" || !got[0].Merged || got[0].Problem != "" || got[0].Summary != "Carla Souza" {
		t.Fatalf("conflicts %+v", got)
	}
	if p := got[0].Properties(); !slices.Equal(p, []string{"TITLE"}) {
		t.Errorf("properties %v, want TITLE only", p)
	}
}

func TestResolve_AddressBook_KeepLocal_CardTakesTheLocalTitleKeepsThePhonesNumber(t *testing.T) {
	d, c := cardFolder(t)
	res, err := Resolve(d.Path(), c, KeepLocal, Server)
	if err != nil {
		t.Fatal(err)
	}
	after := string(read(t, d, "carla.vcf"))
	if res.Wrote != "carla.vcf" || !strings.Contains(after, "TITLE:Director") || !strings.Contains(after, "+351 218 765 432") ||
		!strings.Contains(after, "carla@home.example") {
		t.Errorf("resolution %+v; the card is now:\n%s", res, after)
	}
	if cs, _ := d.ConflictCopies(); len(cs) != 0 {
		t.Errorf("copies left: %v", cs)
	}
}

func TestResolve_AddressBook_KeepBoth_CopyBecomesACardWithANewUID(t *testing.T) {
	d, c := cardFolder(t)
	res, err := Resolve(d.Path(), c, KeepBoth, Server)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.NewItem, vdir.VCF) {
		t.Fatalf("new item %q, want a .vcf", res.NewItem)
	}
	card := string(read(t, d, res.NewItem))
	if !strings.Contains(card, "TITLE:Director") || !strings.Contains(card, "UID:2b6f9c1e-5d4a-4f3b-9e8d-7c6b5a4f3e2d-vdird-") {
		t.Errorf("the new card:\n%s", card)
	}
}
