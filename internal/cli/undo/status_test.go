package undo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vdird/vdird/engine"
	"github.com/vdird/vdird/versions"
)

// TestWithCounts_ACalendarAndAnAddressBookAtOneHref_EachItsOwnCount: the
// versions of a calendar's items and of an address book's items kept under
// the same account and href are counted for each collection apart.
func TestWithCounts_ACalendarAndAnAddressBookAtOneHref_EachItsOwnCount(t *testing.T) {
	vs, err := versions.Open(filepath.Join(t.TempDir(), "v"), versions.Options{Retention: versions.Retention{KeepFor: 1 << 62}})
	if err != nil {
		t.Fatal(err)
	}
	defer vs.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, file := range []string{"a.ics", "b.ics", "c.vcf", "d.ics"} {
		account := "t"
		if i == 3 {
			account = "other"
		}
		v := versions.Version{Data: []byte("x"), Meta: versions.Meta{Account: account, Collection: "/u/shared/", Folder: "shared", UID: file,
			File: file, Side: versions.Local, Reason: versions.OverwrittenByServer, Time: t0.Add(time.Duration(i) * time.Minute)}}
		if err := vs.Save(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	rows := WithCounts(vs, []engine.CalendarStatus{
		{Account: "t", Calendar: "shared", Href: "/u/shared/"},
		{Account: "t", Calendar: "shared", Href: "/u/shared/", AddressBook: true},
		{Account: "t", Calendar: "*"},
	})
	for i, want := range []struct {
		count  int
		oldest time.Time
	}{{2, t0}, {1, t0.Add(2 * time.Minute)}} {
		if c := rows[i].Versions; c == nil || c.Count != want.count || c.Bytes != int64(want.count) || !c.Oldest.Equal(want.oldest) {
			t.Errorf("row %d (address book %v): %+v, want %d versions from %v", i, rows[i].AddressBook, c, want.count, want.oldest)
		}
	}
	if rows[2].Versions != nil {
		t.Errorf("the account's row counts %+v", rows[2].Versions)
	}
}
