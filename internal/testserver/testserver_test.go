package testserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestServer_MakeCalendarPutGetDelete_RoundTrip(t *testing.T) {
	for _, kind := range All() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := Start(t, kind)
			cal := s.MakeCalendar(t, "work", "Work & Play", "VEVENT")
			if cal != s.HomeHref+"work/" {
				t.Fatalf("MakeCalendar href = %q", cal)
			}
			body := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
			etag := s.Put(t, cal+"u1.ics", body)
			got, getEtag := s.Get(t, cal+"u1.ics")
			if !bytes.Contains(got, []byte("UID:u1")) {
				t.Fatalf("GET body lacks UID: %q", got)
			}
			if etag != "" && getEtag != etag {
				t.Fatalf("PUT etag %q, GET etag %q", etag, getEtag)
			}
			s.Delete(t, cal+"u1.ics")
			if got, _ := s.Get(t, cal+"u1.ics"); got != nil {
				t.Fatalf("after Delete, GET = %q, want 404", got)
			}
		})
	}
}

func TestSeed_ItemsListedAndServed(t *testing.T) {
	for _, kind := range All() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := Start(t, kind)
			items := map[string][]byte{}
			for _, uid := range []string{"a", "b", "c"} {
				items[uid+".ics"] = []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t\r\nBEGIN:VEVENT\r\nUID:" + uid +
					"\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:seeded " + uid + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
			}
			cal := s.SeedCalendar(t, "seeded", "Seeded", items)
			if cal != s.HomeHref+"seeded/" {
				t.Fatalf("SeedCalendar href = %q", cal)
			}
			got := s.Members(t, cal)
			slices.Sort(got)
			if want := []string{cal + "a.ics", cal + "b.ics", cal + "c.ics"}; !slices.Equal(got, want) {
				t.Fatalf("Members = %q, want %q", got, want)
			}
			if body, _ := s.Get(t, cal+"b.ics"); !bytes.Contains(body, []byte("SUMMARY:seeded b")) {
				t.Fatalf("GET of a seeded item = %q", body)
			}
		})
	}
}

func TestLaunch_TwoAccounts_EachOwnsItsHomeUntilStop(t *testing.T) {
	Need(t, string(Radicale))
	s, err := Launch(Radicale, Options{Dir: t.TempDir(), Users: []string{"ann", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	bob := s.As("bob")
	if s.User != "ann" || s.HomeHref != "/ann/" || bob.HomeHref != "/bob/" || bob.Password != s.Password {
		t.Fatalf("accounts: %s %s, As(bob): %s %s", s.User, s.HomeHref, bob.User, bob.HomeHref)
	}
	cal, err := bob.Seed("work", "Work", 1, func(int) (string, []byte) { return "x.ics", []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if resp, _, err := bob.Do(ctx, "PROPFIND", cal, map[string]string{"Depth": "0"}, []byte(propfindType)); err != nil || resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("bob's PROPFIND of his calendar: %v %v", resp, err)
	}
	if resp, _, err := s.Do(ctx, "PROPFIND", cal, map[string]string{"Depth": "0"}, []byte(propfindType)); err != nil || resp.StatusCode/100 == 2 {
		t.Fatalf("ann's PROPFIND of bob's calendar: %v %v, want a refusal", resp, err)
	}
	s.Stop()
	s.Stop() // a second Stop does nothing
	if _, _, err := s.Do(ctx, "PROPFIND", "/ann/", nil, nil); err == nil {
		t.Fatal("the server still answers after Stop")
	}
}

func TestSeedAddressBook_CardsListedAndServed(t *testing.T) {
	for _, kind := range All() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := Start(t, kind)
			book, err := s.SeedAddressBook("people", "People", 2, func(i int) (string, []byte) {
				return fmt.Sprintf("c%d.vcf", i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c%d\r\nFN:Card %d\r\nEND:VCARD\r\n", i, i))
			})
			if err != nil || book != s.BookHomeHref+"people/" {
				t.Fatalf("SeedAddressBook = %q, %v", book, err)
			}
			got := s.Members(t, book)
			slices.Sort(got)
			if want := []string{book + "c0.vcf", book + "c1.vcf"}; !slices.Equal(got, want) {
				t.Fatalf("Members = %q, want %q", got, want)
			}
			if body, _ := s.Get(t, book+"c1.vcf"); !bytes.Contains(body, []byte("FN:Card 1")) {
				t.Fatalf("GET of a seeded card = %q", body)
			}
			_, body, err := s.Do(context.Background(), "PROPFIND", book, map[string]string{"Depth": "0"},
				[]byte(`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>`))
			if err != nil || !bytes.Contains(body, []byte("addressbook")) {
				t.Fatalf("seeded collection is not an address book: %s %v", body, err)
			}
		})
	}
}
