package vdir

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An address book's folder holds .vcf items: .ics files, conflict copies
// and hidden files are not items there, names taken from hrefs end in
// .vcf, and conflict copies are found by their .vcf name.
func TestAddressBookFolder_VcfItemsOnly(t *testing.T) {
	d, err := Create(filepath.Join(t.TempDir(), "contacts"), VCF)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ann.vcf", "event.ics", ".ann.vcf.swp", "notes.txt"} {
		mustWrite(t, d, n, "x")
	}
	copyName, err := d.WriteConflictCopy("ann.vcf", []byte("old"), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := d.List()
	if err != nil || len(entries) != 1 || entries[0].Name != "ann.vcf" {
		t.Fatalf("List = %+v, %v", entries, err)
	}
	if copies, _ := d.ConflictCopies(); len(copies) != 1 || copies[0] != copyName || !strings.HasPrefix(copyName, "ann.vcf.conflict-") {
		t.Errorf("ConflictCopies = %v (wrote %s)", copies, copyName)
	}
	if d.Ext() != VCF {
		t.Errorf("Ext = %q", d.Ext())
	}
	for href, want := range map[string]string{
		"/ab/ann.vcf":    "ann.vcf",
		"/ab/ann.ics":    "h" + Hash([]byte("/ab/ann.ics"))[:40] + ".vcf",
		"/ab/uid-no-ext": "h" + Hash([]byte("/ab/uid-no-ext"))[:40] + ".vcf",
		"/ab/h" + strings.Repeat("0", 40) + ".vcf": "h" + Hash([]byte("/ab/h" + strings.Repeat("0", 40) + ".vcf"))[:40] + ".vcf",
	} {
		if got := NameForHref(href, VCF); got != want {
			t.Errorf("NameForHref(%q, VCF) = %q, want %q", href, got, want)
		}
	}
}

func TestOpen_BadExtension_Refused(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"", "vcf", ".", "./x", ".v/cf", ".toolongext"} {
		if _, err := Open(dir, ext); !errors.Is(err, ErrBadName) {
			t.Errorf("Open(%q): %v, want ErrBadName", ext, err)
		}
	}
}
