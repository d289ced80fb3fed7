package merge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const card = `BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
FN:Ana Lima
N:Lima;Ana;;;
TEL;TYPE=cell:+351 912 000 001
EMAIL;TYPE=work:ana@example.org
item1.ADR;TYPE=home:;;Rua Augusta 1;Lisboa;;1100-048;Portugal
item1.X-ABLABEL:Home
CATEGORIES:Friends
NOTE:Long note that is folded because it goes past seventy-five octets of t
 ext in one line.
REV:20261201T000000Z
END:VCARD
`

// cd is the test card in CRLF with some edits.
func cd(pairs ...string) string { return sub(crlf(card), crlfAll(pairs)...) }

func TestVCard_Rules(t *testing.T) {
	base := cd()
	khard := testdata(t, "card-khard-email.vcf")
	rows := []row{{
		name: "EmailAddedByKhardTelAddedOnServer_BothKept", // khard re-serialised and dropped the ADR group
		base: testdata(t, "card-base.vcf"), local: khard, remote: testdata(t, "card-radicale-tel.vcf"),
		want: sub(khard, "TEL;TYPE=work:+351 213 000 111\r\n", "TEL;TYPE=work:+351 213 000 111\r\nTEL;TYPE=home:+351 218 765 432\r\n"),
	}, {
		name: "NameLocalAddressServer_BothKept", // a grouped property is merged under its group
		base: base, local: cd("FN:Ana Lima\n", "FN:Ana M. Lima\n"),
		remote: cd("Rua Augusta 1;", "Rua Augusta 15;"),
		want:   cd("FN:Ana Lima\n", "FN:Ana M. Lima\n", "Rua Augusta 1;", "Rua Augusta 15;"),
	}, {
		name: "TelAndEmailAddedOnBothSides_Union",
		base: base, local: cd("TEL;TYPE=cell:+351 912 000 001\n", "TEL;TYPE=cell:+351 912 000 001\nTEL;TYPE=work:+351 213 000 002\n"),
		remote: cd("EMAIL;TYPE=work:ana@example.org\n", "EMAIL;TYPE=work:ana@example.org\nEMAIL;TYPE=home:ana@home.example\n",
			"TEL;TYPE=cell:+351 912 000 001\n", "TEL;TYPE=cell:+351 912 000 001\nTEL;TYPE=home:+351 218 000 003\n"),
		want: cd("TEL;TYPE=cell:+351 912 000 001\n", "TEL;TYPE=cell:+351 912 000 001\nTEL;TYPE=work:+351 213 000 002\nTEL;TYPE=home:+351 218 000 003\n",
			"EMAIL;TYPE=work:ana@example.org\n", "EMAIL;TYPE=work:ana@example.org\nEMAIL;TYPE=home:ana@home.example\n"),
	}, {
		name: "TelTypeChangedDifferently_ConflictOnTel",
		base: base, local: cd("TEL;TYPE=cell:", "TEL;TYPE=cell,voice:"), remote: cd("TEL;TYPE=cell:+351 912 000 001", "TEL;TYPE=work:+351-912-000-001"),
		want: cd("TEL;TYPE=cell:+351 912 000 001", "TEL;TYPE=work:+351-912-000-001"), conflicts: []string{"VCARD|TEL"},
	}, {
		name: "CategoryAddedOnBothSides_Union",
		base: base, local: cd("CATEGORIES:Friends\n", "CATEGORIES:Friends,Lisbon\n"), remote: cd("CATEGORIES:Friends\n", "CATEGORIES:Friends,Climbing\n"),
		want: cd("CATEGORIES:Friends\n", "CATEGORIES:Friends,Lisbon\nCATEGORIES:Climbing\n"),
	}, {
		name: "NoteChangedDifferently_ConflictOnNoteOnly",
		base: base, local: cd("in one line.\n", "in one line. Vegetarian.\n", "FN:Ana Lima\n", "FN:Ana M. Lima\n"), remote: cd("in one line.\n", "in one line. Allergic to nuts.\n"),
		want: cd("in one line.\n", "in one line. Allergic to nuts.\n", "FN:Ana Lima\n", "FN:Ana M. Lima\n"), conflicts: []string{"VCARD|NOTE"},
	}, {
		name: "RevChangedOnBothSides_LaterTaken",
		base: base, local: cd("REV:20261201T000000Z\n", "REV:20261203T000000Z\n", "FN:Ana Lima\n", "FN:Ana M. Lima\n"),
		remote: cd("REV:20261201T000000Z\n", "REV:20261205T000000Z\n", "N:Lima;Ana;;;\n", "N:Lima;Ana;M.;;\n"),
		want:   cd("REV:20261201T000000Z\n", "REV:20261205T000000Z\n", "FN:Ana Lima\n", "FN:Ana M. Lima\n", "N:Lima;Ana;;;\n", "N:Lima;Ana;M.;;\n"),
	}, {
		name: "LFWithoutFinalNewlineServerUnchanged_LocalBytesKept",
		base: base, local: strings.TrimSuffix(strings.ReplaceAll(cd("FN:Ana Lima\n", "FN:Ana M. Lima\n"), "\r\n", "\n"), "\n"), remote: base,
		want: strings.TrimSuffix(strings.ReplaceAll(cd("FN:Ana Lima\n", "FN:Ana M. Lima\n"), "\r\n", "\n"), "\n"),
	}}
	runRows(t, VCard, func(data []byte) error {
		_, _, err := parseCard("merged", data)
		return err
	}, rows)
}

func TestVCard_InputsThatCannotBeMerged_Error(t *testing.T) {
	base := cd()
	for name, tc := range map[string][3]string{
		"TwoCards":        {base, base + base, base},
		"NestedCard":      {base, strings.Replace(base, "FN:", "BEGIN:VCARD\r\nEND:VCARD\r\nFN:", 1), base},
		"OtherUID":        {base, base, strings.ReplaceAll(base, "4fbe8971", "00000000")},
		"NotAVCard":       {base, base, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"},
		"PropertyAfterIt": {base, base + "FN:x\r\n", base},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := VCard([]byte(tc[0]), []byte(tc[1]), []byte(tc[2]), ServerWins); !errors.Is(err, ErrCannotMerge) {
				t.Fatalf("err = %v, want ErrCannotMerge", err)
			}
		})
	}
}

// FuzzVCard merges arbitrary versions of a card, seeded with the cards in
// testdata: it never panics, and a merge that succeeds gives one card, the
// local bytes when the server is unchanged.
func FuzzVCard(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.vcf")
	for _, path := range seeds {
		s, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s, s, s)
		f.Add(s, localEdit(s), serverEdit(s))
	}
	f.Add([]byte(card), []byte(cd("FN:Ana Lima\n", "FN:Ana M. Lima\n")), []byte(card))
	f.Fuzz(func(t *testing.T, base, local, remote []byte) {
		res, err := VCard(base, local, remote, ServerWins)
		if err != nil {
			if !errors.Is(err, ErrCannotMerge) {
				t.Fatalf("error %v does not wrap ErrCannotMerge", err)
			}
			return
		}
		if _, _, err := parseCard("merged", res.Data); err != nil {
			t.Fatalf("merged card invalid: %v\n%q", err, res.Data)
		}
		if bytes.Equal(base, remote) && !bytes.Equal(res.Data, local) {
			t.Fatalf("merge against an unchanged server changed the local bytes:\n%q", res.Data)
		}
	})
}
