package state

import (
	"reflect"
	"testing"
	"time"
)

func TestAccount_SetThenGet_SurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	if _, ok, err := s.Account("work"); ok || err != nil {
		t.Fatalf("unknown account: %v, %v", ok, err)
	}
	want := Account{Name: "work", URL: "https://dav.example/", Home: "/calendars/alice/"}
	must(t, s.SetAccount(want))
	must(t, s.SetAccount(Account{Name: "home", URL: "https://other.example/", Home: "/h/"}))
	changed := want
	changed.Home = "/calendars/alice2/"
	must(t, s.SetAccount(changed))
	must(t, s.Close())
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	got, ok, err := s.Account("work")
	if err != nil || !ok || !reflect.DeepEqual(got, changed) {
		t.Fatalf("Account(work) = %+v, %v, %v; want %+v", got, ok, err, changed)
	}
	if cols, err := s.Collections(); err != nil || len(cols) != 0 {
		t.Fatalf("accounts show as collections: %+v, %v", cols, err)
	}
}

func TestUpdateAccount_FailingStreakKeptBesideTheHome_ListedByAccounts(t *testing.T) {
	s, path := openTemp(t)
	must(t, s.SetAccount(Account{Name: "work", URL: "https://dav.example/", Home: "/h/"}))
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.UpdateAccount("work", func(a *Account) { a.LastError, a.FailingSince, a.Attempts = "401", since, 3 }))
	must(t, s.UpdateAccount("new", func(a *Account) { a.LastError, a.Attempts = "timeout", 1 }))
	must(t, s.UpdateAccount("work", func(a *Account) { a.Home = "/h2/" }))
	must(t, s.Close())
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	got, err := s.Accounts()
	must(t, err)
	want := []Account{
		{Name: "new", LastError: "timeout", Attempts: 1},
		{Name: "work", URL: "https://dav.example/", Home: "/h2/", LastError: "401", FailingSince: since, Attempts: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Accounts() = %+v\nwant %+v", got, want)
	}
}

// A schema-7 file kept each account's calendar home as a collection keyed
// "@account/NAME", with the home in Href and the configured URL in Dir.
func TestOpen_Schema7AccountCollection_BecomesAnAccountRecord(t *testing.T) {
	s, path := openTemp(t)
	must(t, s.Update("@account/work", func(tx *Tx) error {
		return tx.SetCollection(Collection{Key: "@account/work", Account: "work", Href: "/calendars/alice/", Dir: "https://dav.example/"})
	}))
	must(t, s.Update("k", func(tx *Tx) error {
		if err := tx.SetCollection(sampleCollection("k")); err != nil {
			return err
		}
		return tx.PutItem(sampleItem("/c/a.ics"))
	}))
	must(t, s.Close())
	setVersion(t, path, 7)
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	got, ok, err := s.Account("work")
	want := Account{Name: "work", URL: "https://dav.example/", Home: "/calendars/alice/"}
	if err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Account(work) = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	cols, err := s.Collections()
	must(t, err)
	if len(cols) != 1 || cols[0].Key != "k" {
		t.Fatalf("collections after migration: %+v", cols)
	}
	if it, ok, err := s.Item("k", "/c/a.ics"); err != nil || !ok || !reflect.DeepEqual(it, sampleItem("/c/a.ics")) {
		t.Fatalf("item after migration: %+v, %v, %v", it, ok, err)
	}
}
